// libFuzzer target: the proposals file reader (data/proposals.h).
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "data/proposals.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto set = sniper::data::ParseProposals(bytes, "fuzz.bin");
  if (set.ok()) {
    size_t n = 0;
    for (int64_t id : set->image_ids()) {
      for (int s = 0; s < set->num_scales(); ++s) n += set->Get(id, s).size();
    }
    (void)n;
  }
  return 0;
}
