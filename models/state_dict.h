// File: models/state_dict.h
//
// Reads state dicts written by PyTorch's torch.save (the zip format every
// PyTorch since 1.6 writes): model.state_dict() (a collections.OrderedDict),
// a plain dict, a list of (name, tensor) pairs, or a training checkpoint
// dict holding one of those under "state_dict" or "model".
//
// LibTorch's own torch::pickle_load (1.13) turns collections.OrderedDict
// into None and then fails, so real torchvision checkpoints cannot be read
// with it. This is a small pickle machine for the subset torch.save emits
// (protocols 2-5: containers, strings, numbers, globals it knows, persistent
// storage ids, tensor and parameter rebuilds) that loads the storages from
// the archive with caffe2's PyTorchStreamReader. Views that share a storage
// keep sharing it; non-contiguous strides and offsets are preserved.
// Anything outside that subset (arbitrary Python classes, legacy pre-1.6
// files) is refused with a message naming the file and what was found.
#ifndef SNIPER_MODELS_STATE_DICT_H_
#define SNIPER_MODELS_STATE_DICT_H_

#include <torch/torch.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sniper::models {

// Name -> tensor entries in file order.
using StateDictEntries = std::vector<std::pair<std::string, torch::Tensor>>;

// Reads the state dict in `path`. Errors: NotFound (cannot open),
// DataLoss (not a readable torch.save archive, corrupt pickle, missing
// storage records), InvalidArgument (a readable pickle that is not a state
// dict, or uses unsupported Python objects).
absl::StatusOr<StateDictEntries> ReadStateDict(const std::string& path);

// The pickle machine alone, for tests: `pickle` is the archive's data.pkl,
// `load_record(key)` returns the bytes of storage record data/<key> (or an
// error). `what` prefixes error messages.
absl::StatusOr<StateDictEntries> ParseStateDictPickle(
    absl::string_view pickle,
    const std::function<absl::StatusOr<std::string>(const std::string& key)>&
        load_record,
    const std::string& what);

}  // namespace sniper::models

#endif  // SNIPER_MODELS_STATE_DICT_H_
