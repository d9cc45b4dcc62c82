#include "data/chip_loader_builder.h"

#include <cmath>
#include <thread>

#include "absl/strings/str_cat.h"
#include "port/field_path.h"

namespace sniper::data {

absl::StatusOr<ChipLoaderOptions> BuildChipLoaderOptions(
    const LoaderConfig& c, int32_t chip_size, const std::string& path) {
  auto Invalid = [&path](const std::string& field, const std::string& rule) {
    return InvalidField(path, field, rule);
  };
  ChipLoaderOptions o;
  if (c.threads() < 0 || c.threads() > 1024) {
    return Invalid("threads",
                   absl::StrCat("must be in [0, 1024], got ", c.threads()));
  }
  o.threads =
      c.threads() > 0
          ? c.threads()
          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  if (c.queue_depth() < 1) {
    return Invalid("queue_depth",
                   absl::StrCat("must be >= 1, got ", c.queue_depth()));
  }
  if (c.batch_size() < 1) {
    return Invalid("batch_size",
                   absl::StrCat("must be >= 1, got ", c.batch_size()));
  }
  if (chip_size < 1) {
    return Invalid("(chip_size)",
                   absl::StrCat("must be >= 1, got ", chip_size));
  }
  o.queue_depth = c.queue_depth();
  o.batch_size = c.batch_size();
  o.render.chip_size = chip_size;
  switch (c.layout()) {
    case LoaderConfig::CHW_FLOAT32:
      o.render.layout = ChipLayout::kChwFloat32;
      break;
    case LoaderConfig::HWC_UINT8:
      o.render.layout = ChipLayout::kHwcUint8;
      break;
    case LoaderConfig::LAYOUT_UNSPECIFIED:
      return Invalid("layout", "must be CHW_FLOAT32 or HWC_UINT8");
  }
  if (c.mean_size() != 0 && c.mean_size() != 3) {
    return Invalid("mean", absl::StrCat("needs 3 values, got ", c.mean_size()));
  }
  if (c.std_size() != 0 && c.std_size() != 3) {
    return Invalid("std", absl::StrCat("needs 3 values, got ", c.std_size()));
  }
  for (int i = 0; i < c.mean_size(); ++i) {
    if (!std::isfinite(c.mean(i))) {
      return Invalid(absl::StrCat("mean[", i, "]"), "must be finite");
    }
    o.render.mean[i] = c.mean(i);
    o.render.pad_value[i] =
        static_cast<uint8_t>(std::lround(std::clamp(c.mean(i), 0.0f, 255.0f)));
  }
  for (int i = 0; i < c.std_size(); ++i) {
    if (!(std::isfinite(c.std(i)) && c.std(i) > 0)) {
      return Invalid(absl::StrCat("std[", i, "]"),
                     absl::StrCat("must be finite and > 0, got ", c.std(i)));
    }
    o.render.std[i] = c.std(i);
  }
  o.flip = c.flip();
  switch (c.on_error()) {
    case LoaderConfig::FAIL:
      o.on_error = LoadErrorPolicy::kFail;
      break;
    case LoaderConfig::SKIP:
      o.on_error = LoadErrorPolicy::kSkip;
      break;
    case LoaderConfig::ON_ERROR_UNSPECIFIED:
      return Invalid("on_error", "must be FAIL or SKIP");
  }
  o.seed = c.seed();
  o.group_by_shape = c.group_by_shape();
  return o;
}

}  // namespace sniper::data
