// libFuzzer target: the one image reader (data/image_decode.h), whole, by
// region at a reduced scale and its header alone, with a declared-size
// limit low enough for a fuzzer's memory.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "data/image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  sniper::data::DecodeRequest whole;
  whole.reduce = false;
  whole.max_pixels = 1 << 22;
  (void)sniper::data::DecodeImageRegion(bytes, "fuzz", whole);
  sniper::data::DecodeRequest region;
  region.scale = 0.3;
  region.x0 = 3;
  region.y0 = 5;
  region.x1 = 40;
  region.y1 = 33;
  region.max_pixels = 1 << 22;
  (void)sniper::data::DecodeImageRegion(bytes, "fuzz", region);
  // The header-only size reader (YOLO and size-less VOC images).
  (void)sniper::data::ReadImageSize(bytes, "fuzz", 1 << 22);
  return 0;
}
