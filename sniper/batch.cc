#include "sniper/batch.h"

#include <algorithm>

namespace sniper {

void ChipBatchToTensors(const data::ChipBatch& batch,
                        const data::ChipRenderOptions& render,
                        torch::Tensor* images,
                        std::vector<models::ChipTargets>* targets,
                        const data::CocoDataset* masks_from) {
  const int32_t cw = render.width(), ch = render.height();
  int32_t w = 0, h = 0;
  targets->clear();
  for (int i = 0; i < batch.size; ++i) {
    const data::Chip& c = batch.records[i].chip;
    w = std::max(w, c.x2 - c.x1);
    h = std::max(h, c.y2 - c.y1);
    const data::ChipLabels& l = batch.labels[i];
    models::ChipTargets t;
    t.boxes = torch::empty({static_cast<int64_t>(l.boxes.size()), 4});
    for (size_t j = 0; j < l.boxes.size(); ++j) {
      const data::Box& b = l.boxes[j];
      float* p = t.boxes.data_ptr<float>() + 4 * j;
      p[0] = b.x1, p[1] = b.y1, p[2] = b.x2, p[3] = b.y2;
    }
    t.labels =
        torch::empty({static_cast<int64_t>(l.labels.size())}, torch::kInt64);
    for (size_t j = 0; j < l.labels.size(); ++j) {
      t.labels.data_ptr<int64_t>()[j] = l.labels[j];
    }
    t.ignore = torch::empty({static_cast<int64_t>(l.ignore.size()), 4});
    for (size_t j = 0; j < l.ignore.size(); ++j) {
      const data::Box& b = l.ignore[j];
      float* p = t.ignore.data_ptr<float>() + 4 * j;
      p[0] = b.x1, p[1] = b.y1, p[2] = b.x2, p[3] = b.y2;
    }
    t.ignore_crowd =
        torch::empty({static_cast<int64_t>(l.ignore.size())}, torch::kBool);
    for (size_t j = 0; j < l.ignore.size(); ++j) {
      t.ignore_crowd.data_ptr<bool>()[j] =
          j < l.ignore_crowd.size() && l.ignore_crowd[j] != 0;
    }
    t.height = c.y2 - c.y1;
    t.width = c.x2 - c.x1;
    t.valid_min = l.valid_min;
    t.valid_max = l.valid_max;
    if (masks_from != nullptr) {
      const absl::Span<const masks::Segmentation> all =
          masks_from->segmentations_of(batch.records[i].image_index);
      TORCH_CHECK(l.box_index.size() == l.boxes.size(),
                  "ChipBatchToTensors: chip ", i, " has ", l.boxes.size(),
                  " boxes but ", l.box_index.size(), " box indices");
      for (int32_t k : l.box_index) {
        t.masks.segmentations.push_back(
            k >= 0 && static_cast<size_t>(k) < all.size() ? &all[k] : nullptr);
      }
      t.masks.frame.scale = l.scale;
      t.masks.frame.offset_x = c.x1;
      t.masks.frame.offset_y = c.y1;
      t.masks.frame.flipped =
          i < static_cast<int>(batch.flipped.size()) && batch.flipped[i] != 0;
      t.masks.frame.window_width = c.x2 - c.x1;
    }
    targets->push_back(std::move(t));
  }
  // The loader's extent (windows rounded up to the canvas step); batches
  // built by hand may leave it 0: then windows rounded up to 32.
  w = batch.canvas_width > 0 ? batch.canvas_width : (w + 31) / 32 * 32;
  h = batch.canvas_height > 0 ? batch.canvas_height : (h + 31) / 32 * 32;
  w = std::min(w, cw);
  h = std::min(h, ch);
  torch::Tensor full =
      torch::from_blob(const_cast<uint8_t*>(batch.pixels.data()),
                       {batch.size, 3, ch, cw}, torch::kFloat32);
  *images = full.narrow(2, 0, h).narrow(3, 0, w).clone(
      torch::MemoryFormat::Contiguous);
}

void BatchToDevice(torch::Device device, torch::Tensor* images,
                   std::vector<models::ChipTargets>* targets) {
  if (device.is_cpu()) return;
  *images = images->to(device);
  for (models::ChipTargets& t : *targets) {
    for (torch::Tensor* x : {&t.boxes, &t.labels, &t.ignore, &t.ignore_crowd}) {
      if (x->defined()) *x = x->to(device);
    }
  }
}

}  // namespace sniper
