#include "models/resnet.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "models/conv.h"
#include "models/state_dict.h"
#include "models/sync_batch_norm.h"
#include "port/field_path.h"

namespace sniper::models {
namespace {

namespace nn = torch::nn;

Conv2d Conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding,
            int64_t dilation = 1) {
  return Conv2d(nn::Conv2dOptions(in, out, k)
                    .stride(stride)
                    .padding(padding)
                    .dilation(dilation)
                    .bias(false));
}

// torchvision's BasicBlock / Bottleneck, same child names.
class BlockImpl : public nn::Module {
 public:
  BlockImpl(bool bottleneck, int64_t in, int64_t width, int64_t out,
            int64_t stride, int64_t dilation, bool downsample,
            std::shared_ptr<const BatchNormSync> sync)
      : bottleneck_(bottleneck), sync_(std::move(sync)) {
    if (bottleneck) {
      conv1_ = register_module("conv1", Conv(in, width, 1, 1, 0));
      bn1_ = register_module("bn1", nn::BatchNorm2d(width));
      conv2_ = register_module(
          "conv2", Conv(width, width, 3, stride, dilation, dilation));
      bn2_ = register_module("bn2", nn::BatchNorm2d(width));
      conv3_ = register_module("conv3", Conv(width, out, 1, 1, 0));
      bn3_ = register_module("bn3", nn::BatchNorm2d(out));
    } else {
      conv1_ = register_module("conv1", Conv(in, out, 3, stride, 1));
      bn1_ = register_module("bn1", nn::BatchNorm2d(out));
      conv2_ = register_module("conv2", Conv(out, out, 3, 1, 1));
      bn2_ = register_module("bn2", nn::BatchNorm2d(out));
    }
    if (downsample) {
      downsample_ = register_module(
          "downsample",
          nn::Sequential(Conv(in, out, 1, stride, 0), nn::BatchNorm2d(out)));
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    const BatchNormSync* sync = sync_.get();
    torch::Tensor y = ReluOfTemporary(ConvBatchNorm(*conv1_, *bn1_, x, sync));
    y = ConvBatchNorm(*conv2_, *bn2_, y, sync);
    if (bottleneck_)
      y = ConvBatchNorm(*conv3_, *bn3_, ReluOfTemporary(y), sync);
    torch::Tensor identity = x;
    if (downsample_) {
      identity = ConvBatchNorm(*downsample_[0]->as<Conv2d>(),
                               *downsample_[1]->as<nn::BatchNorm2d>(), x, sync);
    }
    return AddReluOfTemporary(y, identity);
  }

 private:
  bool bottleneck_;
  std::shared_ptr<const BatchNormSync> sync_;
  Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(Block);

std::vector<int> BlocksPerStage(int depth) {
  switch (depth) {
    case 18:
      return {2, 2, 2, 2};
    case 34:
    case 50:
      return {3, 4, 6, 3};
    case 101:
      return {3, 4, 23, 3};
  }
  return {};
}

int64_t Scaled(int64_t channels, double mult) {
  return std::max<int64_t>(8,
                           static_cast<int64_t>(std::lround(channels * mult)));
}

void Freeze(nn::Module& m) {
  for (auto& p : m.parameters()) p.set_requires_grad(false);
}

}  // namespace

ResNetImpl::ResNetImpl(const BackboneOptions& options) : options_(options) {
  const absl::Status valid = ValidateBackboneOptions(options);
  TORCH_CHECK(valid.ok(), std::string(valid.message()));
  const bool bottleneck = options.depth >= 50;
  const int expansion = bottleneck ? 4 : 1;
  const double m = options.width_multiplier;
  const int64_t stem = Scaled(64, m);
  conv1_ = register_module("conv1", Conv(3, stem, 7, 2, 3));
  bn1_ = register_module("bn1", nn::BatchNorm2d(stem));
  const std::vector<int> blocks = BlocksPerStage(options.depth);
  int64_t in = stem;
  int64_t stride_so_far = 4;
  nn::Sequential* layers[4] = {&layer1_, &layer2_, &layer3_, &layer4_};
  const char* level_names[4] = {"res2", "res3", "res4", "res5"};
  for (int s = 0; s < options.stages; ++s) {
    const int64_t width = Scaled(64 << s, m);
    const int64_t out = width * expansion;
    int64_t stride = s == 0 ? 1 : 2;
    int64_t dilation = 1;
    if (s == 3 && options.res5_dilation && bottleneck &&
        !options.res5_as_head) {
      stride = 1;
      dilation = 2;
    }
    nn::Sequential seq;
    for (int b = 0; b < blocks[s]; ++b) {
      const bool first = b == 0;
      seq->push_back(Block(
          bottleneck, first ? in : out, width, out, first ? stride : 1,
          // torchvision: the first block of a dilated stage
          // uses the previous dilation (1).
          first ? 1 : dilation, first && (stride != 1 || in != out),
          s == 0 && options.freeze_stem_and_layer1 ? frozen_sync_ : bn_sync_));
    }
    *layers[s] = register_module(absl::StrCat("layer", s + 1), seq);
    stride_so_far *= stride;
    channels_[level_names[s]] = out;
    strides_[level_names[s]] = stride_so_far;
    in = out;
  }
  if (options.freeze_stem_and_layer1) {
    Freeze(*conv1_);
    Freeze(*bn1_);
    Freeze(*layer1_);
  }
  if (options.freeze_all_bn) {
    for (auto& mod : modules(/*include_self=*/false)) {
      if (auto* bn = mod->as<nn::BatchNorm2d>()) Freeze(*bn);
    }
  }
  if (options.channels_last) {
    for (auto& p : parameters()) {
      if (p.dim() == 4) {
        torch::NoGradGuard guard;
        p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
      }
    }
  }
  train(true);
}

void ResNetImpl::SetBatchNormSync(AllReduceSum all_reduce) {
  bn_sync_->Set(std::move(all_reduce));
}

void ResNetImpl::SetEvalBatchStatistics(bool on) {
  bn_sync_->SetEvalBatchStatistics(on && !options_.freeze_all_bn);
}

void ResNetImpl::train(bool on) {
  nn::Module::train(on);
  if (options_.freeze_stem_and_layer1) {
    bn1_->eval();
    layer1_->eval();
  }
  if (options_.freeze_all_bn) {
    for (auto& mod : modules(/*include_self=*/false)) {
      if (auto* bn = mod->as<nn::BatchNorm2d>()) bn->eval();
    }
  }
}

std::map<std::string, torch::Tensor> ResNetImpl::forward(torch::Tensor x) {
  if (options_.channels_last) {
    x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  x = ReluOfTemporary(ConvBatchNorm(
      *conv1_, *bn1_, x,
      options_.freeze_stem_and_layer1 ? frozen_sync_.get() : bn_sync_.get()));
  x = torch::max_pool2d(x, 3, 2, 1);
  std::map<std::string, torch::Tensor> out;
  x = layer1_->forward(x);
  out["res2"] = x;
  x = layer2_->forward(x);
  out["res3"] = x;
  x = layer3_->forward(x);
  out["res4"] = x;
  if (layer4_ && !options_.res5_as_head) out["res5"] = layer4_->forward(x);
  return out;
}

torch::Tensor ResNetImpl::Features(torch::Tensor images) {
  return forward(std::move(images)).at(feature_level());
}

int64_t ResNetImpl::feature_channels() const {
  return channels(feature_level());
}

int64_t ResNetImpl::head_channels() const { return channels("res5"); }

std::string ResNetImpl::feature_level() const {
  return layer4_ && !options_.res5_as_head ? "res5" : "res4";
}

torch::Tensor ResNetImpl::RunHead(torch::Tensor x) {
  TORCH_CHECK(layer4_ && options_.res5_as_head,
              "ResNet::RunHead needs stages = 4 and res5_as_head");
  if (options_.channels_last) {
    x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  return layer4_->forward(x);
}

int64_t ResNetImpl::channels(const std::string& level) const {
  auto it = channels_.find(level);
  TORCH_CHECK(it != channels_.end(), "ResNet has no level ", level);
  return it->second;
}

int64_t ResNetImpl::stride(const std::string& level) const {
  auto it = strides_.find(level);
  TORCH_CHECK(it != strides_.end(), "ResNet has no level ", level);
  return it->second;
}

}  // namespace sniper::models
