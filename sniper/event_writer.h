// File: sniper/event_writer.h
//
// TensorBoard event files without TensorFlow or Python: Event messages
// (sniper/tensorboard_event.proto, TensorFlow's field numbers) framed as
// TFRecords:
//
//   uint64 length (little-endian) | uint32 masked CRC32C(length bytes)
//   | length bytes of data       | uint32 masked CRC32C(data)
//
// with mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8. The first record is
// the "brain.Event:2" version event. Every scalar is flushed at once, so a
// running TensorBoard shows progress live.
#ifndef SNIPER_SNIPER_EVENT_WRITER_H_
#define SNIPER_SNIPER_EVENT_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sniper {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord uses.
uint32_t Crc32c(const void* data, size_t size);
uint32_t MaskedCrc32c(const void* data, size_t size);

class EventWriter {
 public:
  // Creates <dir>/events.out.tfevents.<seconds>.<host>.<pid>.
  static absl::StatusOr<std::unique_ptr<EventWriter>> Create(
      const std::string& dir);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  absl::Status AddScalar(absl::string_view tag, int64_t step, double value,
                         double wall_time = 0);  // 0: now
  const std::string& path() const { return path_; }

 private:
  EventWriter(std::string path, std::FILE* file);
  absl::Status WriteRecord(const std::string& data);

  std::string path_;
  std::FILE* file_;
};

struct ScalarEvent {
  std::string tag;
  int64_t step = 0;
  float value = 0;
  double wall_time = 0;
};

// Reads an event file back, checking every length and data CRC; returns
// the scalars (the version record is checked and skipped). Errors name the
// file and the record.
absl::StatusOr<std::vector<ScalarEvent>> ReadScalarEvents(
    const std::string& path);

}  // namespace sniper

#endif  // SNIPER_SNIPER_EVENT_WRITER_H_
