#include "sniper/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "models/model_builder.h"
#include "port/proto_io.h"
#include "port/status_macros.h"
#include "sniper/pipeline.pb.h"

namespace sniper {

namespace fs = std::filesystem;

std::string CheckpointName(int64_t step) {
  return absl::StrFormat("ckpt-%08d.pt", step);
}

// Checkpoints in `dir`, by step.
std::vector<std::pair<int64_t, std::string>> ListCheckpoints(
    const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    int64_t step = 0;
    if (absl::StartsWith(name, "ckpt-") && absl::EndsWith(name, ".pt") &&
        absl::SimpleAtoi(name.substr(5, name.size() - 8), &step)) {
      out.push_back({step, e.path().string()});
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status SaveCheckpoint(const std::string& path, models::FasterRcnn& model,
                            torch::optim::Optimizer* optimizer,
                            const CheckpointState& state,
                            const CheckpointInfo& info) {
  const TrainingPosition& pos = state.position;
  const TrainingCounters& counters = state.counters;
  const LossHistory& history = state.history;
  try {
    torch::serialize::OutputArchive root;
    torch::serialize::OutputArchive m;
    model->save(m);
    root.write("model", m);
    if (optimizer != nullptr) {
      torch::serialize::OutputArchive o;
      optimizer->save(o);
      root.write("optimizer", o);
    }
    root.write("step", c10::IValue(pos.step));
    root.write("epoch", c10::IValue(pos.epoch));
    root.write("batch", c10::IValue(pos.batch));
    root.write("chips", c10::IValue(counters.chips));
    root.write("nonfinite", c10::IValue(counters.nonfinite));
    root.write("skipped_chips", c10::IValue(counters.skipped_chips));
    root.write("seconds", c10::IValue(counters.seconds));
    root.write("loss_scale", c10::IValue(counters.loss_scale));
    root.write("scaler_clean_steps", c10::IValue(counters.scaler_clean_steps));
    root.write("fp16_overflows", c10::IValue(counters.fp16_overflows));
    root.write("finished", c10::IValue(state.finished));
    root.write("config", c10::IValue(info.config_text));
    // Class names travel with the weights (//sniper:detect draws them).
    c10::List<std::string> names;
    for (const std::string& name : info.category_names) names.push_back(name);
    root.write("category_names", c10::IValue(names));
    root.write("category_ids", torch::tensor(info.category_ids, torch::kInt64));
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      root.write("torch_rng", gen.get_state());
    }
    const int64_t columns = 2 + static_cast<int64_t>(history.names.size());
    torch::Tensor h = torch::empty(
        {static_cast<int64_t>(history.rows.size()), columns}, torch::kFloat64);
    double* out = h.data_ptr<double>();
    for (const LossHistory::Row& row : history.rows) {
      if (row.terms.size() != history.names.size()) {
        return absl::InternalError(absl::StrCat(
            "cannot save checkpoint ", path, ": a loss history row has ",
            row.terms.size(), " terms for ", history.names.size(), " names"));
      }
      *out++ = static_cast<double>(row.step);
      *out++ = row.total;
      out = std::copy(row.terms.begin(), row.terms.end(), out);
    }
    c10::List<std::string> history_names;
    for (const std::string& name : history.names) {
      history_names.push_back(name);
    }
    root.write("history_names", c10::IValue(history_names));
    root.write("history", h);
    std::ostringstream bytes;
    root.save_to(bytes);
    return WriteFileAtomically(path, bytes.str());
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("cannot serialize checkpoint ", path, ": ", e.what()));
  }
}

absl::Status SaveRotatingCheckpoint(const std::string& dir, int keep,
                                    models::FasterRcnn& model,
                                    torch::optim::Optimizer* optimizer,
                                    const CheckpointState& state,
                                    const CheckpointInfo& info) {
  RETURN_IF_ERROR(SaveCheckpoint(
      absl::StrCat(dir, "/", CheckpointName(state.position.step)), model,
      optimizer, state, info));
  const auto all = ListCheckpoints(dir);
  for (int64_t i = 0; i + keep < static_cast<int64_t>(all.size()); ++i) {
    std::error_code ec;
    fs::remove(all[i].second, ec);
  }
  return absl::OkStatus();
}

namespace {

// Reads a checkpoint file into `root`, tensors on `device`.
absl::Status OpenCheckpoint(const std::string& path, torch::Device device,
                            torch::serialize::InputArchive* root) {
  std::string bytes;
  RETURN_IF_ERROR(ReadFileToString(path, &bytes));
  try {
    std::istringstream in(bytes);
    root->load_from(in, device);
  } catch (const c10::Error& e) {
    return absl::DataLossError(absl::StrCat("cannot read checkpoint ", path,
                                            ": ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

// Every tensor under `a` by dotted name (the model archive's layout).
void CollectTensors(torch::serialize::InputArchive& a,
                    const std::string& prefix,
                    std::map<std::string, torch::Tensor>* out) {
  for (const std::string& key : a.keys()) {
    torch::Tensor t;
    torch::serialize::InputArchive sub;
    if (a.try_read(key, t)) {
      (*out)[prefix + key] = t;
    } else if (a.try_read(key, sub)) {
      CollectTensors(sub, prefix + key + ".", out);
    }
  }
}

std::string ShapeText(const torch::Tensor& t) {
  return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "]");
}

// The checkpoint's saved config against the model it is loaded into: a
// model of another architecture is refused naming each field and both
// values, before any weight is touched.
absl::Status CheckArchitecture(const std::string& path,
                               const std::string& config_text,
                               const models::FasterRcnnOptions& model) {
  PipelineConfig saved;
  RETURN_IF_ERROR(
      ParseTextProto(config_text, absl::StrCat(path, " (config)"), &saved));
  ASSIGN_OR_RETURN(models::FasterRcnnOptions trained,
                   models::BuildFasterRcnnOptions(
                       saved.model(),
                       absl::StrCat(path, " (config): PipelineConfig.model")));
  const std::vector<models::ArchitectureDifference> diff =
      models::ArchitectureDifferences(trained, model);
  if (diff.empty()) return absl::OkStatus();
  std::vector<std::string> parts;
  for (const models::ArchitectureDifference& d : diff) {
    parts.push_back(absl::StrCat("model.", d.field, " is ", d.a, " there but ",
                                 d.b, " in the config"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "checkpoint ", path, " holds another model: ", absl::StrJoin(parts, "; "),
      " (use the config it was trained with, e.g. the run's config.pbtxt)"));
}

// Every parameter and buffer of `model` must be in the archive with its
// shape: the last line of defence when the config check passes but the
// weights do not fit (a hand-edited or foreign file).
absl::Status CheckTensors(const std::string& path,
                          torch::serialize::InputArchive& archive,
                          models::FasterRcnn& model) {
  std::map<std::string, torch::Tensor> saved;
  CollectTensors(archive, "", &saved);
  auto check = [&](const std::string& name,
                   const torch::Tensor& want) -> absl::Status {
    auto it = saved.find(name);
    if (it == saved.end()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "checkpoint ", path, " has no tensor ", name,
          " (written for another model configuration, e.g. RPN-only)"));
    }
    if (!it->second.sizes().equals(want.sizes())) {
      return absl::FailedPreconditionError(
          absl::StrCat("checkpoint ", path, ": tensor ", name, " is ",
                       ShapeText(it->second), " there but ", ShapeText(want),
                       " in the model built from the config"));
    }
    return absl::OkStatus();
  };
  for (const auto& p : model->named_parameters()) {
    RETURN_IF_ERROR(check(p.key(), p.value()));
  }
  for (const auto& b : model->named_buffers()) {
    RETURN_IF_ERROR(check(b.key(), b.value()));
  }
  return absl::OkStatus();
}

// Where training continues and its counters (throws c10::Error on a
// missing key).
void ReadPositionAndCounters(torch::serialize::InputArchive& root,
                             CheckpointState& out) {
  auto get = [&](const char* key) {
    c10::IValue v;
    root.read(key, v);
    return v;
  };
  out.position.step = get("step").toInt();
  out.position.epoch = get("epoch").toInt();
  out.position.batch = get("batch").toInt();
  out.counters.chips = get("chips").toInt();
  out.counters.nonfinite = get("nonfinite").toInt();
  out.counters.skipped_chips = get("skipped_chips").toInt();
  out.counters.seconds = get("seconds").toDouble();
  // Added after the first checkpoints were written: optional.
  c10::IValue v;
  if (root.try_read("loss_scale", v)) out.counters.loss_scale = v.toDouble();
  if (root.try_read("scaler_clean_steps", v)) {
    out.counters.scaler_clean_steps = v.toInt();
  }
  if (root.try_read("fp16_overflows", v)) {
    out.counters.fp16_overflows = v.toInt();
  }
  out.finished = get("finished").toBool();
}

// The loss history and its names (files without names: the old columns).
absl::StatusOr<LossHistory> ReadHistory(torch::serialize::InputArchive& root,
                                        const std::string& path) {
  torch::Tensor h;
  root.read("history", h);
  std::optional<std::vector<std::string>> names;
  c10::IValue v;
  if (root.try_read("history_names", v)) {
    names.emplace();
    for (const c10::IValue& name : v.toListRef()) {
      names->push_back(name.toStringRef());
    }
  }
  absl::StatusOr<LossHistory> history =
      LossHistoryFromTensor(h, names.has_value() ? &*names : nullptr);
  if (!history.ok()) {
    return absl::DataLossError(absl::StrCat("cannot read checkpoint ", path,
                                            ": ", history.status().message()));
  }
  return history;
}

}  // namespace

absl::StatusOr<CheckpointState> LoadCheckpoint(
    const std::string& path, models::FasterRcnn& model,
    torch::optim::Optimizer* optimizer, torch::Device device) {
  torch::serialize::InputArchive root;
  RETURN_IF_ERROR(OpenCheckpoint(path, device, &root));
  CheckpointState out;
  {
    c10::IValue config;
    if (!root.try_read("config", config) || !config.isString()) {
      return absl::DataLossError(
          absl::StrCat("cannot read checkpoint ", path, ": it has no config"));
    }
    RETURN_IF_ERROR(
        CheckArchitecture(path, config.toStringRef(), model->options()));
  }
  try {
    torch::serialize::InputArchive m;
    root.read("model", m);
    RETURN_IF_ERROR(CheckTensors(path, m, model));
    model->load(m);
    if (optimizer != nullptr) {
      torch::serialize::InputArchive o;
      root.read("optimizer", o);
      optimizer->load(o);
    }
    ReadPositionAndCounters(root, out);
    torch::Tensor rng;
    root.read("torch_rng", rng);
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng.cpu());
    }
    ASSIGN_OR_RETURN(out.history, ReadHistory(root, path));
  } catch (const c10::Error& e) {
    return absl::DataLossError(
        absl::StrCat("cannot read checkpoint ", path,
                     " (corrupt, or written for another model configuration): ",
                     e.what_without_backtrace()));
  }
  return out;
}

absl::StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& path) {
  torch::serialize::InputArchive root;
  RETURN_IF_ERROR(OpenCheckpoint(path, torch::Device(torch::kCPU), &root));
  CheckpointInfo info;
  try {
    c10::IValue v;
    root.read("config", v);
    info.config_text = v.toStringRef();
    root.read("step", v);
    info.step = v.toInt();
    if (root.try_read("category_names", v)) {
      for (const c10::IValue& name : v.toListRef()) {
        info.category_names.push_back(name.toStringRef());
      }
      torch::Tensor ids;
      root.read("category_ids", ids);
      ids = ids.contiguous();
      info.category_ids.assign(ids.data_ptr<int64_t>(),
                               ids.data_ptr<int64_t>() + ids.numel());
    }
  } catch (const c10::Error& e) {
    return absl::DataLossError(absl::StrCat("cannot read checkpoint ", path,
                                            ": ", e.what_without_backtrace()));
  }
  return info;
}

absl::Status LoadCheckpointWeights(const std::string& path,
                                   models::FasterRcnn& model,
                                   torch::Device device) {
  model->to(device);
  return LoadCheckpoint(path, model, nullptr, device).status();
}

absl::StatusOr<std::map<std::string, torch::Tensor>> ReadCheckpointWeights(
    const std::string& path) {
  torch::serialize::InputArchive root;
  RETURN_IF_ERROR(OpenCheckpoint(path, torch::Device(torch::kCPU), &root));
  std::map<std::string, torch::Tensor> out;
  try {
    torch::serialize::InputArchive model;
    root.read("model", model);
    CollectTensors(model, "", &out);
  } catch (const c10::Error& e) {
    return absl::DataLossError(absl::StrCat("cannot read the model in ", path,
                                            ": ", e.what_without_backtrace()));
  }
  return out;
}

}  // namespace sniper
