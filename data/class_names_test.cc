#include "data/class_names.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ClassNamesTest, UltralyticsListAndMapForms) {
  ASSERT_OK_AND_ASSIGN(
      std::vector<std::string> a,
      ParseYamlClassNames("path: ../d\ntrain: images/train\nnc: 3\n"
                          "names: ['person', bicycle, \"traffic light\"]\n",
                          "data.yaml"));
  EXPECT_THAT(a, ElementsAre("person", "bicycle", "traffic light"));
  ASSERT_OK_AND_ASSIGN(
      std::vector<std::string> b,
      ParseYamlClassNames("names:\n  1: dog\n  0: cat\n  2: 'a: b'\n",
                          "data.yaml"));
  EXPECT_THAT(b, ElementsAre("cat", "dog", "a: b"));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> c,
                       ParseYamlClassNames("names:\n- x\n- y\n", "d.yaml"));
  EXPECT_THAT(c, ElementsAre("x", "y"));
}

TEST(ClassNamesTest, BadYamlNamesFileAndLine) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "d.yaml:1: expected a mapping with a \"names\" entry"},
      {"- a\n- b\n", "d.yaml:1: expected a mapping"},
      {"train: x\n", "d.yaml:1: no \"names\" entry"},
      {"nc: 1\nnames: [a, b]\n",
       "d.yaml:1: nc: expected 2 (the number of names)"},
      {"names:\n  0: a\n  2: c\n", "d.yaml:2: names: index 1 missing"},
      {"names:\n  0: a\n  0: b\n", "d.yaml:3: names: index 0 repeated"},
      {"names:\n  x: a\n", "d.yaml:2: names: expected class indices"},
      {"names: [a, [b]]\n", "d.yaml:1: names[1]: expected a name"},
      {"names: a\n", "names: expected a list or an index map"},
      {"names: [a, a]\n", "d.yaml: classes 0 and 1 are both named 'a'"},
      {"names: ['', b]\n", "class 0 has an empty name"},
      {"names: [a,\n  b\nx: ]\n", "d.yaml:3: malformed YAML"},
  };
  for (const auto& [text, error] : bad) {
    EXPECT_THAT(ParseYamlClassNames(text, "d.yaml"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(error)))
        << text;
  }
}

TEST(ClassNamesTest, LineFilesAndDispatchByExtension) {
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> n,
                       ParseLineClassNames("car\r\n\n  truck \n", "obj.names"));
  EXPECT_THAT(n, ElementsAre("car", "truck"));
  EXPECT_THAT(ParseLineClassNames("\n \n", "obj.names"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("obj.names: no class names")));
  const std::string dir = ::testing::TempDir();
  ASSERT_OK(WriteFileAtomically(dir + "/d.YML", "names: [p, q]\n"));
  ASSERT_OK_AND_ASSIGN(n, ReadClassNamesFile(dir + "/d.YML"));
  EXPECT_THAT(n, ElementsAre("p", "q"));
  ASSERT_OK(WriteFileAtomically(dir + "/c.txt", "names: [p, q]\n"));
  ASSERT_OK_AND_ASSIGN(n, ReadClassNamesFile(dir + "/c.txt"));
  EXPECT_THAT(n, ElementsAre("names: [p, q]"));
  EXPECT_THAT(ReadClassNamesFile(dir + "/none.yaml"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("none.yaml")));
}

}  // namespace
}  // namespace sniper::data
