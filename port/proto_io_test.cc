#include "port/proto_io.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"
#include "port/test_message.pb.h"

namespace sniper {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  return std::string(::testing::TempDir()) + "/" + name;
}

TEST(ProtoIoTest, ParsesTextAndKeepsDefaults) {
  test::TestMessage m;
  ASSERT_OK(ParseTextProto("name: 'a' values: 1 values: 2.5", "inline", &m));
  EXPECT_EQ(m.name(), "a");
  EXPECT_EQ(m.count(), 7);
  ASSERT_EQ(m.values_size(), 2);
  EXPECT_FLOAT_EQ(m.values(1), 2.5f);
}

TEST(ProtoIoTest, ErrorNamesSourceLineAndField) {
  test::TestMessage m;
  m.set_name("stale");
  const absl::Status status =
      ParseTextProto("name: 'a'\n  colour: 3\n", "cfg.pbtxt", &m);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("cfg.pbtxt:2:")));
  EXPECT_THAT(status.message(), HasSubstr("colour"));
  EXPECT_FALSE(m.has_name()) << "a failed parse must not leave half a message";
}

TEST(ProtoIoTest, WrongTypeIsAnError) {
  test::TestMessage m;
  EXPECT_THAT(ParseTextProto("count: 'many'", "x", &m),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("x:1:")));
}

TEST(ProtoIoTest, MissingFileIsNotFound) {
  test::TestMessage m;
  EXPECT_THAT(
      ReadTextProtoFile(TempPath("does_not_exist.pbtxt"), &m),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("does_not_exist.pbtxt")));
}

TEST(ProtoIoTest, DirectoryIsNamedAsADirectoryNotAnEmptyFile) {
  const std::string dir = TempPath("a_directory");
  std::filesystem::create_directories(dir);
  std::string bytes;
  EXPECT_THAT(ReadFileToString(dir, &bytes),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(dir + ": is a directory, not a file")));
}

TEST(ProtoIoTest, ReadsBinaryFilesWhole) {
  const std::string path = TempPath("binary.bin");
  std::string want(200000, '\0');
  for (size_t i = 0; i < want.size(); ++i) want[i] = static_cast<char>(i * 7);
  std::ofstream(path, std::ios::binary) << want;
  std::string got = "old contents";
  ASSERT_OK(ReadFileToString(path, &got));
  EXPECT_EQ(got, want);
}

TEST(ProtoIoTest, StaleTempFilesOfDeadProcessesAreRemoved) {
  const std::string dir = TempPath("stale");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/sub");
  // A process that has exited: its pid is free (until reused, which a
  // fork-and-reap this short does not allow in practice).
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_GT(dead, 0);
  waitpid(dead, nullptr, 0);
  const std::string stale =
      dir + "/ckpt-00000010.pt.tmp." + std::to_string(dead);
  const std::string live =
      dir + "/ckpt-00000020.pt.tmp." + std::to_string(getppid());
  const std::string mine = dir + "/x.tmp." + std::to_string(getpid());
  const std::string nested = dir + "/sub/y.tmp." + std::to_string(dead);
  for (const std::string& p :
       {stale, live, mine, nested, dir + "/notes.tmp.txt", dir + "/final.pt"}) {
    std::ofstream(p) << "partial";
  }
  EXPECT_THAT(RemoveStaleTempFiles(dir), ::testing::ElementsAre(stale));
  EXPECT_FALSE(std::filesystem::exists(stale));
  for (const std::string& p :
       {live, mine, nested, dir + "/notes.tmp.txt", dir + "/final.pt"}) {
    EXPECT_TRUE(std::filesystem::exists(p)) << p;
  }
  EXPECT_TRUE(RemoveStaleTempFiles(dir + "/missing").empty());
}

TEST(ProtoIoTest, AtomicWriteRoundTrips) {
  test::TestMessage m;
  m.set_name("round");
  m.add_values(3.0f);
  const std::string path = TempPath("round.pbtxt");
  ASSERT_OK(WriteTextProtoFile(path, m));
  test::TestMessage back;
  ASSERT_OK(ReadTextProtoFile(path, &back));
  EXPECT_EQ(back.name(), "round");
  EXPECT_EQ(back.values_size(), 1);
  // No temporary file is left behind.
  std::ifstream tmp(path + ".tmp." + std::to_string(::getpid()));
  EXPECT_FALSE(tmp.good());
}

TEST(ProtoIoTest, AtomicWriteIntoMissingDirectoryFailsCleanly) {
  EXPECT_THAT(
      WriteFileAtomically(TempPath("no/such/dir/file"), "x"),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("no/such/dir")));
}

}  // namespace
}  // namespace sniper
