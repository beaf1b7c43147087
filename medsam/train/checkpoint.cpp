#include "medsam/train/checkpoint.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include <unistd.h>

#include "medsam/core/directory.h"
#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/io/atomic_file.h"
#include "medsam/io/pth.h"
#include "medsam/model/weights.h"
#include "medsam/train/optimizer.h"

namespace medsam::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kStateFormat = "medsam.trainer_state.v1";

NamedTensors model_state(torch::nn::Module& model) {
  NamedTensors out = module_tensors(model);
  for (auto& kv : out) kv.second = kv.second.detach().to(torch::kCPU).contiguous();
  return out;
}

PickleRef str(std::string s) { return PickleValue::of_string(std::move(s)); }

int64_t int_field(const PickleValue& d, const char* key, const std::string& path) {
  const PickleValue* v = d.get(key);
  if (!v || v->kind != PickleValue::Kind::Int)
    throw Error(fmt::format("checkpoint {}: trainer_state.{} missing or not an integer", path, key));
  return v->integer;
}

}  // namespace

std::string checkpoint_path(const std::string& dir, int64_t step) {
  return (fs::path(dir) / fmt::format("checkpoint_step_{:08d}.pth", step)).string();
}

int64_t checkpoint_step(const std::string& path) {
  static const std::regex pattern(R"(checkpoint_step_(\d{1,18})\.pth)");  // 19 digits could overflow stoll
  const std::string name = path.substr(path.find_last_of('/') + 1);  // npos + 1 == 0: the whole path
  std::smatch m;
  return std::regex_match(name, m, pattern) ? std::stoll(m[1]) : -1;
}

std::vector<std::string> list_checkpoints(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;  // a folder that cannot be listed holds no checkpoint to resume from or prune
  for (const auto& e : list_directory(dir, ec)) {
    const int64_t step = e.is_regular_file ? checkpoint_step(e.name) : -1;
    if (step >= 0) found.emplace_back(step, e.path);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

std::string save_checkpoint(const std::string& dir, torch::nn::Module& model, const AdamW& optimizer,
                            const TrainState& state, const std::string& config_yaml, int keep_last) {
  const NamedTensors weights = model_state(model);
  for (const auto& [name, t] : weights)
    if (t.is_floating_point() && !torch::isfinite(t).all().item<bool>())
      throw Error(fmt::format("refusing to write a checkpoint at step {}: parameter {} holds NaN/inf", state.step, name));
  fs::create_directories(dir);

  auto model_dict = PickleValue::dict("collections.OrderedDict");
  for (const auto& [name, t] : weights) model_dict->set_item(str(name), PickleValue::of_tensor(t));
  auto ts = PickleValue::dict();
  ts->set_item(str("format"), str(kStateFormat));
  ts->set_item(str("step"), PickleValue::of_int(state.step));
  ts->set_item(str("epoch"), PickleValue::of_int(state.epoch));
  ts->set_item(str("samples"), PickleValue::of_int(state.samples));
  ts->set_item(str("skipped_steps"), PickleValue::of_int(state.skipped_steps));
  ts->set_item(str("consecutive_nonfinite"), PickleValue::of_int(state.consecutive_nonfinite));
  ts->set_item(str("source_state"), str(state.source_state));
  ts->set_item(str("rng_state"), state.rng_state.defined() ? PickleValue::of_tensor(state.rng_state.contiguous())
                                                           : PickleValue::none());
  ts->set_item(str("config"), str(config_yaml));
  ts->set_item(str("best_val_dice"), PickleValue::of_float(state.best_val_dice));
  ts->set_item(str("best_step"), PickleValue::of_int(state.best_step));

  auto root = PickleValue::dict();
  root->set_item(str("model"), model_dict);
  root->set_item(str("optimizer"), optimizer.state_dict());
  root->set_item(str("epoch"), PickleValue::of_int(state.epoch));
  root->set_item(str("trainer_state"), ts);

  const std::string path = checkpoint_path(dir, state.step);
  write_pth(path, *root);  // atomic: PATH.tmp.<pid>, fsync, rename
  write_file_atomically((fs::path(dir) / "config.yaml").string(), config_yaml);

  if (keep_last > 0) {
    auto all = list_checkpoints(dir);
    for (size_t i = 0; i + static_cast<size_t>(keep_last) < all.size(); ++i) {
      std::error_code ec;
      fs::remove(all[i], ec);
      if (ec) log_warn("could not delete old checkpoint {}: {}", all[i], ec.message());
    }
  }
  return path;
}

std::string resolve_resume_path(const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return path;
  if (fs::is_directory(path, ec)) {
    auto all = list_checkpoints(path);
    if (all.empty()) throw Error(fmt::format("--resume {}: directory holds no checkpoint_step_*.pth", path));
    return all.back();
  }
  throw Error(fmt::format("--resume {}: no such file or directory", path));
}

std::string load_checkpoint(const std::string& path, torch::nn::Module& model, AdamW& optimizer, TrainState& state) {
  const Checkpoint ck = read_checkpoint(path);
  if (ck.wrapper != "model" || !ck.root)
    throw Error(fmt::format("checkpoint {}: not a training checkpoint (no \"model\" entry); use "
                            "train.init_checkpoint to start from plain weights", path));
  load_weights(model, ck, /*strict=*/true);
  const PickleValue* opt = ck.root->get("optimizer");
  if (!opt) throw Error(fmt::format("checkpoint {}: no \"optimizer\" entry", path));
  optimizer.load_state_dict(*opt);
  const PickleValue* ts = ck.root->get("trainer_state");
  TrainState s;
  std::string config;
  if (ts && ts->is_dict()) {
    s.step = int_field(*ts, "step", path);
    s.epoch = int_field(*ts, "epoch", path);
    s.samples = int_field(*ts, "samples", path);
    s.skipped_steps = int_field(*ts, "skipped_steps", path);
    s.consecutive_nonfinite = int_field(*ts, "consecutive_nonfinite", path);
    if (const PickleValue* v = ts->get("source_state"); v && v->kind == PickleValue::Kind::String) s.source_state = v->text;
    if (const PickleValue* v = ts->get("rng_state"); v && v->is_tensor()) s.rng_state = v->tensor.clone();
    if (const PickleValue* v = ts->get("config"); v && v->kind == PickleValue::Kind::String) config = v->text;
    // Absent in checkpoints written before validation existed: no best yet.
    if (const PickleValue* v = ts->get("best_val_dice"); v && v->kind == PickleValue::Kind::Float) s.best_val_dice = v->real;
    if (const PickleValue* v = ts->get("best_step"); v && v->kind == PickleValue::Kind::Int) s.best_step = v->integer;
  } else {
    // A MedSAM Python checkpoint: only the epoch is known; the data position starts fresh.
    const PickleValue* e = ck.root->get("epoch");
    s.epoch = e && e->kind == PickleValue::Kind::Int ? e->integer + 1 : 0;
    log_warn("checkpoint {}: no trainer_state (a MedSAM Python checkpoint?): continuing at epoch {}, step 0", path,
             s.epoch);
  }
  state = s;
  return config;
}

std::string save_best_model(const std::string& dir, torch::nn::Module& model, int64_t step, double mean_dsc,
                            double mean_nsd, int64_t objects) {
  auto model_dict = PickleValue::dict("collections.OrderedDict");
  for (const auto& [name, t] : model_state(model)) model_dict->set_item(str(name), PickleValue::of_tensor(t));
  auto root = PickleValue::dict();
  root->set_item(str("model"), model_dict);
  root->set_item(str("step"), PickleValue::of_int(step));
  root->set_item(str("val_mean_dsc"), PickleValue::of_float(mean_dsc));
  root->set_item(str("val_mean_nsd"), PickleValue::of_float(mean_nsd));
  const std::string path = (fs::path(dir) / "best.pth").string();
  write_pth(path, *root);
  write_file_atomically((fs::path(dir) / "best.json").string(),
                        fmt::format("{{\"step\": {}, \"val_mean_dsc\": {}, \"val_mean_nsd\": {}, \"val_objects\": {}, "
                                    "\"file\": \"best.pth\"}}\n",
                                    step, mean_dsc, std::isfinite(mean_nsd) ? fmt::format("{}", mean_nsd) : "null",
                                    objects));
  return path;
}

std::string checkpoint_config_yaml(const std::string& path) {
  const PickleRef root = read_pth_metadata(path);  // the config only: a resume reads the weights next
  const PickleValue* ts = root->is_dict() ? root->get("trainer_state") : nullptr;
  const PickleValue* config = ts && ts->is_dict() ? ts->get("config") : nullptr;
  return config && config->kind == PickleValue::Kind::String ? config->text : "";
}

// best.pth's own step and score, not best.json's: the two are written one after the other, and a crash
// between them leaves best.json a model behind, whose lower score would let a weaker model replace best.pth.
std::optional<BestRecord> read_best_record(const std::string& dir) {
  const std::string path = (fs::path(dir) / "best.pth").string();
  if (!fs::exists(path)) return std::nullopt;
  try {
    const PickleRef root = read_pth_metadata(path);
    const PickleValue* step = root->is_dict() ? root->get("step") : nullptr;
    const PickleValue* dsc = root->is_dict() ? root->get("val_mean_dsc") : nullptr;
    if (!step || step->kind != PickleValue::Kind::Int || !dsc || dsc->kind != PickleValue::Kind::Float) {
      log_warn("{}: no step and val_mean_dsc (not a best.pth this trainer wrote); ignored", path);
      return std::nullopt;
    }
    return BestRecord{step->integer, dsc->real};
  } catch (const Error& e) {
    log_warn("{}: unreadable ({}); ignored", path, e.what());
    return std::nullopt;
  }
}

void export_model(const std::string& path, torch::nn::Module& model) { write_pth(path, model_state(model)); }

uint64_t estimated_checkpoint_bytes(torch::nn::Module& model) {
  uint64_t bytes = 0;
  for (const auto& p : model.parameters()) {
    const auto n = static_cast<uint64_t>(p.numel());
    bytes += n * 4 + (p.requires_grad() ? n * 8 : 0);
  }
  for (const auto& b : model.buffers()) bytes += static_cast<uint64_t>(b.numel()) * b.element_size();
  return bytes;
}

std::string check_checkpoint_space(const std::string& dir, uint64_t checkpoint_bytes, uint64_t available) {
  const double need = static_cast<double>(checkpoint_bytes) * 1.1;
  if (static_cast<double>(available) < need)
    throw Error(fmt::format("output directory {}: {} MB free, but a checkpoint of this model (weights + AdamW moments) "
                            "takes about {} MB: free some space or choose another --output",
                            dir, available >> 20, checkpoint_bytes >> 20));
  if (available < 2 * checkpoint_bytes)
    return fmt::format("output directory {}: {} MB free, room for one checkpoint of about {} MB but not for the "
                       "next beside it (each is written next to the last before that is pruned)",
                       dir, available >> 20, checkpoint_bytes >> 20);
  return "";
}

void check_output_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("output directory {}: cannot create it: {}", dir, ec.message()));
  const std::string probe = (fs::path(dir) / fmt::format(".write_test.{}", ::getpid())).string();
  {
    std::ofstream f(probe, std::ios::binary);
    f << "medsam";
    if (!f.good()) throw Error(fmt::format("output directory {}: not writable", dir));
  }
  fs::remove(probe, ec);
  const auto space = fs::space(dir, ec);
  if (!ec && space.available < (64ull << 20))
    throw Error(fmt::format("output directory {}: only {} MB free", dir, space.available >> 20));
}

}  // namespace medsam::train
