#include "sniper/event_writer.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace sniper {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/event_writer_test_XXXXXX";
  return mkdtemp(tmpl);
}

TEST(Crc32cTest, KnownVectors) {
  // The CRC-32C check value (RFC 3720 appendix B.4 / the Castagnoli paper).
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32c("", 0), 0u);
  const std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  const std::string ones(32, '\xff');
  EXPECT_EQ(Crc32c(ones.data(), ones.size()), 0x62A8AB43u);
}

TEST(EventWriterTest, WritesTfRecordsThatReadBack) {
  const std::string dir = TempDir();
  std::string path;
  {
    auto w = EventWriter::Create(dir);
    ASSERT_TRUE(w.ok()) << w.status();
    path = (*w)->path();
    EXPECT_NE(path.find("/events.out.tfevents."), std::string::npos);
    ASSERT_TRUE((*w)->AddScalar("detector/loss", 10, 1.5, 100.0).ok());
    ASSERT_TRUE((*w)->AddScalar("detector/lr", 20, 0.02).ok());
  }
  auto events = ReadScalarEvents(path);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].tag, "detector/loss");
  EXPECT_EQ((*events)[0].step, 10);
  EXPECT_FLOAT_EQ((*events)[0].value, 1.5f);
  EXPECT_DOUBLE_EQ((*events)[0].wall_time, 100.0);
  EXPECT_EQ((*events)[1].tag, "detector/lr");
  EXPECT_FLOAT_EQ((*events)[1].value, 0.02f);
  EXPECT_GT((*events)[1].wall_time, 1e9);  // now

  // The first record's framing, byte by byte: length, masked CRC of the
  // length, data, masked CRC of the data.
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i) {
    length |= uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  }
  ASSERT_GT(length, 0u);
  uint32_t crc = 0;
  for (int i = 0; i < 4; ++i) {
    crc |= uint32_t{static_cast<unsigned char>(bytes[8 + i])} << (8 * i);
  }
  EXPECT_EQ(crc, MaskedCrc32c(bytes.data(), 8));
  EXPECT_NE(bytes.find("brain.Event:2"), std::string::npos);

  // A flipped byte in the data is caught.
  bytes[12 + 2] ^= 0x40;
  const std::string bad = dir + "/bad";
  std::ofstream(bad, std::ios::binary) << bytes;
  auto broken = ReadScalarEvents(bad);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(std::string(broken.status().message()).find("CRC"),
            std::string::npos)
      << broken.status();
  // So is a truncated file.
  std::ofstream(bad, std::ios::binary | std::ios::trunc)
      << bytes.substr(0, bytes.size() - 3);
  EXPECT_FALSE(ReadScalarEvents(bad).ok());
}

}  // namespace
}  // namespace sniper
