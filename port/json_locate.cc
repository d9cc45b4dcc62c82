#include "port/json_locate.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace sniper {
namespace {

// One open container: an array counts its elements, an object remembers
// the key of the value being read.
struct Frame {
  bool array = false;
  int64_t index = 0;
  std::string key;
};

std::string PathOf(const std::vector<Frame>& stack) {
  std::string path;
  for (const Frame& f : stack) {
    if (f.array) {
      absl::StrAppend(&path, "[", f.index, "]");
    } else {
      absl::StrAppend(&path, path.empty() ? "" : ".", f.key);
    }
  }
  return path.empty() ? "$" : path;
}

bool OutOfRange(absl::string_view token) {
  const bool integer = token.find_first_of(".eE") == absl::string_view::npos;
  const std::string t(token);
  errno = 0;
  if (integer) {
    if (t[0] == '-') {
      (void)std::strtoll(t.c_str(), nullptr, 10);
    } else {
      (void)std::strtoull(t.c_str(), nullptr, 10);
    }
    return errno == ERANGE;
  }
  const double v = std::strtod(t.c_str(), nullptr);
  return errno == ERANGE && std::isinf(v);
}

}  // namespace

std::optional<std::string> FindOutOfRangeNumber(absl::string_view json) {
  std::vector<Frame> stack;
  bool expect_key = false;  // inside an object, before a key
  int64_t line = 1;
  size_t i = 0;
  while (i < json.size()) {
    const char c = json[i];
    if (c == '\n') ++line;
    if (c == '{' || c == '[') {
      Frame frame;
      frame.array = c == '[';
      stack.push_back(std::move(frame));
      expect_key = c == '{';
      ++i;
    } else if (c == '}' || c == ']') {
      if (stack.empty()) return std::nullopt;
      stack.pop_back();
      expect_key = false;
      ++i;
    } else if (c == ',') {
      if (stack.empty()) return std::nullopt;
      if (stack.back().array) {
        ++stack.back().index;
      } else {
        expect_key = true;
      }
      ++i;
    } else if (c == '"') {
      std::string text;
      ++i;
      while (i < json.size() && json[i] != '"') {
        if (json[i] == '\\' && i + 1 < json.size()) ++i;
        if (json[i] == '\n') ++line;
        text.push_back(json[i++]);
      }
      if (i >= json.size()) return std::nullopt;
      ++i;  // closing quote
      if (expect_key && !stack.empty() && !stack.back().array) {
        stack.back().key = std::move(text);
        expect_key = false;
      }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const size_t start = i;
      while (i < json.size() &&
             absl::string_view("+-.eE0123456789").find(json[i]) !=
                 absl::string_view::npos) {
        ++i;
      }
      const absl::string_view token = json.substr(start, i - start);
      if (OutOfRange(token)) {
        return absl::StrCat(PathOf(stack), " (line ", line, "): ", token);
      }
    } else {
      ++i;  // whitespace, ':', literals
    }
  }
  return std::nullopt;
}

}  // namespace sniper
