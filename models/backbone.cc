#include "models/backbone.h"

#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "models/state_dict.h"
#include "port/field_path.h"

namespace sniper::models {

absl::Status ValidateBackboneOptions(const BackboneOptions& o,
                                     const std::string& path) {
  if (o.type == BackboneType::kResNet && o.depth != 18 && o.depth != 34 &&
      o.depth != 50 && o.depth != 101) {
    return InvalidField(
        path, "depth",
        absl::StrCat("must be 18, 34, 50 or 101, got ", o.depth));
  }
  if (o.res5_as_head && o.stages != 4) {
    return InvalidField(path, "res5_as_head", "needs stages = 4");
  }
  if (o.stages != 3 && o.stages != 4) {
    return InvalidField(path, "stages",
                        absl::StrCat("must be 3 or 4, got ", o.stages));
  }
  if (!(std::isfinite(o.width_multiplier) && o.width_multiplier > 0 &&
        o.width_multiplier <= 4)) {
    return InvalidField(
        path, "width_multiplier",
        absl::StrCat("must be in (0, 4], got ", o.width_multiplier));
  }
  return absl::OkStatus();
}

absl::Status LoadTorchvisionStateDict(const std::string& path,
                                      torch::nn::Module& module,
                                      int64_t* ignored_entries) {
  absl::StatusOr<StateDictEntries> read = ReadStateDict(path);
  if (!read.ok()) return read.status();
  std::map<std::string, torch::Tensor> entries;
  for (auto& [name, tensor] : *read) entries[name] = std::move(tensor);
  torch::NoGradGuard no_grad;
  int64_t used = 0;
  auto assign = [&](const std::string& name,
                    torch::Tensor& target) -> absl::Status {
    auto it = entries.find(name);
    if (it == entries.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": missing entry ", name));
    }
    if (it->second.sizes() != target.sizes()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": entry ", name, " has shape ", c10::str(it->second.sizes()),
          ", the model expects ", c10::str(target.sizes())));
    }
    target.copy_(it->second);
    ++used;
    return absl::OkStatus();
  };
  for (auto& p : module.named_parameters()) {
    absl::Status s = assign(p.key(), p.value());
    if (!s.ok()) return s;
  }
  for (auto& b : module.named_buffers()) {
    absl::Status s = assign(b.key(), b.value());
    if (!s.ok()) return s;
  }
  if (ignored_entries != nullptr) {
    *ignored_entries = static_cast<int64_t>(entries.size()) - used;
  }
  return absl::OkStatus();
}

}  // namespace sniper::models
