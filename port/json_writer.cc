#include "port/json_writer.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sniper {
namespace {

[[noreturn]] void Misuse(const char* what) {
  std::fprintf(stderr, "JsonWriter misuse: %s\n", what);
  std::abort();
}

// The length of the valid UTF-8 sequence at s[i] (1-4), or 0 when the
// bytes there are not one (overlong forms, surrogates and code points past
// U+10FFFF are invalid).
int Utf8Length(absl::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  int n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (int k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

}  // namespace

std::string JsonQuote(absl::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else if (c < 0x80) {
          out += static_cast<char>(c);
        } else if (const int n = Utf8Length(s, i); n > 0) {
          out.append(s.data() + i, n);
          i += n;
          continue;
        } else {
          out += "\\ufffd";  // not UTF-8
        }
    }
    ++i;
  }
  out += '"';
  return out;
}

bool JsonWriter::Breaks() const {
  return levels_.size() <= static_cast<size_t>(break_depth_);
}

void JsonWriter::Break() {
  out_ += '\n';
  out_.append(2 * levels_.size(), ' ');
}

void JsonWriter::Separate(bool first) {
  if (!first) out_ += ',';
  if (Breaks()) {
    Break();
  } else if (!first) {
    out_ += ' ';
  }
}

void JsonWriter::BeforeKey() {
  if (levels_.empty() || !levels_.back().object) {
    Misuse("Key outside an object");
  }
  Level& l = levels_.back();
  if (l.key_pending) Misuse("two keys in a row");
  Separate(l.empty);
  l.empty = false;
  l.key_pending = true;
}

void JsonWriter::BeforeValue() {
  if (levels_.empty()) {
    if (done_) Misuse("a second top-level value");
    done_ = true;  // complete once its containers, if any, are closed
    return;
  }
  Level& l = levels_.back();
  if (l.object) {
    if (!l.key_pending) Misuse("a value in an object without a key");
    l.key_pending = false;
    return;
  }
  Separate(l.empty);
  l.empty = false;
}

JsonWriter& JsonWriter::Key(absl::string_view key) {
  BeforeKey();
  out_ += JsonQuote(key);
  out_ += ": ";
  return *this;
}

JsonWriter& JsonWriter::BeginObject() {
  BeforeValue();
  out_ += '{';
  levels_.push_back({/*object=*/true});
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  BeforeValue();
  out_ += '[';
  levels_.push_back({/*object=*/false});
  return *this;
}

void JsonWriter::End(bool object) {
  if (levels_.empty() || levels_.back().object != object) {
    Misuse(object ? "EndObject without an open object"
                  : "EndArray without an open array");
  }
  if (levels_.back().key_pending) Misuse("a key without a value");
  const bool empty = levels_.back().empty;
  levels_.pop_back();
  if (!empty && levels_.size() < static_cast<size_t>(break_depth_)) Break();
  out_ += object ? '}' : ']';
}

JsonWriter& JsonWriter::EndObject() {
  End(true);
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  End(false);
  return *this;
}

JsonWriter& JsonWriter::String(absl::string_view value) {
  BeforeValue();
  out_ += JsonQuote(value);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  BeforeValue();
  absl::StrAppend(&out_, value);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::Double(double value) {
  if (!std::isfinite(value)) return Null();
  BeforeValue();
  // The shortest of %.15g..%.17g that reads back exactly.
  std::string text;
  for (int digits = 15; digits <= 17; ++digits) {
    text = absl::StrFormat("%.*g", digits, value);
    if (std::strtod(text.c_str(), nullptr) == value) break;
  }
  out_ += text;
  return *this;
}

JsonWriter& JsonWriter::Fixed(double value, int decimals) {
  if (!std::isfinite(value)) return Null();
  BeforeValue();
  absl::StrAppendFormat(&out_, "%.*f", decimals, value);
  return *this;
}

std::string JsonWriter::Finish() {
  if (!levels_.empty() || !done_) Misuse("Finish before the value is complete");
  std::string out = std::move(out_);
  out += '\n';
  out_.clear();
  done_ = false;
  return out;
}

}  // namespace sniper
