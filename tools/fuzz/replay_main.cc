// The main of every fuzz target when it is built as a test (no libFuzzer):
// runs LLVMFuzzerTestOneInput on each seed of the corpus directories given
// as arguments, then on deterministic mutations of them (bit flips,
// interesting bytes, cuts, duplicated and spliced ranges), so that CI runs
// each target's corpus under ASan + UBSan in seconds. A crash is the
// sanitizer's report and a non-zero exit; a clean run prints one line.
//
//   <target> DIR... [--mutations=N]   (default 300 per seed; env
//   SNIPER_FUZZ_MUTATIONS overrides)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::string Mutate(const std::string& in, const std::string& other,
                   std::mt19937_64& rng) {
  std::string s = in;
  auto pick = [&rng](size_t n) {
    return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n);
  };
  static const char kInteresting[] = {'\0', '\xff', '\x7f', '\x80', '9',
                                      '-',  '"',    '[',    '{',    ',',
                                      'e',  '.',    '\\',   '\n'};
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 6) {
      case 0:  // flip a bit
        if (!s.empty())
          s[pick(s.size())] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 1:  // an interesting byte
        if (!s.empty()) {
          s[pick(s.size())] = kInteresting[pick(sizeof(kInteresting))];
        }
        break;
      case 2: {  // cut a range
        const size_t at = pick(s.size() + 1);
        s.erase(at, pick(s.size() - at + 1));
        break;
      }
      case 3: {  // duplicate a range
        const size_t at = pick(s.size() + 1);
        const std::string piece = s.substr(at, pick(64));
        s.insert(pick(s.size() + 1), piece);
        break;
      }
      case 4: {  // splice from another seed
        const size_t at = pick(other.size() + 1);
        s.insert(pick(s.size() + 1), other.substr(at, pick(128)));
        break;
      }
      default:  // truncate
        s.resize(pick(s.size() + 1));
        break;
    }
  }
  return s;
}

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                         input.size());
}

}  // namespace

int main(int argc, char** argv) {
  long mutations = 300;
  if (const char* env = std::getenv("SNIPER_FUZZ_MUTATIONS")) {
    mutations = std::strtol(env, nullptr, 10);
  }
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--mutations=", 12) == 0) {
      mutations = std::strtol(argv[i] + 12, nullptr, 10);
      continue;
    }
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(argv[i])) {
      for (const auto& e : std::filesystem::directory_iterator(argv[i])) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else {
      files.push_back(argv[i]);
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      seeds.emplace_back(std::istreambuf_iterator<char>(in),
                         std::istreambuf_iterator<char>());
    }
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "error: no seed files in the given corpus\n");
    return 1;
  }
  std::mt19937_64 rng(20261201);
  long runs = 0;
  for (const std::string& seed : seeds) {
    Run(seed);
    ++runs;
  }
  for (size_t i = 0; i < seeds.size(); ++i) {
    for (long m = 0; m < mutations; ++m) {
      Run(Mutate(seeds[i], seeds[rng() % seeds.size()], rng));
      ++runs;
    }
  }
  std::printf("%zu seeds, %ld executions, no crash\n", seeds.size(), runs);
  return 0;
}
