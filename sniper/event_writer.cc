#include "sniper/event_writer.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "port/proto_io.h"
#include "port/status_macros.h"
#include "sniper/tensorboard_event.pb.h"

namespace sniper {
namespace {

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

double Now() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void PutLe(uint64_t v, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i)
    out->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetLe(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  return v;
}

}  // namespace

uint32_t Crc32c(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) c = kCrcTable[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t MaskedCrc32c(const void* data, size_t size) {
  const uint32_t c = Crc32c(data, size);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

EventWriter::EventWriter(std::string path, std::FILE* file)
    : path_(std::move(path)), file_(file) {}

EventWriter::~EventWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::StatusOr<std::unique_ptr<EventWriter>> EventWriter::Create(
    const std::string& dir) {
  char host[256] = "localhost";
  gethostname(host, sizeof(host) - 1);
  const std::string path = absl::StrCat(
      dir, "/events.out.tfevents.", static_cast<int64_t>(std::time(nullptr)),
      ".", host, ".", static_cast<int64_t>(getpid()));
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  std::unique_ptr<EventWriter> w(new EventWriter(path, f));
  tensorboard::Event version;
  version.set_wall_time(Now());
  version.set_file_version("brain.Event:2");
  RETURN_IF_ERROR(w->WriteRecord(version.SerializeAsString()));
  return w;
}

absl::Status EventWriter::WriteRecord(const std::string& data) {
  std::string record;
  record.reserve(data.size() + 16);
  PutLe(data.size(), 8, &record);
  PutLe(MaskedCrc32c(record.data(), 8), 4, &record);
  record += data;
  PutLe(MaskedCrc32c(data.data(), data.size()), 4, &record);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() ||
      std::fflush(file_) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot write ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status EventWriter::AddScalar(absl::string_view tag, int64_t step,
                                    double value, double wall_time) {
  tensorboard::Event e;
  e.set_wall_time(wall_time > 0 ? wall_time : Now());
  e.set_step(step);
  tensorboard::SummaryValue* v = e.mutable_summary()->add_value();
  v->set_tag(std::string(tag));
  v->set_simple_value(static_cast<float>(value));
  return WriteRecord(e.SerializeAsString());
}

absl::StatusOr<std::vector<ScalarEvent>> ReadScalarEvents(
    const std::string& path) {
  std::string bytes;
  RETURN_IF_ERROR(ReadFileToString(path, &bytes));
  std::vector<ScalarEvent> out;
  size_t pos = 0;
  for (int64_t record = 0; pos < bytes.size(); ++record) {
    auto bad = [&](absl::string_view what) {
      return absl::DataLossError(absl::StrCat(path, ": record ", record,
                                              " at byte ", pos, ": ", what));
    };
    if (bytes.size() - pos < 12) return bad("truncated header");
    const uint64_t length = GetLe(bytes.data() + pos, 8);
    if (GetLe(bytes.data() + pos + 8, 4) !=
        MaskedCrc32c(bytes.data() + pos, 8)) {
      return bad("length CRC mismatch");
    }
    if (bytes.size() - pos - 12 < length + 4) return bad("truncated data");
    const char* data = bytes.data() + pos + 12;
    if (GetLe(data + length, 4) != MaskedCrc32c(data, length)) {
      return bad("data CRC mismatch");
    }
    tensorboard::Event e;
    if (!e.ParseFromArray(data, static_cast<int>(length))) {
      return bad("not an Event message");
    }
    if (record == 0) {
      if (e.file_version() != "brain.Event:2") return bad("no version record");
    } else {
      for (const tensorboard::SummaryValue& v : e.summary().value()) {
        out.push_back({v.tag(), e.step(), v.simple_value(), e.wall_time()});
      }
    }
    pos += 12 + length + 4;
  }
  return out;
}

}  // namespace sniper
