// libFuzzer target: YOLO's text inputs, label files (data/yolo_dataset.h)
// and class-name lists, data.yaml and obj.names (data/class_names.h).
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "data/class_names.h"
#include "data/yolo_dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto labels = sniper::data::ParseYoloLabels(bytes, "fuzz.txt", 80);
  if (labels.ok()) {
    double sum = 0;
    for (const sniper::data::YoloLabel& l : *labels) sum += l.w * l.h;
    (void)sum;
  }
  (void)sniper::data::ParseYamlClassNames(bytes, "fuzz.yaml");
  (void)sniper::data::ParseLineClassNames(bytes, "fuzz.names");
  return 0;
}
