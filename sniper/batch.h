// File: sniper/batch.h
//
// A loader batch (data/chip_loader.h) as the model's inputs.
#ifndef SNIPER_SNIPER_BATCH_H_
#define SNIPER_SNIPER_BATCH_H_

#include <torch/torch.h>

#include <vector>

#include "data/chip_loader.h"
#include "models/faster_rcnn.h"

namespace sniper {

// The batch's chips as images [n, 3, H, W] (a copy), cropped to the
// batch's canvas extent (ChipBatch::canvas_width/height: the largest chip
// window rounded up to the canvas step; chips of images smaller than the
// canvas, tight canvases and whole images in single-scale mode leave
// padding that would cost compute), and their targets in chip pixels with
// each chip's valid extent. With `masks_from` (the batch's dataset, read
// with segmentations), each target also gets its boxes' segmentations and
// the chip's frame (models::ChipMasks) for the mask branch; the dataset
// must outlive the targets.
void ChipBatchToTensors(const data::ChipBatch& batch,
                        const data::ChipRenderOptions& render,
                        torch::Tensor* images,
                        std::vector<models::ChipTargets>* targets,
                        const data::CocoDataset* masks_from = nullptr);

// Moves `images` and `targets` to `device` (nothing to do on the CPU).
void BatchToDevice(torch::Device device, torch::Tensor* images,
                   std::vector<models::ChipTargets>* targets);

}  // namespace sniper

#endif  // SNIPER_SNIPER_BATCH_H_
