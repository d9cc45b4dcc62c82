// libFuzzer target: the COCO instances reader (data/coco_dataset.h) on
// arbitrary bytes. Any input must end in a dataset or an error, never a
// crash, a sanitizer report or an unbounded allocation.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "data/coco_dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  auto ds = sniper::data::ParseCocoInstances(json, "fuzz.json", {});
  if (ds.ok()) {
    // Touch what the sampler reads.
    size_t boxes = 0;
    for (size_t i = 0; i < ds->num_images(); ++i) {
      boxes += ds->boxes_of(i).size() + ds->labels_of(i).size();
    }
    (void)boxes;
  }
  return 0;
}
