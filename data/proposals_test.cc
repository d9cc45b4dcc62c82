#include "data/proposals.h"

#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

ProposalSet Example() {
  ProposalSet set(2);
  set.Set(42, {{{{1, 2, 3, 4}, 0.5f}, {{0, 0, 10, 10}, 0.25f}},
               {{{5, 5, 6, 7}, 0.9f}}});
  set.Set(900100000149LL, {{}, {{{1, 1, 2, 2}, -1.0f}}});
  set.Set(7, {{}, {}});
  return set;
}

std::string Serialize(const ProposalSet& set) {
  const std::string path = std::string(::testing::TempDir()) + "/p.bin";
  EXPECT_OK(WriteProposals(path, set));
  std::string bytes;
  EXPECT_OK(ReadFileToString(path, &bytes));
  return bytes;
}

TEST(ProposalsTest, RoundTrips) {
  const std::string path = std::string(::testing::TempDir()) + "/rt.bin";
  ASSERT_OK(WriteProposals(path, Example()));
  ASSERT_OK_AND_ASSIGN(ProposalSet back, ReadProposals(path));
  EXPECT_EQ(back.num_scales(), 2);
  EXPECT_EQ(back.num_images(), 3u);
  EXPECT_EQ(back.num_proposals(), 4u);
  ASSERT_EQ(back.Get(42, 0).size(), 2u);
  EXPECT_FLOAT_EQ(back.Get(42, 0)[1].box.x2, 10);
  EXPECT_FLOAT_EQ(back.Get(42, 0)[1].score, 0.25f);
  EXPECT_FLOAT_EQ(back.Get(42, 1)[0].box.y2, 7);
  EXPECT_EQ(back.Get(900100000149LL, 0).size(), 0u);
  EXPECT_FLOAT_EQ(back.Get(900100000149LL, 1)[0].score, -1.0f);
  EXPECT_TRUE(back.Get(12345, 0).empty());
  EXPECT_TRUE(back.Get(42, 2).empty());
  EXPECT_EQ(back.image_ids(), (std::vector<int64_t>{42, 900100000149LL, 7}));
  // Exact size: header 24 + records (8 + 8) * 3 + 4 proposals * 20 + crc 4.
  EXPECT_EQ(Serialize(Example()).size(), 24u + 16 * 3 + 80 + 4);
}

TEST(ProposalsTest, DetectsCorruptionAndTruncation) {
  const std::string bytes = Serialize(Example());
  EXPECT_THAT(ParseProposals(bytes.substr(0, bytes.size() - 1), "f"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("f: ")));
  EXPECT_THAT(ParseProposals(bytes.substr(0, 10), "f"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("bad magic")));
  std::string flipped = bytes;
  flipped[40] ^= 0x10;
  EXPECT_THAT(
      ParseProposals(flipped, "f"),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("checksum mismatch")));
  std::string magic = bytes;
  magic[0] = 'X';
  EXPECT_THAT(ParseProposals(magic, "f"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("bad magic")));
}

TEST(ProposalsTest, RejectsOtherVersionsAndBadBoxes) {
  // A version-2 header with a valid checksum is still rejected by name.
  ProposalSet inverted(1);
  inverted.Set(3, {{{{10, 10, 5, 20}, 1.0f}}});
  EXPECT_THAT(ParseProposals(Serialize(inverted), "inv.bin"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("inv.bin: image 3 scale 0 proposal 0: "
                                 "invalid box")));
  ProposalSet nan(1);
  nan.Set(4, {{{{0, 0, 1, 1}, std::nanf("")}}});
  EXPECT_THAT(ParseProposals(Serialize(nan), "nan.bin"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("image 4")));
}

TEST(ProposalsTest, MissingFileIsNotFound) {
  EXPECT_THAT(ReadProposals("/no/such/proposals.bin"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("/no/such/proposals.bin")));
}

}  // namespace
}  // namespace sniper::data

namespace sniper::data {
namespace {

// Random byte edits never crash the reader; with the CRC they are rejected.
TEST(ProposalsFuzzTest, MutatedFilesAreRejectedNotCrashing) {
  const std::string bytes = Serialize(Example());
  std::mt19937 rng(3);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string m = bytes;
    if (trial % 2 == 0) {
      m[rng() % m.size()] ^= static_cast<char>(1 + rng() % 255);
    } else {
      m.resize(rng() % m.size());
    }
    const auto result = ParseProposals(m, "fuzz.bin");
    ASSERT_FALSE(result.ok());
    ASSERT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
  }
}

}  // namespace
}  // namespace sniper::data
