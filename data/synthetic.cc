#include "data/synthetic.h"

#include <turbojpeg.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/chip_sampler.h"
#include "masks/rle.h"
#include "port/json_writer.h"
#include "port/proto_io.h"

namespace sniper::data {

const char* const kSyntheticClassNames[5] = {"disc", "square", "triangle",
                                             "ring", "stripes"};

namespace {

struct Rgb {
  float r, g, b;
};

// RGB pixels, and which object each pixel shows (-1: background or
// clutter): the objects' visible masks, exact under occlusion.
class Canvas {
 public:
  Canvas(int32_t w, int32_t h)
      : w_(w),
        h_(h),
        px_(static_cast<size_t>(w) * h * 3),
        owner_(static_cast<size_t>(w) * h, -1) {}
  int32_t width() const { return w_; }
  int32_t height() const { return h_; }
  uint8_t* data() { return px_.data(); }
  void Set(int32_t x, int32_t y, Rgb c, int16_t owner = -1) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    const size_t i = static_cast<size_t>(y) * w_ + x;
    uint8_t* p = &px_[i * 3];
    p[0] = Clamp(c.r);
    p[1] = Clamp(c.g);
    p[2] = Clamp(c.b);
    owner_[i] = owner;
  }
  // The pixels object `index` shows, as a mask of the whole image; only
  // the box [x, y, w, h] (clipped) is scanned.
  masks::Rle VisibleMask(int16_t index, double x, double y, double w,
                         double h) const {
    const int32_t x0 = std::clamp(static_cast<int32_t>(std::floor(x)), 0, w_);
    const int32_t y0 = std::clamp(static_cast<int32_t>(std::floor(y)), 0, h_);
    const int32_t x1 =
        std::clamp(static_cast<int32_t>(std::ceil(x + w)), x0, w_);
    const int32_t y1 =
        std::clamp(static_cast<int32_t>(std::ceil(y + h)), y0, h_);
    std::vector<uint8_t> crop(static_cast<size_t>(x1 - x0) * (y1 - y0));
    for (int32_t py = y0; py < y1; ++py) {
      for (int32_t px = x0; px < x1; ++px) {
        crop[static_cast<size_t>(py - y0) * (x1 - x0) + (px - x0)] =
            owner_[static_cast<size_t>(py) * w_ + px] == index;
      }
    }
    return masks::EncodeCropRowMajor(crop, x0, y0, x1 - x0, y1 - y0, h_, w_);
  }

 private:
  static uint8_t Clamp(float v) {
    return static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f));
  }
  int32_t w_, h_;
  std::vector<uint8_t> px_;
  std::vector<int16_t> owner_;
};

// Random numbers: SplitMix64 (the sampler's) with float helpers.
struct Rng {
  SplitMix64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  double U() { return (g.Next() >> 11) * (1.0 / 9007199254740992.0); }
  double U(double lo, double hi) { return lo + (hi - lo) * U(); }
  int64_t I(int64_t n) { return static_cast<int64_t>(g.Below(n)); }
};

void Background(Canvas* c, Rng& rng) {
  const Rgb a{static_cast<float>(rng.U(40, 200)),
              static_cast<float>(rng.U(40, 200)),
              static_cast<float>(rng.U(40, 200))};
  const Rgb b{static_cast<float>(rng.U(40, 200)),
              static_cast<float>(rng.U(40, 200)),
              static_cast<float>(rng.U(40, 200))};
  const double fx = rng.U(0.005, 0.05), fy = rng.U(0.005, 0.05);
  const double px = rng.U(0, 6.28), py = rng.U(0, 6.28);
  const double amp = rng.U(5, 25);
  const double angle = rng.U(0, 3.14159);
  const double ca = std::cos(angle), sa = std::sin(angle);
  const int32_t w = c->width(), h = c->height();
  uint64_t noise = rng.g.Next();
  for (int32_t y = 0; y < h; ++y) {
    for (int32_t x = 0; x < w; ++x) {
      const double t = ((x * ca + y * sa) / (w + h)) + 0.5;
      const double tex = amp * std::sin(x * fx + px) * std::sin(y * fy + py);
      noise = noise * 6364136223846793005ull + 1442695040888963407ull;
      const float n = static_cast<float>((noise >> 59) & 15) - 7.5f;  // +-7.5
      c->Set(x, y,
             {static_cast<float>(a.r + (b.r - a.r) * t + tex) + n,
              static_cast<float>(a.g + (b.g - a.g) * t + tex) + n,
              static_cast<float>(a.b + (b.b - a.b) * t - tex) + n});
    }
  }
}

Rgb ClassColour(int cls, Rng& rng) {
  // Distinct hue families per class, jittered.
  static const Rgb kBase[5] = {{220, 40, 40},     // disc: red
                               {40, 90, 230},     // square: blue
                               {240, 200, 30},    // triangle: yellow
                               {40, 200, 70},     // ring: green
                               {230, 230, 230}};  // stripes: white/black
  const float j = static_cast<float>(rng.U(-25, 25));
  return {kBase[cls].r + j, kBase[cls].g + j, kBase[cls].b + j};
}

// Draws object `index` of class `cls` filling box (x, y, w, h).
void DrawObject(Canvas* c, int16_t index, int cls, double x, double y, double w,
                double h, Rng& rng) {
  const Rgb col = ClassColour(cls, rng);
  const Rgb dark{col.r * 0.35f, col.g * 0.35f, col.b * 0.35f};
  const int32_t x0 = static_cast<int32_t>(std::floor(x));
  const int32_t y0 = static_cast<int32_t>(std::floor(y));
  const int32_t x1 = static_cast<int32_t>(std::ceil(x + w));
  const int32_t y1 = static_cast<int32_t>(std::ceil(y + h));
  const double cx = x + w / 2, cy = y + h / 2;
  const double border = std::max(1.0, std::min(w, h) * 0.12);
  const double period = std::max(2.0, std::min(w, h) / 5);
  for (int32_t py = y0; py < y1; ++py) {
    for (int32_t px = x0; px < x1; ++px) {
      const double u = (px + 0.5 - cx) / (w / 2), v = (py + 0.5 - cy) / (h / 2);
      bool inside = false;
      Rgb out = col;
      switch (cls) {
        case 0:  // disc (ellipse)
          inside = u * u + v * v <= 1.0;
          break;
        case 1:  // square with dark border
          inside = std::abs(u) <= 1 && std::abs(v) <= 1;
          if (px + 0.5 - x < border || x + w - px - 0.5 < border ||
              py + 0.5 - y < border || y + h - py - 0.5 < border) {
            out = dark;
          }
          break;
        case 2:  // triangle, apex up
          inside = v >= -1 && v <= 1 && std::abs(u) <= (v + 1) / 2;
          break;
        case 3: {  // ring
          const double r = u * u + v * v;
          inside = r <= 1.0 && r >= 0.36;
          break;
        }
        case 4:  // striped bar
          inside = std::abs(u) <= 1 && std::abs(v) <= 1;
          if (static_cast<int64_t>(std::floor((px - x) / period)) % 2)
            out = dark;
          break;
      }
      if (inside) c->Set(px, py, out, index);
    }
  }
}

// Clutter: object-like marks that are not objects.
void DrawClutter(Canvas* c, Rng& rng) {
  const int kind = static_cast<int>(rng.I(3));
  const double size =
      std::exp(rng.U(std::log(10.0), std::log(0.3 * c->width())));
  const double x = rng.U(0, c->width() - size),
               y = rng.U(0, c->height() - size);
  const Rgb col = ClassColour(static_cast<int>(rng.I(5)), rng);
  const int32_t t = std::max(1, static_cast<int32_t>(size * 0.05));
  if (kind == 0) {  // outlined box
    for (int32_t k = 0; k < static_cast<int32_t>(size); ++k) {
      for (int32_t d = 0; d < t; ++d) {
        c->Set(static_cast<int32_t>(x) + k, static_cast<int32_t>(y) + d, col);
        c->Set(static_cast<int32_t>(x) + k, static_cast<int32_t>(y + size) - d,
               col);
        c->Set(static_cast<int32_t>(x) + d, static_cast<int32_t>(y) + k, col);
        c->Set(static_cast<int32_t>(x + size) - d, static_cast<int32_t>(y) + k,
               col);
      }
    }
  } else if (kind == 1) {  // crossed lines
    for (int32_t k = 0; k < static_cast<int32_t>(size); ++k) {
      for (int32_t d = 0; d < t; ++d) {
        c->Set(static_cast<int32_t>(x) + k + d, static_cast<int32_t>(y) + k,
               col);
        c->Set(static_cast<int32_t>(x + size) - k + d,
               static_cast<int32_t>(y) + k, col);
      }
    }
  } else {  // blotch: random overlapping small dots
    const int dots = 5 + static_cast<int>(rng.I(10));
    for (int i = 0; i < dots; ++i) {
      const double r = rng.U(0.05, 0.2) * size;
      const double dx = x + rng.U(0, size), dy = y + rng.U(0, size);
      for (int32_t py = static_cast<int32_t>(dy - r); py <= dy + r; ++py) {
        for (int32_t px = static_cast<int32_t>(dx - r); px <= dx + r; ++px) {
          if ((px - dx) * (px - dx) + (py - dy) * (py - dy) <= r * r) {
            c->Set(px, py, col);
          }
        }
      }
    }
  }
}

struct Ann {
  int64_t id;
  int64_t image_id;
  int cls;
  double x, y, w, h;
  masks::Rle mask;  // what the image shows of it
};

absl::Status WriteSplit(const std::string& out_dir, const std::string& split,
                        int32_t count, int64_t first_id,
                        const SyntheticOptions& o, SyntheticSplitStats* stats) {
  tjhandle tj = tjInitCompress();
  if (tj == nullptr) return absl::InternalError("tjInitCompress failed");
  std::unique_ptr<void, int (*)(tjhandle)> guard(tj, tjDestroy);
  struct ImageRecord {
    int64_t id;
    int32_t width, height;
    std::string file;
  };
  std::vector<ImageRecord> images;
  std::vector<Ann> anns;
  int64_t next_ann = first_id * 1000;
  for (int32_t i = 0; i < count; ++i) {
    const int64_t image_id = first_id + i;
    Rng rng(o.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(image_id));
    const int32_t w = static_cast<int32_t>(rng.U(o.min_side, o.max_side + 1));
    const int32_t h = static_cast<int32_t>(rng.U(o.min_side, o.max_side + 1));
    Canvas canvas(w, h);
    Background(&canvas, rng);
    const int clutter = static_cast<int>(rng.I(6));
    for (int k = 0; k < clutter; ++k) DrawClutter(&canvas, rng);
    // Objects: none in ~5% of images; otherwise ~7 on average, sometimes a
    // crowded group of small ones.
    std::vector<Ann> objs;
    double max_size = 0.6 * std::min(w, h);
    if (o.max_object_side > 0) max_size = std::min(max_size, o.max_object_side);
    if (rng.U() >= 0.05) {
      const int n = 1 + static_cast<int>(rng.I(12));
      for (int k = 0; k < n; ++k) {
        const double s =
            std::exp(rng.U(std::log(o.min_object_side), std::log(max_size)));
        const double ar = std::exp(rng.U(-0.5, 0.5));
        const double ow = std::min(s * ar, w - 1.0),
                     oh = std::min(s / ar, h - 1.0);
        objs.push_back({0,
                        image_id,
                        static_cast<int>(rng.I(5)),
                        rng.U(0, w - ow),
                        rng.U(0, h - oh),
                        ow,
                        oh,
                        {}});
      }
      if (rng.U() < 0.2) {  // crowded group of small and medium objects
        // 8 to 48 px with the default options, scaled with min_object_side
        // and capped like the others.
        const double group_min = 8.0 * (o.min_object_side / 14.0);
        const double group_max = std::max(std::min(48.0, max_size), group_min);
        const double gx = rng.U(0, w), gy = rng.U(0, h);
        const int n2 = 4 + static_cast<int>(rng.I(7));
        for (int k = 0; k < n2; ++k) {
          const double s =
              std::exp(rng.U(std::log(group_min), std::log(group_max)));
          const double x = std::clamp(gx + rng.U(-60, 60), 0.0, w - s);
          const double y = std::clamp(gy + rng.U(-60, 60), 0.0, h - s);
          objs.push_back(
              {0, image_id, static_cast<int>(rng.I(5)), x, y, s, s, {}});
        }
      }
    }
    for (size_t k = 0; k < objs.size(); ++k) {
      const Ann& a = objs[k];
      DrawObject(&canvas, static_cast<int16_t>(k), a.cls, a.x, a.y, a.w, a.h,
                 rng);
    }
    for (size_t k = 0; k < objs.size(); ++k) {
      Ann& a = objs[k];
      a.mask = canvas.VisibleMask(static_cast<int16_t>(k), a.x, a.y, a.w, a.h);
      if (masks::Area(a.mask) == 0) stats->hidden++;
      a.id = next_ann++;
      const double size = std::sqrt(a.w * a.h);
      (size < 32 ? stats->small : size < 96 ? stats->medium : stats->large)++;
      anns.push_back(std::move(a));
    }
    stats->images++;
    stats->boxes += static_cast<int64_t>(objs.size());
    stats->max_boxes = std::max<int64_t>(stats->max_boxes, objs.size());
    if (objs.empty()) stats->empty_images++;
    unsigned char* buf = nullptr;
    unsigned long size = 0;
    if (tjCompress2(tj, canvas.data(), w, 0, h, TJPF_RGB, &buf, &size,
                    TJSAMP_420, o.jpeg_quality, 0) != 0) {
      return absl::InternalError(
          absl::StrCat("JPEG encoding failed: ", tjGetErrorStr2(tj)));
    }
    const std::string file = absl::StrFormat("%s_%06d.jpg", split, image_id);
    const absl::Status s = WriteFileAtomically(
        out_dir + "/images/" + file,
        absl::string_view(reinterpret_cast<char*>(buf), size));
    tjFree(buf);
    if (!s.ok()) return s;
    stats->bytes += static_cast<int64_t>(size);
    images.push_back({image_id, w, h, file});
  }
  // One image, annotation or category per line; boxes with 2 decimals.
  JsonWriter json(/*break_depth=*/2);
  json.BeginObject();
  json.Key("info").BeginObject();
  json.Key("description")
      .String(absl::StrCat("sniper-cpp synthetic multi-scale shapes, seed ",
                           o.seed));
  json.EndObject();
  json.Key("images").BeginArray();
  for (const ImageRecord& im : images) {
    json.BeginObject();
    json.Key("id").Int(im.id).Key("width").Int(im.width);
    json.Key("height").Int(im.height).Key("file_name").String(im.file);
    json.EndObject();
  }
  json.EndArray();
  json.Key("annotations").BeginArray();
  for (const Ann& a : anns) {
    json.BeginObject();
    json.Key("id").Int(a.id).Key("image_id").Int(a.image_id);
    json.Key("category_id").Int(a.cls + 1);
    json.Key("bbox").BeginArray();
    for (double v : {a.x, a.y, a.w, a.h}) json.Fixed(v, 2);
    json.EndArray();
    // COCO's area is the segment's: the visible pixels.
    json.Key("area").Int(static_cast<int64_t>(masks::Area(a.mask)));
    json.Key("iscrowd").Int(0);
    json.Key("segmentation").BeginObject();
    json.Key("size").BeginArray().Int(a.mask.height).Int(a.mask.width);
    json.EndArray();
    json.Key("counts").String(masks::ToCompressedString(a.mask));
    json.EndObject();
    json.EndObject();
  }
  json.EndArray();
  json.Key("categories").BeginArray();
  for (int c = 0; c < 5; ++c) {
    json.BeginObject();
    json.Key("id").Int(c + 1).Key("name").String(kSyntheticClassNames[c]);
    json.Key("supercategory").String("shape");
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return WriteFileAtomically(
      absl::StrCat(out_dir, "/instances_", split, ".json"), json.Finish());
}

}  // namespace

absl::Status WriteSyntheticDataset(const std::string& out_dir,
                                   const SyntheticOptions& o,
                                   SyntheticSplitStats* train,
                                   SyntheticSplitStats* val) {
  if (o.train_images < 0 || o.val_images < 0 || o.min_side < 16 ||
      o.max_side < o.min_side || o.jpeg_quality < 1 || o.jpeg_quality > 100) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SyntheticOptions: need train/val >= 0, 16 <= min_side <= max_side, "
        "quality in [1, 100]; got ",
        o.train_images, "/", o.val_images, ", ", o.min_side, "..", o.max_side,
        ", q", o.jpeg_quality));
  }
  const double cap = o.max_object_side > 0
                         ? std::min(o.max_object_side, 0.6 * o.min_side)
                         : 0.6 * o.min_side;
  if (!(o.min_object_side >= 2) || !(o.min_object_side < cap)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SyntheticOptions: need 2 <= min_object_side < min(max_object_side, "
        "0.6 x min_side) = ",
        cap, "; got ", o.min_object_side));
  }
  // The directory and its parents (a fresh cache root may not exist yet).
  std::error_code ec;
  std::filesystem::create_directories(out_dir + "/images", ec);
  if (ec) {
    return absl::PermissionDeniedError(absl::StrCat(
        out_dir, "/images: cannot create directory: ", ec.message()));
  }
  *train = {};
  *val = {};
  absl::Status s = WriteSplit(out_dir, "train", o.train_images, 1, o, train);
  if (!s.ok()) return s;
  s = WriteSplit(out_dir, "val", o.val_images, 1000000, o, val);
  if (!s.ok()) return s;
  return WriteFileAtomically(out_dir + "/FORMAT",
                             absl::StrCat(kSyntheticFormatVersion, "\n"));
}

bool SyntheticDatasetIsCurrent(const std::string& out_dir) {
  std::ifstream format(out_dir + "/FORMAT");
  int version = 0;
  if (!(format >> version) || version != kSyntheticFormatVersion) return false;
  for (const char* split : {"train", "val"}) {
    if (access(absl::StrCat(out_dir, "/instances_", split, ".json").c_str(),
               R_OK) != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace sniper::data
