#include "models/state_dict.h"

#include <caffe2/serialize/inline_container.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/serialize.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <random>

#include "models/testing/python_oracle.h"

namespace sniper::models {
namespace {

using ::testing::HasSubstr;

// Writes files with Debian's python3-torch: the same tensors as an
// OrderedDict (what state_dict() returns) at pickle protocols 2 and 4, and
// contiguous copies in a plain dict that LibTorch's own unpickler reads (the
// oracle).
constexpr char kScript[] = R"PY(
import collections, sys, torch
out = sys.argv[1]
torch.manual_seed(0)
base = torch.randn(4, 6)
sd = collections.OrderedDict()
sd["base"] = base
sd["transposed"] = base.t()               # shares base's storage
sd["window"] = base[1:, 2:]               # offset + strides
sd["double"] = torch.randn(3, dtype=torch.float64)
sd["half"] = torch.randn(5).half()
sd["bf16"] = torch.randn(5).bfloat16()
sd["long"] = torch.arange(-3, 4)
sd["int"] = torch.arange(7, dtype=torch.int32)
sd["bool"] = torch.tensor([True, False, True])
sd["byte"] = torch.arange(250, 256, dtype=torch.uint8)
sd["scalar"] = torch.tensor(2.5)
sd["empty"] = torch.zeros(0, 3)
sd["param"] = torch.nn.Parameter(torch.randn(2, 2))
sd["big_index"] = torch.tensor([2**40, -2**40])
torch.save(sd, f"{out}/p2.pt")
torch.save(sd, f"{out}/p4.pt", pickle_protocol=4)
torch.save({k: v.detach().contiguous().clone() for k, v in sd.items()},
           f"{out}/oracle.pt")
torch.save({"a": torch.zeros(1), "b": 3}, f"{out}/not_tensor.pt")
torch.save(torch.nn.Linear(2, 2), f"{out}/module.pt")
open(f"{out}/garbage.pt", "wb").write(b"definitely not a checkpoint")
)PY";

using testing::Python;

class StateDictTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::PythonHas("torch")) return;
    dir_ = new std::string(::testing::TempDir() + "/state_dict_test");
    std::system(("mkdir -p " + *dir_).c_str());
    ASSERT_TRUE(testing::RunPythonScript(*dir_, "make.py", kScript));
  }
  void SetUp() override {
    if (dir_ == nullptr) {
      GTEST_SKIP() << Python()
                   << " cannot import torch (apt-get install python3-torch)";
    }
  }
  static std::string Path(const std::string& name) {
    return *dir_ + "/" + name;
  }
  static std::string* dir_;
};
std::string* StateDictTest::dir_ = nullptr;

TEST_F(StateDictTest, ReadsOrderedDictsExactlyAtProtocols2And4) {
  const auto oracle = testing::LoadTensorDict(Path("oracle.pt"));
  for (const char* file : {"p2.pt", "p4.pt"}) {
    SCOPED_TRACE(file);
    absl::StatusOr<StateDictEntries> sd = ReadStateDict(Path(file));
    ASSERT_TRUE(sd.ok()) << sd.status();
    ASSERT_EQ(sd->size(), oracle.size());
    std::map<std::string, torch::Tensor> got;
    for (const auto& [name, t] : *sd) got[name] = t;
    EXPECT_EQ((*sd)[0].first, "base");  // file order kept
    EXPECT_EQ((*sd).back().first, "big_index");
    for (const auto& [name, want] : oracle) {
      SCOPED_TRACE(name);
      ASSERT_TRUE(got.count(name));
      const torch::Tensor& t = got.at(name);
      EXPECT_EQ(t.dtype(), want.dtype());
      EXPECT_EQ(t.sizes(), want.sizes());
      EXPECT_TRUE(torch::equal(t.contiguous(), want));
    }
    // Views keep their layout and share their storage.
    const torch::Tensor& base = got.at("base");
    EXPECT_EQ(got.at("transposed").strides(), c10::IntArrayRef({1, 6}));
    EXPECT_EQ(got.at("window").storage_offset(), 8);
    EXPECT_EQ(got.at("transposed").storage().data(), base.storage().data());
    EXPECT_EQ(got.at("window").storage().data(), base.storage().data());
    EXPECT_EQ(got.at("big_index")[0].item<int64_t>(), int64_t{1} << 40);
  }
}

TEST_F(StateDictTest, RefusesWhatIsNotAStateDict) {
  EXPECT_EQ(ReadStateDict(Path("missing.pt")).status().code(),
            absl::StatusCode::kNotFound);
  const absl::Status garbage = ReadStateDict(Path("garbage.pt")).status();
  EXPECT_EQ(garbage.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(garbage.message()), HasSubstr("garbage.pt"));
  const absl::Status not_tensor = ReadStateDict(Path("not_tensor.pt")).status();
  EXPECT_EQ(not_tensor.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(not_tensor.message()),
              HasSubstr("entry b is a int, not a tensor"));
  const absl::Status module = ReadStateDict(Path("module.pt")).status();
  EXPECT_EQ(module.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(module.message()), HasSubstr("module.pt"));
}

// Random byte flips, insertions and truncations of a real data.pkl: every
// outcome is a state dict or an error, never a crash or an out-of-bounds
// tensor.
TEST_F(StateDictTest, SurvivesCorruptedPickles) {
  caffe2::serialize::PyTorchStreamReader reader(Path("p4.pt"));
  auto record = [&](const std::string& name) {
    auto [ptr, size] = reader.getRecord(name);
    return std::string(static_cast<const char*>(ptr.get()), size);
  };
  const std::string pickle = record("data.pkl");
  std::map<std::string, std::string> records;
  for (const std::string& name : reader.getAllRecords()) {
    if (name.rfind("data/", 0) == 0) records[name.substr(5)] = record(name);
  }
  auto load = [&](const std::string& key) -> absl::StatusOr<std::string> {
    auto it = records.find(key);
    if (it == records.end()) {
      return absl::DataLossError("fuzz: no record " + key);
    }
    return it->second;
  };
  ASSERT_TRUE(ParseStateDictPickle(pickle, load, "p4").ok());
  std::mt19937 rng(7);
  int ok = 0, failed = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bad = pickle;
    const int edits = 1 + trial % 4;
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % bad.size();
      switch (rng() % 3) {
        case 0:
          bad[at] = static_cast<char>(rng());
          break;
        case 1:
          bad.insert(at, 1, static_cast<char>(rng()));
          break;
        default:
          bad.resize(at);
          break;
      }
      if (bad.empty()) bad = "x";
    }
    const absl::StatusOr<StateDictEntries> sd =
        ParseStateDictPickle(bad, load, "fuzz");
    if (!sd.ok()) {
      ++failed;
      EXPECT_THAT(std::string(sd.status().message()), HasSubstr("fuzz"));
      continue;
    }
    ++ok;
    for (const auto& [name, t] : *sd) {
      if (t.numel() > 0) (void)t.sum();  // touches every element
    }
  }
  EXPECT_GT(failed, 1000);
  EXPECT_EQ(ok + failed, 3000);
}

}  // namespace
}  // namespace sniper::models
