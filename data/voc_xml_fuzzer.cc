// libFuzzer target: the Pascal VOC annotation parser (data/voc_dataset.h).
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "data/voc_dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto a = sniper::data::ParseVocXml(bytes, "fuzz.xml");
  if (a.ok()) {
    double sum = 0;
    for (const sniper::data::VocObject& o : a->objects) {
      sum += o.xmax - o.xmin + static_cast<double>(o.name.size());
    }
    (void)sum;
  }
  return 0;
}
