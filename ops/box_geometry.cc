// Anchors and the box coder: ATen tensor expressions (device-agnostic), with
// the input checks of ops/.
#include <cmath>

#include "ops/anchors.h"
#include "ops/box_coder.h"
#include "ops/box_iou.h"

namespace sniper::ops {
namespace {

void CheckAnchorOptions(const AnchorOptions& a) {
  TORCH_CHECK(a.stride > 0, "AnchorOptions.stride must be > 0, got ", a.stride);
  TORCH_CHECK(!a.ratios.empty() && !a.scales.empty(),
              "AnchorOptions needs at least one ratio and one scale, got ",
              a.ratios.size(), " ratios and ", a.scales.size(), " scales");
  for (double r : a.ratios) {
    TORCH_CHECK(std::isfinite(r) && r > 0, "AnchorOptions.ratios: ", r,
                " is not a positive finite number");
  }
  for (double s : a.scales) {
    TORCH_CHECK(std::isfinite(s) && s > 0, "AnchorOptions.scales: ", s,
                " is not a positive finite number");
  }
}

void CheckPositiveSize(const at::Tensor& boxes, const char* op,
                       const char* name) {
  if (!boxes.is_cpu() || boxes.numel() == 0) return;  // no device sync
  const at::Tensor w = boxes.select(1, 2) - boxes.select(1, 0);
  const at::Tensor h = boxes.select(1, 3) - boxes.select(1, 1);
  TORCH_CHECK(((w > 0) & (h > 0)).all().item<bool>(), op, ": ", name,
              " has boxes of zero or negative width or height");
}

}  // namespace

at::Tensor BaseAnchors(const AnchorOptions& anchors,
                       const at::TensorOptions& options) {
  CheckAnchorOptions(anchors);
  std::vector<double> values;
  values.reserve(anchors.num_anchors() * 4);
  for (double r : anchors.ratios) {
    for (double s : anchors.scales) {
      const double size = s * anchors.stride;
      const double w = size / std::sqrt(r), h = size * std::sqrt(r);
      values.insert(values.end(), {-w / 2, -h / 2, w / 2, h / 2});
    }
  }
  return at::tensor(values, at::kDouble)
      .view({anchors.num_anchors(), 4})
      .to(options);
}

at::Tensor GridAnchors(const AnchorOptions& anchors, int64_t height,
                       int64_t width, const at::TensorOptions& options) {
  TORCH_CHECK(height >= 0 && width >= 0,
              "GridAnchors: feature map size must be >= 0, got ", height, "x",
              width);
  const at::Tensor base = BaseAnchors(anchors, options);
  const double stride = static_cast<double>(anchors.stride);
  const at::Tensor xs = (at::arange(width, options) + 0.5) * stride;
  const at::Tensor ys = (at::arange(height, options) + 0.5) * stride;
  const std::vector<at::Tensor> grid = at::meshgrid({ys, xs}, "ij");
  const at::Tensor cy = grid[0].reshape({-1});
  const at::Tensor cx = grid[1].reshape({-1});
  const at::Tensor shifts = at::stack({cx, cy, cx, cy}, 1);  // [H*W, 4]
  return (shifts.unsqueeze(1) + base.unsqueeze(0)).reshape({-1, 4});
}

at::Tensor EncodeBoxes(const at::Tensor& reference, const at::Tensor& targets,
                       const BoxCoderOptions& o) {
  detail::CheckBoxes(reference, "EncodeBoxes", "reference");
  detail::CheckBoxes(targets, "EncodeBoxes", "targets");
  TORCH_CHECK(reference.sizes() == targets.sizes(),
              "EncodeBoxes: reference is ", reference.sizes(),
              " but targets is ", targets.sizes());
  TORCH_CHECK(reference.device() == targets.device() &&
                  reference.scalar_type() == targets.scalar_type(),
              "EncodeBoxes: reference (", reference.scalar_type(), ", ",
              reference.device(), ") and targets (", targets.scalar_type(),
              ", ", targets.device(), ") differ");
  CheckPositiveSize(reference, "EncodeBoxes", "reference");
  CheckPositiveSize(targets, "EncodeBoxes", "targets");
  const at::Tensor pw = reference.select(1, 2) - reference.select(1, 0);
  const at::Tensor ph = reference.select(1, 3) - reference.select(1, 1);
  const at::Tensor px = reference.select(1, 0) + 0.5 * pw;
  const at::Tensor py = reference.select(1, 1) + 0.5 * ph;
  const at::Tensor gw = targets.select(1, 2) - targets.select(1, 0);
  const at::Tensor gh = targets.select(1, 3) - targets.select(1, 1);
  const at::Tensor gx = targets.select(1, 0) + 0.5 * gw;
  const at::Tensor gy = targets.select(1, 1) + 0.5 * gh;
  return at::stack({o.wx * (gx - px) / pw, o.wy * (gy - py) / ph,
                    o.ww * at::log(gw / pw), o.wh * at::log(gh / ph)},
                   1);
}

at::Tensor DecodeBoxes(const at::Tensor& deltas, const at::Tensor& reference,
                       const BoxCoderOptions& o) {
  detail::CheckBoxes(reference, "DecodeBoxes", "reference");
  TORCH_CHECK(deltas.dim() == 2 && deltas.size(0) == reference.size(0) &&
                  deltas.size(1) % 4 == 0 && deltas.size(1) > 0,
              "DecodeBoxes: deltas must have shape [", reference.size(0),
              ", 4 * K], got ", deltas.sizes());
  TORCH_CHECK(deltas.device() == reference.device() &&
                  deltas.scalar_type() == reference.scalar_type(),
              "DecodeBoxes: deltas (", deltas.scalar_type(), ", ",
              deltas.device(), ") and reference (", reference.scalar_type(),
              ", ", reference.device(), ") differ");
  const int64_t n = deltas.size(0), k = deltas.size(1) / 4;
  const at::Tensor d = deltas.reshape({n, k, 4});
  const at::Tensor pw =
      (reference.select(1, 2) - reference.select(1, 0)).unsqueeze(1);
  const at::Tensor ph =
      (reference.select(1, 3) - reference.select(1, 1)).unsqueeze(1);
  const at::Tensor px = reference.select(1, 0).unsqueeze(1) + 0.5 * pw;
  const at::Tensor py = reference.select(1, 1).unsqueeze(1) + 0.5 * ph;
  const at::Tensor cx = d.select(2, 0) / o.wx * pw + px;
  const at::Tensor cy = d.select(2, 1) / o.wy * ph + py;
  const at::Tensor w = at::exp((d.select(2, 2) / o.ww).clamp_max(o.clamp)) * pw;
  const at::Tensor h = at::exp((d.select(2, 3) / o.wh).clamp_max(o.clamp)) * ph;
  return at::stack({cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h}, 2)
      .view({n, 4 * k});
}

at::Tensor ClipBoxes(const at::Tensor& boxes, double height, double width) {
  TORCH_CHECK(boxes.dim() == 2 && boxes.size(1) % 4 == 0,
              "ClipBoxes: boxes must have shape [N, 4 * K], got ",
              boxes.sizes());
  TORCH_CHECK(height >= 0 && width >= 0, "ClipBoxes: size must be >= 0, got ",
              height, "x", width);
  const int64_t n = boxes.size(0), k = boxes.size(1) / 4;
  const at::Tensor b = boxes.reshape({n, k, 4});
  return at::stack(
             {b.select(2, 0).clamp(0, width), b.select(2, 1).clamp(0, height),
              b.select(2, 2).clamp(0, width), b.select(2, 3).clamp(0, height)},
             2)
      .view({n, 4 * k});
}

}  // namespace sniper::ops
