// //sniper:detect's library on a saved (untrained) detector of the tiny
// pipeline: a directory in, a picture per image, COCO results and the image
// ids out; one file with AutoFocus's picture; bad requests named.
#include "sniper/detect_files.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"
#include "sniper/checkpoint.h"
#include "sniper/run_log.h"
#include "sniper/stage.h"
#include "sniper/testing/tiny_pipeline.h"

namespace sniper {
namespace {

namespace fs = std::filesystem;
using ::sniper::testing::StatusIs;
using ::sniper::testing::TinyPipeline;
using ::testing::HasSubstr;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// The tiny pipeline's untrained detector saved with its config and
// categories; two of its validation images copied into <work_dir>/in.
struct Fixture {
  Pipeline p;
  std::string checkpoint, in;
};

Fixture MakeFixture(const std::string& name) {
  Fixture f{TinyPipeline(name), "", ""};
  fs::remove_all(f.p.work_dir);
  fs::create_directories(f.p.work_dir);
  RunLog log(f.p.work_dir + "/train.log", false, false);
  absl::StatusOr<Datasets> data = LoadDatasets(f.p.dataset, log);
  EXPECT_TRUE(data.ok()) << data.status();
  torch::manual_seed(6);
  models::FasterRcnn detector(f.p.eval_stage.model);
  CheckpointState state;
  state.finished = true;
  CheckpointInfo info;
  info.config_text = f.p.detector_stage.config_text;
  for (const data::CocoCategory& c : data->val.categories()) {
    info.category_ids.push_back(c.id);
    info.category_names.push_back(c.name);
  }
  f.checkpoint = f.p.work_dir + "/final.pt";
  EXPECT_TRUE(
      SaveCheckpoint(f.checkpoint, detector, nullptr, state, info).ok());
  f.in = f.p.work_dir + "/in";
  fs::create_directories(f.in);
  for (size_t i = 0; i < 2; ++i) {
    const std::string file = data->val.image(i).file_name;
    fs::copy_file(data->val_split().image_dir + "/" + file, f.in + "/" + file);
  }
  std::ofstream(f.in + "/notes.txt") << "not an image";
  return f;
}

TEST(DetectFilesTest, DirectoryGivesPicturesResultsAndImageIds) {
  const Fixture f = MakeFixture("detect_dir");
  DetectFilesOptions o;
  o.checkpoint = f.checkpoint;
  o.input = f.in;
  o.out = f.p.work_dir + "/out";
  o.score_threshold = 0;
  o.device = "cpu";
  std::vector<std::string> heard;
  ASSERT_OK_AND_ASSIGN(
      const DetectFilesReport r,
      DetectFiles(o, [&](const DetectedFile& d) { heard.push_back(d.name); }));
  ASSERT_EQ(r.files.size(), 2u);
  EXPECT_EQ(heard,
            (std::vector<std::string>{r.files[0].name, r.files[1].name}));
  EXPECT_LT(r.files[0].name, r.files[1].name);  // name order
  int64_t total = 0;
  for (const DetectedFile& d : r.files) {
    EXPECT_TRUE(fs::exists(d.png)) << d.png;
    EXPECT_EQ(fs::path(d.png).parent_path(), fs::path(o.out));
    EXPECT_GT(d.detections, 0);
    EXPECT_EQ(d.drawn, d.detections);  // threshold 0 draws every one
    total += d.detections;
  }
  const std::string results = ReadAll(r.results_json);
  EXPECT_EQ(Count(results, "\"image_id\""), total);
  EXPECT_EQ(Count(results, "\"image_id\": 1,"), r.files[0].detections);
  EXPECT_EQ(Count(results, "\"image_id\": 2,"), r.files[1].detections);
  const std::string images = ReadAll(r.images_json);
  EXPECT_THAT(images, HasSubstr(r.files[0].name));
  EXPECT_THAT(images, HasSubstr(r.files[1].name));
  EXPECT_THAT(images, ::testing::Not(HasSubstr("notes.txt")));
  // The cost: three scales, one view each per image.
  EXPECT_EQ(r.cost.views_per_scale, (std::vector<double>{1, 1, 1}));
  EXPECT_THAT(FormatDetectCost(r), HasSubstr("2 images, "))
      << FormatDetectCost(r);
  EXPECT_THAT(FormatDetectCost(r), HasSubstr("every scale over the whole"));
}

TEST(DetectFilesTest, OneFileWithAutoFocusDrawsItsSteps) {
  const Fixture f = MakeFixture("detect_one");
  const std::string image =
      fs::directory_iterator(f.in)->path().extension() == ".txt"
          ? std::next(fs::directory_iterator(f.in))->path().string()
          : fs::directory_iterator(f.in)->path().string();
  DetectFilesOptions o;
  o.checkpoint = f.checkpoint;
  o.input = image;
  o.out = f.p.work_dir + "/one.png";
  o.autofocus_map = f.p.work_dir + "/focus.png";
  o.device = "cpu";
  ASSERT_OK_AND_ASSIGN(const DetectFilesReport r, DetectFiles(o));
  ASSERT_EQ(r.files.size(), 1u);
  EXPECT_EQ(r.files[0].png, o.out);
  EXPECT_TRUE(fs::exists(o.out));
  EXPECT_EQ(r.autofocus_png, o.autofocus_map);
  EXPECT_TRUE(fs::exists(o.autofocus_map));
  EXPECT_TRUE(r.results_json.empty());  // one image: the picture only
  EXPECT_TRUE(r.cost.autofocus);
  EXPECT_THAT(FormatDetectCost(r), HasSubstr("AutoFocus: "));
}

TEST(DetectFilesTest, BadRequestsAreNamed) {
  const Fixture f = MakeFixture("detect_bad");
  DetectFilesOptions o;
  o.checkpoint = f.checkpoint;
  o.device = "cpu";
  EXPECT_THAT(DetectFiles(o).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--checkpoint and --image are required")));
  o.input = f.in;
  o.autofocus_map = f.p.work_dir + "/focus.png";
  EXPECT_THAT(DetectFiles(o).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("give --image a file")));
  o.autofocus_map.clear();
  o.out = f.in + "/notes.txt";  // a file, for a directory's outputs
  EXPECT_THAT(DetectFiles(o).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--out must be one too")));
  o.out.clear();
  o.sets = {"eval.nms_threshold=2"};
  EXPECT_THAT(DetectFiles(o).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("eval.nms_threshold")));
  o.sets.clear();
  const std::string empty = f.p.work_dir + "/empty";
  fs::create_directories(empty);
  o.input = empty;
  EXPECT_THAT(DetectFiles(o).status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("no .jpg/.jpeg/.png files")));
  o.input = f.in;
  o.checkpoint = f.p.work_dir + "/missing.pt";
  EXPECT_THAT(DetectFiles(o).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.pt")));
}

}  // namespace
}  // namespace sniper
