#include "data/voc_dataset.h"

#include <expat.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "data/image_decode.h"
#include "glog/logging.h"
#include "port/proto_io.h"
#include "port/status_macros.h"

namespace sniper::data {
namespace {

// The fields of an <object> seen so far, to refuse repeats and report
// missing ones.
enum ObjectField : unsigned {
  kName = 1u << 0,
  kXmin = 1u << 1,
  kYmin = 1u << 2,
  kXmax = 1u << 3,
  kYmax = 1u << 4,
  kDifficult = 1u << 5,
  kTruncated = 1u << 6,
};

// expat's callbacks fill this; the first problem stops the parser.
class VocHandler {
 public:
  VocHandler(XML_Parser parser, absl::string_view source)
      : parser_(parser), source_(source) {}

  void Start(const char* name) {
    path_.push_back(name);
    text_.clear();
    if (path_.size() == 1 && path_[0] != "annotation") {
      Fail(absl::StrCat("the root element is <", path_[0],
                        ">, expected <annotation>"));
    } else if (Path() == "annotation/object") {
      object_ = VocObject();
      object_.line = Line();
      seen_ = 0;
    }
  }

  void End() {
    const std::string path = Path();
    const absl::string_view text = absl::StripAsciiWhitespace(text_);
    if (path == "annotation/filename") {
      if (has_filename_) Fail("<filename> appears twice");
      has_filename_ = true;
      out_.filename = std::string(text);
    } else if (path == "annotation/size/width") {
      out_.width = ParseSize("size/width", text);
    } else if (path == "annotation/size/height") {
      out_.height = ParseSize("size/height", text);
    } else if (absl::StartsWith(path, "annotation/object/")) {
      ObjectEnd(path.substr(18), text);
    } else if (path == "annotation/object") {
      ObjectDone();
    }
    path_.pop_back();
    text_.clear();
  }

  void Text(const char* s, int len) { text_.append(s, len); }

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  VocAnnotation& result() { return out_; }
  int Line() const {
    return static_cast<int>(XML_GetCurrentLineNumber(parser_));
  }

 private:
  std::string Path() const { return absl::StrJoin(path_, "/"); }

  void Fail(std::string message) {
    if (failed()) return;
    error_ = absl::StrCat(source_, ":", Line(), ": ", message);
    XML_StopParser(parser_, XML_FALSE);
  }

  std::string ObjectName() const {
    return absl::StrCat("object ", out_.objects.size() + 1, " (line ",
                        object_.line, ")");
  }

  int32_t ParseSize(absl::string_view field, absl::string_view text) {
    double v = 0;
    if (!absl::SimpleAtod(text, &v) || !(v >= 0) || v > 1e9 ||
        v != std::floor(v)) {
      Fail(absl::StrCat(field, ": expected a whole number of pixels, got '",
                        text, "'"));
      return 0;
    }
    return static_cast<int32_t>(v);
  }

  // True the first time `field` is seen in this object.
  bool Once(ObjectField field, absl::string_view tag) {
    if (seen_ & field) {
      Fail(absl::StrCat(ObjectName(), ": <", tag, "> appears twice"));
      return false;
    }
    seen_ |= field;
    return true;
  }

  void ObjectEnd(const std::string& field, absl::string_view text) {
    struct Coord {
      const char* path;
      ObjectField bit;
      double VocObject::*member;
    };
    static constexpr Coord kCoords[] = {
        {"bndbox/xmin", kXmin, &VocObject::xmin},
        {"bndbox/ymin", kYmin, &VocObject::ymin},
        {"bndbox/xmax", kXmax, &VocObject::xmax},
        {"bndbox/ymax", kYmax, &VocObject::ymax},
    };
    if (field == "name") {
      if (!Once(kName, "name")) return;
      object_.name = std::string(text);
      if (object_.name.empty())
        Fail(absl::StrCat(ObjectName(), ": empty <name>"));
      return;
    }
    for (const Coord& c : kCoords) {
      if (field != c.path) continue;
      if (!Once(c.bit, c.path)) return;
      double v = 0;
      if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) {
        Fail(absl::StrCat(ObjectName(), ": ", c.path,
                          ": expected a number, got '", text, "'"));
      }
      object_.*c.member = v;
      return;
    }
    const bool difficult = field == "difficult";
    if (difficult || field == "truncated") {
      if (!Once(difficult ? kDifficult : kTruncated, field)) return;
      int v = -1;
      if (!absl::SimpleAtoi(text, &v) || (v != 0 && v != 1)) {
        Fail(absl::StrCat(ObjectName(), ": ", field, ": expected 0 or 1, got '",
                          text, "'"));
      }
      (difficult ? object_.difficult : object_.truncated) = v == 1;
    }
  }

  void ObjectDone() {
    if (failed()) return;
    if (!(seen_ & kName)) {
      Fail(absl::StrCat(ObjectName(), ": missing <name>"));
      return;
    }
    for (const auto& [bit, tag] : {std::pair{kXmin, "xmin"},
                                   {kYmin, "ymin"},
                                   {kXmax, "xmax"},
                                   {kYmax, "ymax"}}) {
      if (!(seen_ & bit)) {
        Fail(absl::StrCat(ObjectName(), ": missing <bndbox>/<", tag, ">"));
        return;
      }
    }
    out_.objects.push_back(std::move(object_));
  }

  XML_Parser parser_;
  absl::string_view source_;
  std::vector<std::string> path_;
  std::string text_;
  VocAnnotation out_;
  VocObject object_;
  unsigned seen_ = 0;
  bool has_filename_ = false;
  std::string error_;
};

void XMLCALL OnStart(void* data, const XML_Char* name, const XML_Char**) {
  static_cast<VocHandler*>(data)->Start(name);
}
void XMLCALL OnEnd(void* data, const XML_Char*) {
  static_cast<VocHandler*>(data)->End();
}
void XMLCALL OnText(void* data, const XML_Char* s, int len) {
  static_cast<VocHandler*>(data)->Text(s, len);
}

// The ids of ImageSets/Main/<split>.txt with their line numbers.
absl::StatusOr<std::vector<std::pair<std::string, int>>> ReadSplitIds(
    const std::string& path) {
  std::string text;
  RETURN_IF_ERROR(ReadFileToString(path, &text));
  std::vector<std::pair<std::string, int>> ids;
  absl::flat_hash_map<std::string, int> first_line;
  int line = 0;
  for (absl::string_view row : absl::StrSplit(text, '\n')) {
    ++line;
    row = absl::StripAsciiWhitespace(row);
    if (row.empty()) continue;
    if (row.find_first_of(" \t") != absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", line, ": expected one image id per line, got '", row,
          "' (a per-class list such as <class>_<split>.txt is not a split)"));
    }
    auto [it, inserted] = first_line.emplace(std::string(row), line);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line, ": image id '", row,
                       "' repeated (first at line ", it->second, ")"));
    }
    ids.emplace_back(std::string(row), line);
  }
  if (ids.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no image ids (an empty split)"));
  }
  return ids;
}

struct ParsedImage {
  std::string xml_path;
  VocAnnotation annotation;
};

absl::Status AddObjects(const ParsedImage& p, const CocoImage& image,
                        const absl::flat_hash_map<std::string, int32_t>& labels,
                        const VocDatasetConfig& config,
                        const CocoReaderOptions& options,
                        CocoDatasetBuilder& builder, CocoLoadStats& stats,
                        int64_t& next_id) {
  int k = 0;
  for (const VocObject& o : p.annotation.objects) {
    ++k;
    const std::string where =
        absl::StrCat(p.xml_path, ":", o.line, ": object ", k);
    auto label = labels.find(o.name);
    if (label == labels.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": unknown class '", o.name, "'"));
    }
    ++stats.annotations;
    double box[4] = {o.xmin - 1, o.ymin - 1, o.xmax - o.xmin + 1,
                     o.ymax - o.ymin + 1};
    bool clipped = false;
    const std::string problem = ClipBoxToImage(
        box, image.width, image.height, options.out_of_image_tolerance,
        absl::StrCat("image ", image.file_name), &clipped);
    if (clipped) ++stats.clipped_boxes;
    if (!problem.empty()) {
      if (options.invalid_box_policy == InvalidBoxPolicy::kError) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": ", problem, " (bndbox ", o.xmin, ",", o.ymin,
                         " - ", o.xmax, ",", o.ymax, ")"));
      }
      ++stats.skipped_invalid_boxes;
      continue;
    }
    const bool ignore = o.difficult && config.difficult_as_ignore();
    stats.crowd_boxes += ignore;
    CocoAnnotation a;
    a.box = {static_cast<float>(box[0]), static_cast<float>(box[1]),
             static_cast<float>(box[2]), static_cast<float>(box[3])};
    a.label = label->second;
    a.crowd = ignore;
    a.id = next_id++;
    builder.AddAnnotation(std::move(a));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<VocAnnotation> ParseVocXml(absl::string_view xml,
                                          absl::string_view source) {
  if (absl::StripAsciiWhitespace(xml).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": empty file"));
  }
  XML_Parser parser = XML_ParserCreate(nullptr);
  if (parser == nullptr) {
    return absl::ResourceExhaustedError("expat: XML_ParserCreate failed");
  }
  VocHandler handler(parser, source);
  XML_SetUserData(parser, &handler);
  XML_SetElementHandler(parser, OnStart, OnEnd);
  XML_SetCharacterDataHandler(parser, OnText);
  // expat takes an int length; annotation files are far smaller.
  if (xml.size() > (size_t{1} << 30)) {
    XML_ParserFree(parser);
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": over 1 GiB, not an annotation file"));
  }
  const XML_Status status = XML_Parse(
      parser, xml.data(), static_cast<int>(xml.size()), /*isFinal=*/XML_TRUE);
  std::string error;
  if (handler.failed()) {
    error = handler.error();
  } else if (status != XML_STATUS_OK) {
    error = absl::StrCat(source, ":", XML_GetCurrentLineNumber(parser),
                         ": malformed XML (",
                         XML_ErrorString(XML_GetErrorCode(parser)), ")");
  }
  XML_ParserFree(parser);
  if (!error.empty()) return absl::InvalidArgumentError(error);
  return std::move(handler.result());
}

std::string VocImageDir(const VocDatasetConfig& config) {
  return config.root() + "/JPEGImages";
}

absl::StatusOr<CocoDataset> ReadVocSplit(
    const VocDatasetConfig& config, const std::string& split,
    absl::Span<const std::string> class_names,
    const CocoReaderOptions& options) {
  const std::string root = config.root();
  const std::string split_path = root + "/ImageSets/Main/" + split + ".txt";
  ASSIGN_OR_RETURN(auto ids, ReadSplitIds(split_path));

  std::vector<ParsedImage> parsed(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& [id, line] = ids[i];
    parsed[i].xml_path = root + "/Annotations/" + id + ".xml";
    std::string xml;
    if (absl::Status s = ReadFileToString(parsed[i].xml_path, &xml); !s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat(split_path, ":", line, ": image '", id,
                                       "': ", s.message()));
    }
    ASSIGN_OR_RETURN(parsed[i].annotation,
                     ParseVocXml(xml, parsed[i].xml_path));
    if (parsed[i].annotation.filename.empty()) {
      parsed[i].annotation.filename = id + ".jpg";
    }
  }

  // Labels: the given list, or every name seen, sorted.
  std::vector<std::string> names(class_names.begin(), class_names.end());
  if (names.empty()) {
    std::set<std::string> seen;
    for (const ParsedImage& p : parsed) {
      for (const VocObject& o : p.annotation.objects) seen.insert(o.name);
    }
    names.assign(seen.begin(), seen.end());
    if (names.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(split_path,
                       ": no objects in any image, so no classes (list them "
                       "in VocDatasetConfig.class_names)"));
    }
  }
  absl::flat_hash_map<std::string, int32_t> labels;
  std::vector<CocoCategory> categories;
  for (size_t k = 0; k < names.size(); ++k) {
    labels[names[k]] = static_cast<int32_t>(k);
    categories.push_back({static_cast<int64_t>(k) + 1, names[k], ""});
  }

  CocoDatasetBuilder builder(split_path);
  builder.SetCategories(std::move(categories));
  CocoLoadStats stats;
  int64_t next_id = 1;
  for (size_t i = 0; i < parsed.size(); ++i) {
    const ParsedImage& p = parsed[i];
    CocoImage image;
    image.id = static_cast<int64_t>(i) + 1;
    image.file_name = p.annotation.filename;
    image.width = p.annotation.width;
    image.height = p.annotation.height;
    if (image.width == 0 || image.height == 0) {
      absl::StatusOr<ImageSize> size =
          ReadImageFileSize(VocImageDir(config) + "/" + image.file_name);
      if (!size.ok()) {
        return absl::Status(size.status().code(),
                            absl::StrCat(p.xml_path,
                                         ": no <size>, and reading it from the "
                                         "image failed: ",
                                         size.status().message()));
      }
      image.width = size->width;
      image.height = size->height;
    }
    builder.AddImage(image);
    const int64_t before = stats.annotations - stats.skipped_invalid_boxes;
    RETURN_IF_ERROR(
        AddObjects(p, image, labels, config, options, builder, stats, next_id));
    if (stats.annotations - stats.skipped_invalid_boxes == before) {
      ++stats.images_without_boxes;
    }
  }
  if (stats.skipped_invalid_boxes > 0) {
    LOG(WARNING) << split_path << ": skipped " << stats.skipped_invalid_boxes
                 << " invalid boxes";
  }
  builder.SetStats(stats);
  return std::move(builder).Build();
}

}  // namespace sniper::data
