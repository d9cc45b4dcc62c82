#include "data/class_names.h"

#include <yaml.h>

#include <cstdint>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "port/proto_io.h"
#include "port/status_macros.h"

namespace sniper::data {
namespace {

absl::Status Error(absl::string_view source, size_t line,
                   absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat(source, ":", line, ": ", message));
}

// A loaded YAML document, freed with it.
class YamlDocument {
 public:
  YamlDocument() = default;
  YamlDocument(const YamlDocument&) = delete;
  YamlDocument& operator=(const YamlDocument&) = delete;
  ~YamlDocument() {
    if (loaded_) yaml_document_delete(&doc_);
  }

  absl::Status Load(absl::string_view text, absl::string_view source) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
      return absl::ResourceExhaustedError("libyaml: parser initialisation");
    }
    yaml_parser_set_input_string(
        &parser, reinterpret_cast<const unsigned char*>(text.data()),
        text.size());
    const bool ok = yaml_parser_load(&parser, &doc_) != 0;
    absl::Status status;
    if (!ok) {
      status = Error(source, parser.problem_mark.line + 1,
                     absl::StrCat("malformed YAML (",
                                  parser.problem ? parser.problem : "?",
                                  parser.context ? ", " : "",
                                  parser.context ? parser.context : "", ")"));
    }
    loaded_ = ok;
    yaml_parser_delete(&parser);
    return status;
  }

  yaml_node_t* Root() { return yaml_document_get_root_node(&doc_); }
  yaml_node_t* Node(int index) { return yaml_document_get_node(&doc_, index); }

 private:
  yaml_document_t doc_;
  bool loaded_ = false;
};

absl::string_view Scalar(const yaml_node_t* n) {
  return absl::string_view(reinterpret_cast<const char*>(n->data.scalar.value),
                           n->data.scalar.length);
}

size_t LineOf(const yaml_node_t* n) { return n->start_mark.line + 1; }

// The names of a sequence node.
absl::StatusOr<std::vector<std::string>> SequenceNames(
    YamlDocument& doc, yaml_node_t* seq, absl::string_view source) {
  std::vector<std::string> names;
  for (yaml_node_item_t* it = seq->data.sequence.items.start;
       it < seq->data.sequence.items.top; ++it) {
    yaml_node_t* item = doc.Node(*it);
    if (item == nullptr || item->type != YAML_SCALAR_NODE) {
      return Error(source, item ? LineOf(item) : LineOf(seq),
                   absl::StrCat("names[", names.size(), "]: expected a name"));
    }
    names.emplace_back(Scalar(item));
  }
  return names;
}

// The names of a mapping node {0: a, 1: b, ...}.
absl::StatusOr<std::vector<std::string>> MappingNames(
    YamlDocument& doc, yaml_node_t* map, absl::string_view source) {
  absl::flat_hash_map<int64_t, std::string> by_index;
  for (yaml_node_pair_t* p = map->data.mapping.pairs.start;
       p < map->data.mapping.pairs.top; ++p) {
    yaml_node_t* key = doc.Node(p->key);
    yaml_node_t* value = doc.Node(p->value);
    int64_t index = -1;
    if (key == nullptr || key->type != YAML_SCALAR_NODE ||
        !absl::SimpleAtoi(Scalar(key), &index) || index < 0) {
      return Error(source, key ? LineOf(key) : LineOf(map),
                   "names: expected class indices 0, 1, ... as keys");
    }
    if (value == nullptr || value->type != YAML_SCALAR_NODE) {
      return Error(source, LineOf(key),
                   absl::StrCat("names: ", index, ": expected a name"));
    }
    if (!by_index.emplace(index, std::string(Scalar(value))).second) {
      return Error(source, LineOf(key),
                   absl::StrCat("names: index ", index, " repeated"));
    }
  }
  std::vector<std::string> names(by_index.size());
  for (size_t i = 0; i < names.size(); ++i) {
    auto it = by_index.find(static_cast<int64_t>(i));
    if (it == by_index.end()) {
      return Error(source, LineOf(map),
                   absl::StrCat("names: index ", i,
                                " missing (indices must "
                                "be 0..",
                                names.size() - 1, ")"));
    }
    names[i] = it->second;
  }
  return names;
}

absl::Status CheckNames(const std::vector<std::string>& names,
                        absl::string_view source) {
  if (names.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": no class names"));
  }
  absl::flat_hash_map<absl::string_view, size_t> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    if (absl::StripAsciiWhitespace(names[i]).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": class ", i, " has an empty name"));
    }
    auto [it, inserted] = seen.emplace(names[i], i);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": classes ", it->second, " and ", i,
                       " are both named '", names[i], "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseYamlClassNames(
    absl::string_view yaml, absl::string_view source) {
  YamlDocument doc;
  RETURN_IF_ERROR(doc.Load(yaml, source));
  yaml_node_t* root = doc.Root();
  if (root == nullptr || root->type != YAML_MAPPING_NODE) {
    return Error(source, root ? LineOf(root) : 1,
                 "expected a mapping with a \"names\" entry");
  }
  yaml_node_t* names_node = nullptr;
  yaml_node_t* nc_node = nullptr;
  for (yaml_node_pair_t* p = root->data.mapping.pairs.start;
       p < root->data.mapping.pairs.top; ++p) {
    yaml_node_t* key = doc.Node(p->key);
    if (key == nullptr || key->type != YAML_SCALAR_NODE) continue;
    if (Scalar(key) == "names") names_node = doc.Node(p->value);
    if (Scalar(key) == "nc") nc_node = doc.Node(p->value);
  }
  if (names_node == nullptr) {
    return Error(source, LineOf(root), "no \"names\" entry");
  }
  std::vector<std::string> names;
  if (names_node->type == YAML_SEQUENCE_NODE) {
    ASSIGN_OR_RETURN(names, SequenceNames(doc, names_node, source));
  } else if (names_node->type == YAML_MAPPING_NODE) {
    ASSIGN_OR_RETURN(names, MappingNames(doc, names_node, source));
  } else {
    return Error(source, LineOf(names_node),
                 "names: expected a list or an index map");
  }
  if (nc_node != nullptr) {
    int64_t nc = -1;
    if (nc_node->type != YAML_SCALAR_NODE ||
        !absl::SimpleAtoi(Scalar(nc_node), &nc) ||
        nc != static_cast<int64_t>(names.size())) {
      return Error(source, LineOf(nc_node),
                   absl::StrCat("nc: expected ", names.size(),
                                " (the number of names)"));
    }
  }
  RETURN_IF_ERROR(CheckNames(names, source));
  return names;
}

absl::StatusOr<std::vector<std::string>> ParseLineClassNames(
    absl::string_view text, absl::string_view source) {
  std::vector<std::string> names;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) names.emplace_back(line);
  }
  RETURN_IF_ERROR(CheckNames(names, source));
  return names;
}

absl::StatusOr<std::vector<std::string>> ReadClassNamesFile(
    const std::string& path) {
  std::string text;
  RETURN_IF_ERROR(ReadFileToString(path, &text));
  if (absl::EndsWithIgnoreCase(path, ".yaml") ||
      absl::EndsWithIgnoreCase(path, ".yml")) {
    return ParseYamlClassNames(text, path);
  }
  return ParseLineClassNames(text, path);
}

}  // namespace sniper::data
