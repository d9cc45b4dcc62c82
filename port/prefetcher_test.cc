#include "port/prefetcher.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PrefetcherTest, ItemsInOrderThenOutOfRange) {
  std::vector<int64_t> produced;  // one producer call at a time
  Prefetcher<std::string> p(3, [&](int64_t i) -> absl::StatusOr<std::string> {
    produced.push_back(i);
    return std::string(static_cast<size_t>(i) + 1, 'x');
  });
  std::vector<std::string> got;
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(p.next_index(), k);
    ASSERT_OK_AND_ASSIGN(std::string s, p.Next());
    got.push_back(s);
  }
  EXPECT_THAT(got, ElementsAre("x", "xx", "xxx"));
  EXPECT_THAT(produced, ElementsAre(0, 1, 2));
  EXPECT_THAT(p.Next().status(), StatusIs(absl::StatusCode::kOutOfRange,
                                          HasSubstr("no item 3 of 3")));
}

TEST(PrefetcherTest, TheNextItemIsMadeWhileTheCallerWorks) {
  // Producing an item and the caller's work on one take 50 ms each; the
  // producer of items 1..5 finds the caller at work on the item before.
  std::atomic<bool> working{false};
  std::atomic<int> overlapped{0};
  auto sleep = [](int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  };
  Prefetcher<int> p(6, [&](int64_t i) -> absl::StatusOr<int> {
    bool saw = false;
    for (int t = 0; t < 10; ++t) {
      sleep(5);
      saw = saw || working;
    }
    if (saw) ++overlapped;
    return static_cast<int>(i);
  });
  for (int k = 0; k < 6; ++k) {
    ASSERT_OK_AND_ASSIGN(int v, p.Next());
    EXPECT_EQ(v, k);
    working = true;
    sleep(50);
    working = false;
  }
  EXPECT_GE(overlapped, 5);
}

TEST(PrefetcherTest, AFailureIsReturnedAndStopsProduction) {
  int calls = 0;
  Prefetcher<int> p(5, [&](int64_t i) -> absl::StatusOr<int> {
    ++calls;
    if (i == 1) return absl::DataLossError("image 1 is truncated");
    return static_cast<int>(i);
  });
  ASSERT_OK(p.Next().status());
  EXPECT_THAT(p.Next().status(), StatusIs(absl::StatusCode::kDataLoss,
                                          HasSubstr("image 1 is truncated")));
  EXPECT_THAT(p.Next().status(),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("no item")));
  EXPECT_EQ(calls, 2);
}

TEST(PrefetcherTest, NoItemsAndAnAbandonedPrefetcher) {
  Prefetcher<int> empty(0, [](int64_t) -> absl::StatusOr<int> { return 1; });
  EXPECT_THAT(empty.Next().status(),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("no item")));
  // Destroyed with an item in flight: waits for it (the producer's
  // reference stays valid until then).
  std::atomic<bool> done{false};
  {
    Prefetcher<int> p(2, [&](int64_t) -> absl::StatusOr<int> {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      done = true;
      return 0;
    });
  }
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace sniper
