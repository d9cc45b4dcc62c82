// File: sniper/dataset_config.h
//
// PipelineConfig.dataset (sniper/pipeline.proto): the checks every source
// gets on load (synthetic, COCO JSON, Pascal VOC, YOLO labels), its paths
// made absolute, and what the stages need to know of it. Torch-free.
#ifndef SNIPER_SNIPER_DATASET_CONFIG_H_
#define SNIPER_SNIPER_DATASET_CONFIG_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "sniper/pipeline.pb.h"

namespace sniper {

// InvalidArgument naming the field ("PipelineConfig.dataset.voc: set
// root") for a source missing what it needs or holding contradictions.
absl::Status ValidateDatasetConfig(const DatasetConfig& d);

// Relative paths of the COCO, VOC or YOLO source resolved by `absolute`.
void ResolveDatasetPaths(
    const std::function<std::string(const std::string&)>& absolute,
    DatasetConfig* d);

// Whether the source has a validation split (else no eval stage).
bool HasValidationSplit(const DatasetConfig& d);

// "synthetic", "coco", "voc" or "yolo".
const char* DatasetFormatName(const DatasetConfig& d);

}  // namespace sniper

#endif  // SNIPER_SNIPER_DATASET_CONFIG_H_
