#include "models/mobilenet_v2.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sniper::models {

namespace nn = torch::nn;

// One entry of `features` (a convolution with batch norm, or an inverted
// residual block).
class MobileNetV2LayerImpl : public nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  // Fixes the weights and keeps batch norm in eval mode.
  void Freeze() {
    for (auto& p : parameters()) p.set_requires_grad(false);
  }
};

namespace {

// Layers of features.0-13 (res4); the rest is res5.
constexpr size_t kTrunkLayers = 14;
// Layers at stride <= 4 (features.0-3).
constexpr size_t kStemLayers = 4;

// torchvision's Conv2dNormActivation: "0" the convolution (no bias), "1"
// batch norm, then ReLU6 (or nothing: the linear projection's BN is held
// by the block).
class ConvBnImpl : public MobileNetV2LayerImpl {
 public:
  ConvBnImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride,
             int64_t groups, int64_t dilation,
             std::shared_ptr<const BatchNormSync> sync)
      : sync_(std::move(sync)) {
    conv_ =
        register_module("0", Conv2d(nn::Conv2dOptions(in, out, kernel)
                                        .stride(stride)
                                        .padding((kernel - 1) / 2 * dilation)
                                        .dilation(dilation)
                                        .groups(groups)
                                        .bias(false)));
    bn_ = register_module("1", nn::BatchNorm2d(out));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return Relu6OfTemporary(ConvBatchNorm(*conv_, *bn_, x, sync_.get()));
  }

 private:
  std::shared_ptr<const BatchNormSync> sync_;
  Conv2d conv_{nullptr};
  nn::BatchNorm2d bn_{nullptr};
};

// torchvision's InvertedResidual: "conv" holds [1x1 expansion (when
// expand != 1)], the 3x3 depthwise convolution, the linear 1x1 projection
// and its batch norm; the input is added when the shape is kept.
class InvertedResidualImpl : public MobileNetV2LayerImpl {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand,
                       int64_t dilation,
                       const std::shared_ptr<const BatchNormSync>& sync)
      : residual_(stride == 1 && in == out), sync_(sync) {
    const int64_t hidden = in * expand;
    auto conv = register_module("conv", std::make_shared<nn::Module>());
    int index = 0;
    auto name = [&index] { return std::to_string(index++); };
    if (expand != 1) {
      expand_ = conv->register_module(
          name(), std::make_shared<ConvBnImpl>(in, hidden, 1, 1, 1, 1, sync));
    }
    depthwise_ = conv->register_module(
        name(), std::make_shared<ConvBnImpl>(hidden, hidden, 3, stride, hidden,
                                             dilation, sync));
    project_ = conv->register_module(
        name(), Conv2d(nn::Conv2dOptions(hidden, out, 1).bias(false)));
    project_bn_ = conv->register_module(name(), nn::BatchNorm2d(out));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor y = expand_ ? expand_->forward(x) : x;
    y = ConvBatchNorm(*project_, *project_bn_, depthwise_->forward(y),
                      sync_.get());
    return residual_ ? x + y : y;
  }

 private:
  bool residual_;
  std::shared_ptr<const BatchNormSync> sync_;
  std::shared_ptr<ConvBnImpl> expand_, depthwise_;
  Conv2d project_{nullptr};
  nn::BatchNorm2d project_bn_{nullptr};
};

struct StageSetting {
  int64_t expand, channels, blocks, stride;
};
// torchvision's inverted_residual_setting (t, c, n, s).
constexpr StageSetting kStages[] = {
    {1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
    {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};

}  // namespace

int64_t MakeDivisible(double v, int64_t divisor) {
  int64_t out = std::max<int64_t>(
      divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

MobileNetV2Impl::MobileNetV2Impl(const BackboneOptions& options)
    : options_(options) {
  options_.type = BackboneType::kMobileNetV2;
  const absl::Status valid = ValidateBackboneOptions(options_);
  TORCH_CHECK(valid.ok(), std::string(valid.message()));
  const double w = options_.width_multiplier;
  const bool dilated = options_.res5_dilation && !options_.res5_as_head;
  features_ = register_module("features", std::make_shared<nn::Module>());
  auto sync_for = [&](size_t index) -> std::shared_ptr<const BatchNormSync> {
    return options_.freeze_stem_and_layer1 && index < kStemLayers ? frozen_sync_
                                                                  : bn_sync_;
  };
  auto add = [&](std::shared_ptr<MobileNetV2LayerImpl> layer) {
    layers_.push_back(features_->register_module(std::to_string(layers_.size()),
                                                 std::move(layer)));
  };
  int64_t in = MakeDivisible(32 * w);
  add(std::make_shared<ConvBnImpl>(3, in, 3, 2, 1, 1, sync_for(0)));
  for (const StageSetting& s : kStages) {
    const int64_t out = MakeDivisible(s.channels * w);
    for (int64_t b = 0; b < s.blocks; ++b) {
      const size_t index = layers_.size();
      if (index >= kTrunkLayers && options_.stages == 3) break;
      int64_t stride = b == 0 ? s.stride : 1;
      int64_t dilation = 1;
      if (index >= kTrunkLayers && dilated) {
        // As torchvision's dilated ResNet: the block that would halve the
        // resolution keeps it, the later ones dilate.
        stride = 1;
        dilation = index == kTrunkLayers ? 1 : 2;
      }
      add(std::make_shared<InvertedResidualImpl>(in, out, stride, s.expand,
                                                 dilation, sync_for(index)));
      in = out;
    }
    if (layers_.size() == kTrunkLayers) trunk_channels_ = in;
  }
  if (options_.stages == 4) {
    tail_channels_ = MakeDivisible(1280 * std::max(1.0, w));
    add(std::make_shared<ConvBnImpl>(in, tail_channels_, 1, 1, 1, 1,
                                     sync_for(layers_.size())));
  }
  if (options_.freeze_stem_and_layer1) {
    for (size_t i = 0; i < kStemLayers; ++i) layers_[i]->Freeze();
  }
  if (options_.freeze_all_bn) {
    for (auto& mod : modules(/*include_self=*/false)) {
      if (auto* bn = mod->as<nn::BatchNorm2d>()) {
        for (auto& p : bn->parameters()) p.set_requires_grad(false);
      }
    }
  }
  if (options_.channels_last) {
    torch::NoGradGuard guard;
    for (auto& p : parameters()) {
      if (p.dim() == 4) {
        p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
      }
    }
  }
  train(true);
}

torch::Tensor MobileNetV2Impl::Run(torch::Tensor x, size_t begin, size_t end) {
  if (options_.channels_last) {
    x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  for (size_t i = begin; i < end; ++i) x = layers_[i]->forward(x);
  return x;
}

torch::Tensor MobileNetV2Impl::Trunk(torch::Tensor x) {
  return Run(std::move(x), 0, kTrunkLayers);
}

torch::Tensor MobileNetV2Impl::Tail(torch::Tensor x) {
  TORCH_CHECK(layers_.size() > kTrunkLayers,
              "MobileNetV2::Tail needs stages = 4");
  return Run(std::move(x), kTrunkLayers, layers_.size());
}

torch::Tensor MobileNetV2Impl::Features(torch::Tensor images) {
  torch::Tensor x = Trunk(std::move(images));
  if (options_.stages == 4 && !options_.res5_as_head) x = Tail(std::move(x));
  return x;
}

int64_t MobileNetV2Impl::feature_channels() const {
  return options_.stages == 4 && !options_.res5_as_head ? tail_channels_
                                                        : trunk_channels_;
}

int64_t MobileNetV2Impl::feature_stride() const {
  const bool tail = options_.stages == 4 && !options_.res5_as_head;
  return tail && !options_.res5_dilation ? 32 : 16;
}

torch::Tensor MobileNetV2Impl::RunHead(torch::Tensor x) {
  TORCH_CHECK(options_.res5_as_head,
              "MobileNetV2::RunHead needs stages = 4 and res5_as_head");
  return Tail(std::move(x));
}

int64_t MobileNetV2Impl::head_channels() const { return tail_channels_; }

void MobileNetV2Impl::SetBatchNormSync(AllReduceSum all_reduce) {
  bn_sync_->Set(std::move(all_reduce));
}

void MobileNetV2Impl::SetEvalBatchStatistics(bool on) {
  bn_sync_->SetEvalBatchStatistics(on && !options_.freeze_all_bn);
}

void MobileNetV2Impl::train(bool on) {
  nn::Module::train(on);
  if (options_.freeze_stem_and_layer1) {
    for (size_t i = 0; i < kStemLayers; ++i) layers_[i]->eval();
  }
  if (options_.freeze_all_bn) {
    for (auto& mod : modules(/*include_self=*/false)) {
      if (auto* bn = mod->as<nn::BatchNorm2d>()) bn->eval();
    }
  }
}

}  // namespace sniper::models
