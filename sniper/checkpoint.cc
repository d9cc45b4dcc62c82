#include "sniper/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <mutex>
#include <sstream>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "port/proto_io.h"
#include "port/status_macros.h"

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
    torch::Tensor h = torch::empty({static_cast<int64_t>(history.size()), 6},
                                   torch::kFloat64);
    for (size_t i = 0; i < history.size(); ++i) {
      std::copy(history[i].begin(), history[i].end(),
                h.data_ptr<double>() + 6 * i);
    }
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

}  // namespace

absl::StatusOr<CheckpointState> LoadCheckpoint(
    const std::string& path, models::FasterRcnn& model,
    torch::optim::Optimizer* optimizer, torch::Device device) {
  torch::serialize::InputArchive root;
  RETURN_IF_ERROR(OpenCheckpoint(path, device, &root));
  CheckpointState out;
  try {
    torch::serialize::InputArchive m;
    root.read("model", m);
    model->load(m);
    if (optimizer != nullptr) {
      torch::serialize::InputArchive o;
      root.read("optimizer", o);
      optimizer->load(o);
    }
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
    torch::Tensor rng;
    root.read("torch_rng", rng);
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng.cpu());
    }
    torch::Tensor h;
    root.read("history", h);
    h = h.cpu().contiguous();
    for (int64_t i = 0; i < h.size(0); ++i) {
      std::array<double, 6> row;
      std::copy_n(h.data_ptr<double>() + 6 * i, 6, row.begin());
      out.history.push_back(row);
    }
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
    std::function<void(torch::serialize::InputArchive&, const std::string&)>
        walk =
            [&](torch::serialize::InputArchive& a, const std::string& prefix) {
              for (const std::string& key : a.keys()) {
                torch::Tensor t;
                torch::serialize::InputArchive sub;
                if (a.try_read(key, t)) {
                  out[prefix + key] = t;
                } else if (a.try_read(key, sub)) {
                  walk(sub, prefix + key + ".");
                }
              }
            };
    walk(model, "");
  } catch (const c10::Error& e) {
    return absl::DataLossError(absl::StrCat("cannot read the model in ", path,
                                            ": ", e.what_without_backtrace()));
  }
  return out;
}

}  // namespace sniper
