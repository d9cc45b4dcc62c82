// RoIAlign on the CPU. The bilinear sampling plan of a roi (4 feature-map
// offsets and 4 weights per sample) does not depend on the channel, so it is
// computed once per roi and reused for all C channels: forward parallelizes
// over rois (on NCHW or channels-last maps), backward over channels (each
// channel's gradient plane is written by one thread: no atomics,
// deterministic).
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>
#include <vector>

#include "ops/cpu/kernels.h"

namespace sniper::ops::cpu {
namespace {

// Accumulation type: float32 for float32/float16/bfloat16 (as on CUDA),
// float64 for float64. (ATen's CPU acc_type would promote float to double.)
template <typename scalar_t>
using AccT =
    std::conditional_t<std::is_same_v<scalar_t, double>, double, float>;

template <typename acc_t>
struct Sample {
  int64_t offset[4];  // y * W + x of the 4 neighbours
  acc_t weight[4];    // 0 for samples outside the map
};

// Sampling plan of one roi: pooled_h * pooled_w bins, `count` samples each,
// in bin-major order. Returns false for an invalid roi (no samples).
template <typename acc_t>
bool PlanRoi(const acc_t* roi, int64_t batch, int64_t height, int64_t width,
             const RoIAlignParams& p, std::vector<Sample<acc_t>>* plan,
             int64_t* grid_h, int64_t* grid_w) {
  plan->clear();
  const acc_t b = roi[0];
  if (!std::isfinite(static_cast<double>(b)) || b < 0 || b >= batch) {
    return false;
  }
  for (int k = 1; k < 5; ++k) {
    if (!std::isfinite(static_cast<double>(roi[k]))) return false;
  }
  const acc_t offset = p.aligned ? acc_t(0.5) : acc_t(0);
  const acc_t x1 = roi[1] * p.spatial_scale - offset;
  const acc_t y1 = roi[2] * p.spatial_scale - offset;
  acc_t roi_w = roi[3] * p.spatial_scale - offset - x1;
  acc_t roi_h = roi[4] * p.spatial_scale - offset - y1;
  if (!p.aligned) {
    roi_w = std::max(roi_w, acc_t(1));
    roi_h = std::max(roi_h, acc_t(1));
  }
  const acc_t bin_h = roi_h / p.pooled_height;
  const acc_t bin_w = roi_w / p.pooled_width;
  *grid_h = p.sampling_ratio > 0
                ? p.sampling_ratio
                : static_cast<int64_t>(std::ceil(roi_h / p.pooled_height));
  *grid_w = p.sampling_ratio > 0
                ? p.sampling_ratio
                : static_cast<int64_t>(std::ceil(roi_w / p.pooled_width));
  *grid_h = std::max<int64_t>(*grid_h, 1);
  *grid_w = std::max<int64_t>(*grid_w, 1);
  plan->reserve(p.pooled_height * p.pooled_width * *grid_h * *grid_w);
  for (int64_t ph = 0; ph < p.pooled_height; ++ph) {
    for (int64_t pw = 0; pw < p.pooled_width; ++pw) {
      for (int64_t iy = 0; iy < *grid_h; ++iy) {
        const acc_t y0 = y1 + ph * bin_h + (iy + acc_t(0.5)) * bin_h / *grid_h;
        for (int64_t ix = 0; ix < *grid_w; ++ix) {
          const acc_t x0 =
              x1 + pw * bin_w + (ix + acc_t(0.5)) * bin_w / *grid_w;
          Sample<acc_t> s{};
          acc_t y = y0, x = x0;
          if (y < -1 || y > height || x < -1 || x > width) {
            plan->push_back(s);  // all weights 0
            continue;
          }
          y = std::max(y, acc_t(0));
          x = std::max(x, acc_t(0));
          int64_t yl = static_cast<int64_t>(y), xl = static_cast<int64_t>(x);
          int64_t yh, xh;
          if (yl >= height - 1) {
            yh = yl = height - 1;
            y = static_cast<acc_t>(yl);
          } else {
            yh = yl + 1;
          }
          if (xl >= width - 1) {
            xh = xl = width - 1;
            x = static_cast<acc_t>(xl);
          } else {
            xh = xl + 1;
          }
          const acc_t ly = y - yl, lx = x - xl, hy = 1 - ly, hx = 1 - lx;
          s.offset[0] = yl * width + xl;
          s.offset[1] = yl * width + xh;
          s.offset[2] = yh * width + xl;
          s.offset[3] = yh * width + xh;
          s.weight[0] = hy * hx;
          s.weight[1] = hy * lx;
          s.weight[2] = ly * hx;
          s.weight[3] = ly * lx;
          plan->push_back(s);
        }
      }
    }
  }
  return true;
}

// A roi's plan with each bin's taps merged: samples of a bin often share
// feature-map cells (small rois, sampling 2x2 inside a sub-pixel bin), so
// duplicate offsets are summed and zero weights dropped, and the 1 / count
// average is folded into the weights. Forward and backward then do one
// multiply-add per distinct cell per bin and channel.
template <typename acc_t>
struct MergedPlan {
  std::vector<int64_t> offset;
  std::vector<acc_t> weight;
  std::vector<int64_t> bin_end;  // taps of bin b: [bin_end[b-1], bin_end[b])
  std::vector<std::pair<int64_t, acc_t>> scratch;

  void Build(const std::vector<Sample<acc_t>>& samples, int64_t bins,
             int64_t count) {
    offset.clear();
    weight.clear();
    bin_end.clear();
    const acc_t scale = acc_t(1) / static_cast<acc_t>(count);
    for (int64_t bin = 0; bin < bins; ++bin) {
      scratch.clear();
      for (int64_t q = 0; q < count; ++q) {
        const Sample<acc_t>& s = samples[bin * count + q];
        for (int t = 0; t < 4; ++t) {
          if (s.weight[t] != 0) scratch.emplace_back(s.offset[t], s.weight[t]);
        }
      }
      std::sort(scratch.begin(), scratch.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      for (size_t i = 0; i < scratch.size();) {
        acc_t w = 0;
        const int64_t off = scratch[i].first;
        for (; i < scratch.size() && scratch[i].first == off; ++i) {
          w += scratch[i].second;
        }
        offset.push_back(off);
        weight.push_back(w * scale);
      }
      bin_end.push_back(static_cast<int64_t>(offset.size()));
    }
  }
};

// One roi's outputs o[ch * bins + bin] from its merged plan, on an NCHW
// image (C planes of H x W).
template <typename scalar_t, typename acc_t>
void PoolNchw(const scalar_t* image, int64_t c, int64_t hw, int64_t bins,
              const MergedPlan<acc_t>& plan, scalar_t* o) {
  const int64_t* off = plan.offset.data();
  const acc_t* wt = plan.weight.data();
  for (int64_t ch = 0; ch < c; ++ch) {
    const scalar_t* plane = image + ch * hw;
    int64_t t = 0;
    for (int64_t bin = 0; bin < bins; ++bin) {
      acc_t sum = 0;
      for (const int64_t e = plan.bin_end[bin]; t < e; ++t) {
        sum += wt[t] * static_cast<acc_t>(plane[off[t]]);
      }
      o[ch * bins + bin] = static_cast<scalar_t>(sum);
    }
  }
}

// The same on a channels-last image (H x W cells of C values): a tap's C
// values are contiguous, so each tap is one multiply-add over a row of C
// (vectorized) instead of C scattered reads. Each output sums the same
// taps in the same order as PoolNchw: both layouts give identical outputs.
template <typename scalar_t, typename acc_t>
void PoolChannelsLast(const scalar_t* image, int64_t c, int64_t bins,
                      const MergedPlan<acc_t>& plan, std::vector<acc_t>* sum,
                      scalar_t* o) {
  int64_t t = 0;
  for (int64_t bin = 0; bin < bins; ++bin) {
    std::fill(sum->begin(), sum->end(), acc_t(0));
    acc_t* __restrict__ s = sum->data();
    for (const int64_t e = plan.bin_end[bin]; t < e; ++t) {
      const scalar_t* __restrict__ cell = image + plan.offset[t] * c;
      const acc_t wt = plan.weight[t];
      for (int64_t ch = 0; ch < c; ++ch) {
        s[ch] += wt * static_cast<acc_t>(cell[ch]);
      }
    }
    for (int64_t ch = 0; ch < c; ++ch) {
      o[ch * bins + bin] = static_cast<scalar_t>(s[ch]);
    }
  }
}

// Output [K, C, PH, PW] from an NCHW or (channels_last) NHWC map.
template <typename scalar_t>
void Forward(const at::Tensor& input, const at::Tensor& rois,
             const RoIAlignParams& p, bool channels_last, at::Tensor& output) {
  using acc_t = AccT<scalar_t>;
  const int64_t n = input.size(0), c = input.size(1), h = input.size(2),
                w = input.size(3), k = rois.size(0);
  const at::Tensor rois_acc =
      rois.to(c10::CppTypeToScalarType<acc_t>::value).contiguous();
  const acc_t* r = rois_acc.data_ptr<acc_t>();
  const scalar_t* in = input.data_ptr<scalar_t>();
  scalar_t* out = output.data_ptr<scalar_t>();
  const int64_t bins = p.pooled_height * p.pooled_width;
  at::parallel_for(0, k, 1, [&](int64_t begin, int64_t end) {
    std::vector<Sample<acc_t>> plan;
    MergedPlan<acc_t> merged;
    std::vector<acc_t> sum(channels_last ? c : 0);
    for (int64_t roi = begin; roi < end; ++roi) {
      scalar_t* o = out + roi * c * bins;
      int64_t gh = 1, gw = 1;
      if (!PlanRoi<acc_t>(r + 5 * roi, n, h, w, p, &plan, &gh, &gw)) {
        std::fill(o, o + c * bins, scalar_t(0));
        continue;
      }
      merged.Build(plan, bins, gh * gw);
      const scalar_t* image = in + static_cast<int64_t>(r[5 * roi]) * c * h * w;
      if (channels_last) {
        PoolChannelsLast(image, c, bins, merged, &sum, o);
      } else {
        PoolNchw(image, c, h * w, bins, merged, o);
      }
    }
  });
}

template <typename scalar_t>
void Backward(const at::Tensor& grad_output, const at::Tensor& rois,
              const RoIAlignParams& p, at::Tensor& grad_input_acc) {
  using acc_t = AccT<scalar_t>;
  const int64_t n = grad_input_acc.size(0), c = grad_input_acc.size(1),
                h = grad_input_acc.size(2), w = grad_input_acc.size(3),
                k = rois.size(0);
  const at::Tensor rois_acc =
      rois.to(c10::CppTypeToScalarType<acc_t>::value).contiguous();
  const acc_t* r = rois_acc.data_ptr<acc_t>();
  const scalar_t* go = grad_output.data_ptr<scalar_t>();
  acc_t* gi = grad_input_acc.data_ptr<acc_t>();
  const int64_t bins = p.pooled_height * p.pooled_width;
  // Plans of every roi, computed once (shared by all channels).
  std::vector<MergedPlan<acc_t>> plans(k);
  std::vector<uint8_t> valid(k, 0);
  at::parallel_for(0, k, 1, [&](int64_t begin, int64_t end) {
    std::vector<Sample<acc_t>> samples;
    for (int64_t roi = begin; roi < end; ++roi) {
      int64_t gh = 1, gw = 1;
      if (PlanRoi<acc_t>(r + 5 * roi, n, h, w, p, &samples, &gh, &gw)) {
        plans[roi].Build(samples, bins, gh * gw);
        valid[roi] = 1;
      }
    }
  });
  at::parallel_for(0, c, 1, [&](int64_t begin, int64_t end) {
    for (int64_t ch = begin; ch < end; ++ch) {
      for (int64_t roi = 0; roi < k; ++roi) {
        if (!valid[roi]) continue;
        const int64_t batch = static_cast<int64_t>(r[5 * roi]);
        acc_t* plane = gi + (batch * c + ch) * h * w;
        const scalar_t* g = go + (roi * c + ch) * bins;
        const MergedPlan<acc_t>& plan = plans[roi];
        const int64_t* off = plan.offset.data();
        const acc_t* wt = plan.weight.data();
        int64_t t = 0;
        for (int64_t bin = 0; bin < bins; ++bin) {
          const acc_t gbin = static_cast<acc_t>(g[bin]);
          for (const int64_t e = plan.bin_end[bin]; t < e; ++t) {
            plane[off[t]] += wt[t] * gbin;
          }
        }
      }
    }
  });
}

}  // namespace

at::Tensor RoIAlignForwardKernel(const at::Tensor& input,
                                 const at::Tensor& rois,
                                 const RoIAlignParams& p) {
  at::Tensor output =
      at::empty({rois.size(0), input.size(1), p.pooled_height, p.pooled_width},
                input.options());
  if (output.numel() == 0) return output;
  // Channels-last when the map is stored so (and not also NCHW, as with
  // C == 1 or a 1x1 map, where both layouts are one).
  const bool channels_last =
      !input.is_contiguous() &&
      input.is_contiguous(at::MemoryFormat::ChannelsLast);
  AT_DISPATCH_FLOATING_TYPES_AND2(
      at::kHalf, at::kBFloat16, input.scalar_type(), "RoIAlignForward",
      [&] { Forward<scalar_t>(input, rois, p, channels_last, output); });
  return output;
}

at::Tensor RoIAlignBackwardKernel(const at::Tensor& grad_output,
                                  const at::Tensor& rois,
                                  const RoIAlignParams& p,
                                  at::IntArrayRef input_sizes) {
  const at::ScalarType acc =
      grad_output.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  at::Tensor grad_input =
      at::zeros(input_sizes, grad_output.options().dtype(acc));
  if (grad_output.numel() == 0) return grad_input;
  AT_DISPATCH_FLOATING_TYPES_AND2(
      at::kHalf, at::kBFloat16, grad_output.scalar_type(), "RoIAlignBackward",
      [&] { Backward<scalar_t>(grad_output, rois, p, grad_input); });
  return grad_input;
}

}  // namespace sniper::ops::cpu
