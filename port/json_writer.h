// File: port/json_writer.h
//
// The one way the project writes JSON (COCO results, eval stats, chip
// stats, the synthetic dataset, detect's images.json): a streaming writer
// that escapes every string (RFC 8259: quote, backslash and control
// characters; valid UTF-8 passes through, an invalid byte becomes U+FFFD)
// and places the separators, so no caller formats JSON by hand.
//
//   JsonWriter w(/*break_depth=*/1);  // top-level elements on their own line
//   w.BeginObject();
//   w.Key("stats").BeginArray();
//   for (double s : stats) w.Double(s);
//   w.EndArray();
//   w.Key("name").String("a \"quoted\" \\ name");
//   w.EndObject();
//   RETURN_IF_ERROR(WriteFileAtomically(path, w.Finish()));
//
// Doubles: Double() writes the shortest text that reads back to the same
// double ("%.17g" trimmed), Fixed() a given number of decimals; a NaN or
// an infinity is null (JSON has neither). Misuse (a value where a key is
// due, an unbalanced End, Finish with open containers) is a programming
// error and aborts with a message.
#ifndef SNIPER_PORT_JSON_WRITER_H_
#define SNIPER_PORT_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace sniper {

// `s` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view s);

class JsonWriter {
 public:
  // Containers nested fewer than `break_depth` levels deep put each element
  // on its own line (0: everything on one line).
  explicit JsonWriter(int break_depth = 0) : break_depth_(break_depth) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // The next value's key (inside an object only).
  JsonWriter& Key(absl::string_view key);

  JsonWriter& String(absl::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  JsonWriter& Double(double value);
  JsonWriter& Fixed(double value, int decimals);

  // The document, with a final newline; the writer must hold exactly one
  // complete value.
  std::string Finish();

 private:
  struct Level {
    bool object = false;
    bool empty = true;
    bool key_pending = false;
  };
  // Separator and line break before a value (or a key) at this position.
  void BeforeValue();
  void BeforeKey();
  void Separate(bool first);
  bool Breaks() const;  // elements of the innermost container break lines
  void Break();
  void End(bool object);

  int break_depth_;
  std::string out_;
  std::vector<Level> levels_;
  bool done_ = false;  // the top-level value was begun
};

}  // namespace sniper

#endif  // SNIPER_PORT_JSON_WRITER_H_
