// chip_stats: SNIPER's pixel accounting for a dataset (COCO JSON, Pascal
// VOC or YOLO labels; tools/dataset_flags.h).
//
//   bazel run //tools:chip_stats -- --annotations=instances.json
//       (or --voc_root=VOC2007 [--voc_split=trainval],
//        or --yolo_images=d/images/train --yolo_names=d/data.yaml)
//       [--config=sampler.pbtxt] [--baseline_config=single.pbtxt]
//       [--proposals=proposals.bin] [--json=out.json] [--epoch=0]
//       [--compare_config=configs/coco_sniper_paper_sampler.pbtxt]
//
// Prints per scale and in total: valid boxes, positive and negative chips,
// chips per image, SNIPER pixels per image, the single-scale (800x1333)
// baseline's and the full pyramid's pixels per image, the ratios, and the
// fraction of valid boxes covered by positive chips (must be 1). Without
// --proposals there are no negative chips.
#include "data/chip_stats.h"

#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "configs/coco_single_scale_sampler_embedded.h"
#include "configs/coco_sniper_sampler_embedded.h"
#include "data/coco_dataset.h"
#include "data/proposals.h"
#include "port/main_guard.h"
#include "port/paths.h"
#include "port/proto_io.h"
#include "tools/dataset_flags.h"
#include "tools/tool_common.h"

ABSL_FLAG(std::string, config, "",
          "ChipSamplerConfig text file; default: the embedded "
          "configs/coco_sniper_sampler.pbtxt.");
ABSL_FLAG(std::string, baseline_config, "",
          "ChipSamplerConfig of the single-scale baseline (WHOLE_IMAGE); "
          "default: the embedded configs/coco_single_scale_sampler.pbtxt.");
ABSL_FLAG(std::string, compare_config, "",
          "A second ChipSamplerConfig (e.g. configs/coco_sniper_paper_sampler"
          ".pbtxt): also print both side by side, this one first.");
ABSL_FLAG(std::string, proposals, "",
          "SNIPER proposals file (data/proposals.h) for negative chips.");
ABSL_FLAG(std::string, json, "", "Also write the numbers as JSON here.");
ABSL_FLAG(uint64_t, epoch, 0, "Epoch to sample.");
ABSL_FLAG(bool, skip_invalid_boxes, false,
          "Skip (and count) degenerate or out-of-image boxes instead of "
          "failing.");

namespace {

using sniper::ResolveUserPath;

int Run() {
  sniper::data::CocoReaderOptions reader;
  if (absl::GetFlag(FLAGS_skip_invalid_boxes)) {
    reader.invalid_box_policy = sniper::data::InvalidBoxPolicy::kSkip;
  }
  if (absl::Status usage = sniper::tools::CheckDatasetFlags(); !usage.ok()) {
    std::cerr << "chip_stats: " << usage.message() << "\n";
    return 2;
  }
  auto loaded = sniper::tools::DatasetFromFlags(reader);
  if (!loaded.ok()) {
    std::cerr << "chip_stats: " << loaded.status().message() << "\n";
    return 1;
  }
  const sniper::data::CocoDataset* dataset = &loaded->dataset;
  auto sniper_options = sniper::tools::SamplerOptionsFromFlag(
      absl::GetFlag(FLAGS_config), sniper::embedded::kCocoSniperSampler,
      "embedded:configs/coco_sniper_sampler.pbtxt");
  auto baseline_options = sniper::tools::SamplerOptionsFromFlag(
      absl::GetFlag(FLAGS_baseline_config),
      sniper::embedded::kCocoSingleScaleSampler,
      "embedded:configs/coco_single_scale_sampler.pbtxt");
  for (const auto* o : {&sniper_options, &baseline_options}) {
    if (!o->ok()) {
      std::cerr << "chip_stats: " << o->status().message() << "\n";
      return 1;
    }
  }
  auto proposals =
      sniper::tools::ProposalsFromFlag(absl::GetFlag(FLAGS_proposals));
  if (!proposals.ok()) {
    std::cerr << "chip_stats: " << proposals.status().message() << "\n";
    return 1;
  }
  const sniper::data::ChipSampler sniper_sampler(*sniper_options);
  const sniper::data::ChipSampler baseline_sampler(*baseline_options);
  if (*proposals) {
    const absl::Status fits = sniper_sampler.CheckProposals(
        **proposals, absl::GetFlag(FLAGS_proposals), *dataset);
    if (!fits.ok()) {
      std::cerr << "chip_stats: " << fits.message() << "\n";
      return 1;
    }
  }
  const sniper::data::ChipStats stats = sniper::data::ComputeChipStats(
      *dataset, sniper_sampler, baseline_sampler,
      *proposals ? &**proposals : nullptr, absl::GetFlag(FLAGS_epoch));

  std::cout << "dataset: " << loaded->description << " ("
            << dataset->num_images() << " images, " << dataset->num_boxes()
            << " boxes, " << dataset->num_images_without_boxes()
            << " images without any)\n"
            << "negative chips: "
            << (*proposals ? "from --proposals" : "none (no --proposals)")
            << "\n\n"
            << sniper::data::FormatChipStats(stats);
  const std::string compare = absl::GetFlag(FLAGS_compare_config);
  if (!compare.empty()) {
    auto other =
        sniper::tools::SamplerOptionsFromFlag(compare, "", compare.c_str());
    if (!other.ok()) {
      std::cerr << "chip_stats: " << other.status().message() << "\n";
      return 1;
    }
    const sniper::data::ChipSampler other_sampler(*other);
    if (*proposals) {
      const absl::Status fits = other_sampler.CheckProposals(
          **proposals, absl::GetFlag(FLAGS_proposals), *dataset);
      if (!fits.ok()) {
        std::cerr << "chip_stats: " << fits.message() << "\n";
        return 1;
      }
    }
    const sniper::data::ChipStats other_stats = sniper::data::ComputeChipStats(
        *dataset, other_sampler, baseline_sampler,
        *proposals ? &**proposals : nullptr, absl::GetFlag(FLAGS_epoch));
    std::cout << "\n"
              << sniper::data::FormatChipStatsComparison(
                     other_stats, "compare_config", stats, "config");
    if (other_stats.covered_fraction() != 1.0) {
      std::cerr << "chip_stats: " << compare
                << ": some valid boxes are not covered\n";
      return 3;
    }
  }
  if (!absl::GetFlag(FLAGS_json).empty()) {
    const std::string path = ResolveUserPath(absl::GetFlag(FLAGS_json));
    const absl::Status status =
        sniper::WriteFileAtomically(path, sniper::data::ChipStatsToJson(stats));
    if (!status.ok()) {
      std::cerr << "chip_stats: " << status.message() << "\n";
      return 1;
    }
    std::cout << "wrote " << path << "\n";
  }
  if (stats.covered_fraction() != 1.0) {
    std::cerr << "chip_stats: some valid boxes are not covered\n";
    return 3;
  }
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  sniper::tools::InitTool(
      argc, argv,
      absl::StrCat("SNIPER pixel accounting: chip_stats <dataset> "
                   "[--config=...] [--proposals=...] [--json=...]\n"
                   "<dataset>:\n",
                   sniper::tools::kDatasetFlagsUsage)
          .c_str());
  return Run();
}

int main(int argc, char** argv) { return sniper::RunMain(argc, argv, Main); }
