// File: port/prefetcher.h
//
// One item ahead: item i + 1 is produced on a background thread while the
// caller works on item i (e.g. decode and resample the next image while the
// network runs on this one). Items come in order 0 .. count - 1; the
// producer runs for one item at a time, so it may keep state between calls.
//
//   Prefetcher<Image> images(n, [&](int64_t i) { return Decode(files[i]); });
//   for (int64_t i = 0; i < n; ++i) {
//     ASSIGN_OR_RETURN(Image image, images.Next());
//     Detect(image);  // image i + 1 decodes meanwhile
//   }
//
// An item whose production failed is returned as its status, and nothing
// further is produced. What `produce` reads must outlive the Prefetcher
// (its destructor waits for the item in flight).
#ifndef SNIPER_PORT_PREFETCHER_H_
#define SNIPER_PORT_PREFETCHER_H_

#include <cstdint>
#include <functional>
#include <future>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace sniper {

template <typename T>
class Prefetcher {
 public:
  using Producer = std::function<absl::StatusOr<T>(int64_t)>;

  // Starts producing item 0 (when count > 0).
  Prefetcher(int64_t count, Producer produce)
      : count_(count), produce_(std::move(produce)) {
    if (count_ > 0) Launch(0);
  }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;
  ~Prefetcher() {
    if (in_flight_.valid()) in_flight_.wait();
  }

  // Item next_index(); starts the one after it. OutOfRange past the last
  // item or after a failed one.
  absl::StatusOr<T> Next() {
    if (!in_flight_.valid()) {
      return absl::OutOfRangeError(
          absl::StrCat("no item ", next_, " of ", count_, " to prefetch"));
    }
    absl::StatusOr<T> item = in_flight_.get();
    ++next_;
    if (item.ok() && next_ < count_) Launch(next_);
    return item;
  }
  int64_t next_index() const { return next_; }
  int64_t count() const { return count_; }

 private:
  void Launch(int64_t i) {
    in_flight_ = std::async(std::launch::async, produce_, i);
  }

  const int64_t count_;
  Producer produce_;
  int64_t next_ = 0;
  std::future<absl::StatusOr<T>> in_flight_;
};

}  // namespace sniper

#endif  // SNIPER_PORT_PREFETCHER_H_
