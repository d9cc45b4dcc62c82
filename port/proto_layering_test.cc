#include "port/proto_layering.h"

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"
#include "port/test_message.pb.h"

namespace sniper {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

test::TestMessage Parse(const std::string& text) {
  test::TestMessage m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
  return m;
}

TEST(MergeReplacingListsTest, ScalarsReplaceListsReplaceMessagesMerge) {
  test::TestMessage lower = Parse(
      "name: 'low' count: 1 values: [1, 2, 3] child { name: 'c' count: 5 } "
      "items { name: 'a' } items { name: 'b' }");
  const test::TestMessage upper =
      Parse("count: 2 values: [9] child { count: 6 } items { name: 'z' }");
  MergeReplacingLists(upper, &lower);
  EXPECT_EQ(lower.name(), "low");  // not set above: kept
  EXPECT_EQ(lower.count(), 2);
  ASSERT_EQ(lower.values_size(), 1);  // the whole list replaced
  EXPECT_EQ(lower.values(0), 9);
  EXPECT_EQ(lower.child().name(), "c");  // messages merge field by field
  EXPECT_EQ(lower.child().count(), 6);
  ASSERT_EQ(lower.items_size(), 1);
  EXPECT_EQ(lower.items(0).name(), "z");
}

TEST(ApplyAssignmentTest, ScalarsEnumsStringsListsAndIndices) {
  test::TestMessage m = Parse("items { name: 'a' }");
  ASSERT_OK(ApplyAssignment("count=3", &m));
  ASSERT_OK(ApplyAssignment("mode=SLOW", &m));
  ASSERT_OK(ApplyAssignment("name=a \"quoted\" name", &m));
  ASSERT_OK(ApplyAssignment("values=[0.5, 2]", &m));
  ASSERT_OK(ApplyAssignment("child.child.count=11", &m));
  ASSERT_OK(ApplyAssignment("items[0].count=4", &m));
  ASSERT_OK(ApplyAssignment("items[1].name=appended", &m));
  EXPECT_EQ(m.count(), 3);
  EXPECT_EQ(m.mode(), test::TestMessage::SLOW);
  EXPECT_EQ(m.name(), "a \"quoted\" name");
  ASSERT_EQ(m.values_size(), 2);
  EXPECT_EQ(m.values(1), 2);
  EXPECT_EQ(m.child().child().count(), 11);
  ASSERT_EQ(m.items_size(), 2);
  EXPECT_EQ(m.items(0).count(), 4);
  EXPECT_EQ(m.items(1).name(), "appended");
}

TEST(ApplyAssignmentTest, ErrorsNameThePath) {
  test::TestMessage m;
  EXPECT_THAT(ApplyAssignment("count=many", &m),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("count")));
  EXPECT_THAT(
      ApplyAssignment("colour=red", &m),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("colour")));
  EXPECT_THAT(
      ApplyAssignment("items[3].name=x", &m),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("items[3]")));
  EXPECT_THAT(ApplyAssignment("mode=MEDIUM", &m),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mode")));
  EXPECT_THAT(ApplyAssignment("no equals sign", &m),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("=")));
}

}  // namespace
}  // namespace sniper
