#include "data/dataset_export.h"

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "port/proto_io.h"
#include "port/status_macros.h"

namespace sniper::data {
namespace {

namespace fs = std::filesystem;

absl::Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat(dir, ": cannot create (", ec.message(), ")"));
  }
  return absl::OkStatus();
}

// `link` -> the absolute path of `target`, replacing an older link.
absl::Status Link(const std::string& target, const std::string& link) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(target, ec);
  fs::remove(link, ec);
  fs::create_symlink(absolute, link, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat(
        link, ": cannot link to ", absolute.string(), " (", ec.message(), ")"));
  }
  return absl::OkStatus();
}

std::string Number(double v, int digits) {
  if (digits <= 0) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%.*g", digits, v);
}

std::string XmlEscape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A YAML double-quoted scalar.
std::string YamlQuote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The last path component of every image's file name, checked unique.
absl::StatusOr<std::vector<std::string>> BaseNames(const CocoDataset& ds) {
  std::vector<std::string> names;
  absl::flat_hash_map<std::string, size_t> seen;
  for (size_t i = 0; i < ds.num_images(); ++i) {
    names.push_back(fs::path(ds.image(i).file_name).filename().string());
    auto [it, inserted] = seen.emplace(names.back(), i);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(ds.source(), ": images ", it->second, " and ", i,
                       " share the file name ", names.back(),
                       " (VOC and YOLO need it "
                       "unique)"));
    }
  }
  return names;
}

std::string VocXml(const CocoDataset& ds, size_t i, const std::string& name,
                   int digits, ExportStats* stats) {
  const CocoImage& im = ds.image(i);
  std::string xml =
      absl::StrCat("<annotation>\n  <folder>JPEGImages</folder>\n  <filename>",
                   XmlEscape(name), "</filename>\n  <size>\n    <width>",
                   im.width, "</width>\n    <height>", im.height,
                   "</height>\n    <depth>3</depth>\n  </size>\n");
  const auto boxes = ds.boxes_of(i);
  const auto labels = ds.labels_of(i);
  const auto crowd = ds.crowd_of(i);
  for (size_t k = 0; k < boxes.size(); ++k) {
    const BoxXYWH& b = boxes[k];
    absl::StrAppend(&xml, "  <object>\n    <name>",
                    XmlEscape(ds.categories()[labels[k]].name),
                    "</name>\n    <truncated>0</truncated>\n    <difficult>",
                    crowd[k] ? 1 : 0,
                    "</difficult>\n    <bndbox>\n      <xmin>",
                    Number(double{b.x} + 1, digits), "</xmin>\n      <ymin>",
                    Number(double{b.y} + 1, digits), "</ymin>\n      <xmax>",
                    Number(double{b.x} + b.w, digits), "</xmax>\n      <ymax>",
                    Number(double{b.y} + b.h, digits),
                    "</ymax>\n    </bndbox>\n  </object>\n");
    ++stats->boxes;
  }
  return xml + "</annotation>\n";
}

std::string YoloLabels(const CocoDataset& ds, size_t i, int digits,
                       ExportStats* stats) {
  const CocoImage& im = ds.image(i);
  const int d = digits > 0 ? digits : 6;
  std::string text;
  const auto boxes = ds.boxes_of(i);
  for (size_t k = 0; k < boxes.size(); ++k) {
    if (ds.crowd_of(i)[k]) {
      ++stats->crowd_boxes_left_out;
      continue;
    }
    const BoxXYWH& b = boxes[k];
    absl::StrAppend(&text, ds.labels_of(i)[k], " ",
                    Number((double{b.x} + b.w / 2.0) / im.width, d), " ",
                    Number((double{b.y} + b.h / 2.0) / im.height, d), " ",
                    Number(double{b.w} / im.width, d), " ",
                    Number(double{b.h} / im.height, d), "\n");
    ++stats->boxes;
  }
  return text;
}

}  // namespace

absl::Status WriteVocSplit(const CocoDataset& dataset,
                           const std::string& image_dir,
                           const std::string& root, const std::string& split,
                           const ExportOptions& options, ExportStats* stats) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, BaseNames(dataset));
  for (const char* dir : {"/Annotations", "/ImageSets/Main", "/JPEGImages"}) {
    RETURN_IF_ERROR(MakeDirs(root + dir));
  }
  std::string ids;
  for (size_t i = 0; i < dataset.num_images(); ++i) {
    const std::string stem = fs::path(names[i]).stem().string();
    RETURN_IF_ERROR(WriteFileAtomically(
        root + "/Annotations/" + stem + ".xml",
        VocXml(dataset, i, names[i], options.digits, stats)));
    RETURN_IF_ERROR(Link(image_dir + "/" + dataset.image(i).file_name,
                         root + "/JPEGImages/" + names[i]));
    absl::StrAppend(&ids, stem, "\n");
    ++stats->images;
  }
  return WriteFileAtomically(root + "/ImageSets/Main/" + split + ".txt", ids);
}

absl::Status WriteYoloSplit(const CocoDataset& dataset,
                            const std::string& image_dir,
                            const std::string& root, const std::string& split,
                            const ExportOptions& options, ExportStats* stats) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, BaseNames(dataset));
  const std::string images = root + "/images/" + split;
  const std::string labels = root + "/labels/" + split;
  RETURN_IF_ERROR(MakeDirs(images));
  RETURN_IF_ERROR(MakeDirs(labels));
  for (size_t i = 0; i < dataset.num_images(); ++i) {
    const std::string stem = fs::path(names[i]).stem().string();
    RETURN_IF_ERROR(
        WriteFileAtomically(labels + "/" + stem + ".txt",
                            YoloLabels(dataset, i, options.digits, stats)));
    RETURN_IF_ERROR(Link(image_dir + "/" + dataset.image(i).file_name,
                         images + "/" + names[i]));
    ++stats->images;
  }
  std::string yaml =
      absl::StrCat("# Written by sniper-cpp from ", dataset.source(),
                   "\nnc: ", dataset.num_categories(), "\nnames:\n");
  for (size_t k = 0; k < dataset.num_categories(); ++k) {
    absl::StrAppend(&yaml, "  ", k, ": ",
                    YamlQuote(dataset.categories()[k].name), "\n");
  }
  return WriteFileAtomically(root + "/data.yaml", yaml);
}

}  // namespace sniper::data
