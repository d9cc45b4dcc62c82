// The synthetic dataset a PipelineConfig names (sniper/config.h).
#include "data/synthetic.h"
#include "sniper/config.h"

namespace sniper {

bool SyntheticDatasetExists(const SyntheticDataConfig& config) {
  return data::SyntheticDatasetIsCurrent(config.cache_dir());
}

absl::Status WriteSyntheticDataset(const SyntheticDataConfig& config) {
  data::SyntheticOptions o;
  o.train_images = config.train_images();
  o.val_images = config.val_images();
  o.seed = config.seed();
  o.min_side = config.min_side();
  o.max_side = config.max_side();
  data::SyntheticSplitStats train, val;
  return data::WriteSyntheticDataset(config.cache_dir(), o, &train, &val);
}

}  // namespace sniper
