#include "port/proto_layering.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/text_format.h"
#include "port/proto_io.h"
#include "port/status_macros.h"

namespace sniper {
namespace {

namespace pb = google::protobuf;

std::string FieldNames(const pb::Descriptor* d) {
  std::vector<std::string> names;
  for (int i = 0; i < d->field_count(); ++i)
    names.push_back(d->field(i)->name());
  return absl::StrJoin(names, ", ");
}

absl::Status SetScalar(const pb::FieldDescriptor* field, std::string value,
                       pb::Message* message, const std::string& path) {
  value = std::string(absl::StripAsciiWhitespace(value));
  if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING &&
      !(value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front())) {
    value = absl::StrCat("\"", absl::CEscape(value), "\"");
  }
  if (!pb::TextFormat::ParseFieldValueFromString(value, field, message)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--set ", path, ": cannot parse '", value, "' as ",
        field->cpp_type_name(),
        field->enum_type() != nullptr
            ? absl::StrCat(" (", field->enum_type()->full_name(), ")")
            : ""));
  }
  return absl::OkStatus();
}

}  // namespace

void MergeReplacingLists(const pb::Message& upper, pb::Message* lower) {
  const pb::Reflection* ru = upper.GetReflection();
  const pb::Reflection* rl = lower->GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  ru->ListFields(upper, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    if (f->is_repeated()) {
      rl->ClearField(lower, f);
      for (int i = 0; i < ru->FieldSize(upper, f); ++i) {
        switch (f->cpp_type()) {
#define SNIPER_COPY_REPEATED(CPPTYPE, Type)                      \
  case pb::FieldDescriptor::CPPTYPE:                             \
    rl->Add##Type(lower, f, ru->GetRepeated##Type(upper, f, i)); \
    break;
          SNIPER_COPY_REPEATED(CPPTYPE_INT32, Int32)
          SNIPER_COPY_REPEATED(CPPTYPE_INT64, Int64)
          SNIPER_COPY_REPEATED(CPPTYPE_UINT32, UInt32)
          SNIPER_COPY_REPEATED(CPPTYPE_UINT64, UInt64)
          SNIPER_COPY_REPEATED(CPPTYPE_FLOAT, Float)
          SNIPER_COPY_REPEATED(CPPTYPE_DOUBLE, Double)
          SNIPER_COPY_REPEATED(CPPTYPE_BOOL, Bool)
          SNIPER_COPY_REPEATED(CPPTYPE_STRING, String)
          SNIPER_COPY_REPEATED(CPPTYPE_ENUM, Enum)
#undef SNIPER_COPY_REPEATED
          case pb::FieldDescriptor::CPPTYPE_MESSAGE:
            rl->AddMessage(lower, f)->CopyFrom(
                ru->GetRepeatedMessage(upper, f, i));
            break;
        }
      }
      continue;
    }
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->containing_oneof() != nullptr &&
          rl->GetOneofFieldDescriptor(*lower, f->containing_oneof()) != f) {
        rl->ClearOneof(lower, f->containing_oneof());
      }
      MergeReplacingLists(ru->GetMessage(upper, f),
                          rl->MutableMessage(lower, f));
      continue;
    }
    switch (f->cpp_type()) {
#define SNIPER_COPY(CPPTYPE, Type)                    \
  case pb::FieldDescriptor::CPPTYPE:                  \
    rl->Set##Type(lower, f, ru->Get##Type(upper, f)); \
    break;
      SNIPER_COPY(CPPTYPE_INT32, Int32)
      SNIPER_COPY(CPPTYPE_INT64, Int64)
      SNIPER_COPY(CPPTYPE_UINT32, UInt32)
      SNIPER_COPY(CPPTYPE_UINT64, UInt64)
      SNIPER_COPY(CPPTYPE_FLOAT, Float)
      SNIPER_COPY(CPPTYPE_DOUBLE, Double)
      SNIPER_COPY(CPPTYPE_BOOL, Bool)
      SNIPER_COPY(CPPTYPE_STRING, String)
      SNIPER_COPY(CPPTYPE_ENUM, Enum)
#undef SNIPER_COPY
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        break;  // handled above
    }
  }
}

absl::Status ApplyAssignment(const std::string& assignment,
                             pb::Message* message) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--set ", assignment,
                     ": expected path=value, e.g. optimizer.base_lr=0.01"));
  }
  const std::string path(
      absl::StripAsciiWhitespace(absl::string_view(assignment).substr(0, eq)));
  const std::string value(assignment.substr(eq + 1));
  pb::Message* m = message;
  const std::vector<std::string> parts = absl::StrSplit(path, '.');
  for (size_t k = 0; k < parts.size(); ++k) {
    std::string name = parts[k];
    int64_t index = -1;
    if (const size_t bracket = name.find('['); bracket != std::string::npos) {
      if (name.back() != ']' ||
          !absl::SimpleAtoi(name.substr(bracket + 1, name.size() - bracket - 2),
                            &index) ||
          index < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--set ", path, ": bad index in '", name, "'"));
      }
      name = name.substr(0, bracket);
    }
    const pb::Descriptor* d = m->GetDescriptor();
    const pb::FieldDescriptor* f = d->FindFieldByName(name);
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--set ", path, ": ", d->full_name(), " has no field '",
                       name, "' (fields: ", FieldNames(d), ")"));
    }
    const pb::Reflection* r = m->GetReflection();
    const bool last = k + 1 == parts.size();
    if (index >= 0) {
      if (!f->is_repeated() ||
          f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--set ", path, ": only repeated message fields take an index ('",
            name, "')"));
      }
      const int size = r->FieldSize(*m, f);
      if (index > size) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--set ", path, ": index ", index, " but ", name, " has ", size,
            " elements (use ", size, " to append)"));
      }
      if (last) {
        return absl::InvalidArgumentError(
            absl::StrCat("--set ", path, ": assign a field of ", name, "[",
                         index, "], not the message"));
      }
      m = index == size ? r->AddMessage(m, f)
                        : r->MutableRepeatedMessage(m, f, index);
      continue;
    }
    if (!last) {
      if (f->is_repeated() ||
          f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        return absl::InvalidArgumentError(
            absl::StrCat("--set ", path, ": '", name, "' is not a message",
                         f->is_repeated() ? " (index it: name[i])" : ""));
      }
      m = r->MutableMessage(m, f);
      continue;
    }
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      // A whole message in text format: path={ field: value }.
      absl::string_view text = absl::StripAsciiWhitespace(value);
      if (absl::ConsumePrefix(&text, "{")) absl::ConsumeSuffix(&text, "}");
      pb::Message* target = f->is_repeated()
                                ? (r->ClearField(m, f), r->AddMessage(m, f))
                                : r->MutableMessage(m, f);
      target->Clear();
      return ParseTextProto(std::string(text), absl::StrCat("--set ", path),
                            target);
    }
    if (f->is_repeated()) {
      absl::string_view list = absl::StripAsciiWhitespace(value);
      if (!absl::ConsumePrefix(&list, "[") ||
          !absl::ConsumeSuffix(&list, "]")) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--set ", path, ": a repeated field takes a list [a, b, ...]"));
      }
      r->ClearField(m, f);
      if (absl::StripAsciiWhitespace(list).empty()) return absl::OkStatus();
      for (const absl::string_view item : absl::StrSplit(list, ',')) {
        RETURN_IF_ERROR(SetScalar(f, std::string(item), m, path));
      }
      return absl::OkStatus();
    }
    return SetScalar(f, value, m, path);
  }
  return absl::OkStatus();
}

}  // namespace sniper
