// The model's parameter and buffer names, shapes and dtypes are exactly SAM's state_dict, for every
// preset (tests/fixtures/sam_keys/<preset>.tsv were written by Python from segment_anything).
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "medsam/model/build_sam.h"

namespace {

struct KeyInfo {
  std::string shape;
  std::string dtype;
};

std::map<std::string, KeyInfo> read_key_list(const std::string& preset) {
  const std::string path = std::string(MEDSAM_FIXTURES_DIR) + "/sam_keys/" + preset + ".tsv";
  std::ifstream in(path);
  REQUIRE(in.good());
  std::map<std::string, KeyInfo> keys;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string key;
    KeyInfo info;
    std::getline(fields, key, '\t');
    std::getline(fields, info.shape, '\t');
    std::getline(fields, info.dtype, '\t');
    keys[key] = info;
  }
  return keys;
}

std::string dtype_name(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    default: return std::string(c10::toString(t.scalar_type()));
  }
}

std::map<std::string, KeyInfo> model_keys(torch::nn::Module& model) {
  std::map<std::string, KeyInfo> keys;
  auto add = [&](const std::string& name, const at::Tensor& t) {
    keys[name] = {fmt::format("{}", fmt::join(t.sizes(), "x")), dtype_name(t)};
  };
  for (const auto& p : model.named_parameters()) add(p.key(), p.value());
  for (const auto& b : model.named_buffers()) add(b.key(), b.value());
  return keys;
}

void check_preset_keys(const std::string& preset) {
  const auto expected = read_key_list(preset);
  medsam::Sam sam = medsam::build_sam(preset);
  const auto actual = model_keys(*sam);
  for (const auto& [key, info] : expected) {
    INFO(preset << ": " << key);
    auto it = actual.find(key);
    REQUIRE(it != actual.end());
    CHECK(it->second.shape == info.shape);
    CHECK(it->second.dtype == info.dtype);
  }
  for (const auto& [key, info] : actual) {
    INFO(preset << ": model has " << key);
    CHECK(expected.count(key) == 1);
  }
  CHECK(actual.size() == expected.size());
}

int64_t count_params(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace

TEST_CASE("tiny preset has exactly SAM's state_dict keys, shapes and dtypes", "[model]") {
  check_preset_keys("tiny");
}

TEST_CASE("vit_b preset has exactly SAM's state_dict keys, shapes and dtypes", "[model]") {
  check_preset_keys("vit_b");
}

TEST_CASE("vit_l preset has exactly SAM's state_dict keys, shapes and dtypes", "[model]") {
  check_preset_keys("vit_l");
}

// vit_h allocates and initialises ~2.5 GB of parameters (a few seconds).
TEST_CASE("vit_h preset has exactly SAM's state_dict keys, shapes and dtypes", "[model]") {
  check_preset_keys("vit_h");
}

// Resuming MedSAM's own optimizer state (one parameter group, moments by position) relies on this order
// (medsam/train/optimizer.h, AdamW::load_state_dict).
TEST_CASE("the vit_b preset registers its parameters in SAM's state_dict order", "[model]") {
  std::ifstream in(std::string(MEDSAM_FIXTURES_DIR) + "/sam_keys/vit_b.tsv");
  REQUIRE(in.good());
  medsam::Sam sam = medsam::build_sam("vit_b");
  std::vector<std::string> ours;
  for (const auto& p : sam->named_parameters()) ours.push_back(p.key());
  const std::set<std::string> parameters(ours.begin(), ours.end());
  std::vector<std::string> sams;  // the file's keys in its (state_dict) order, buffers left out
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#' && parameters.count(line.substr(0, line.find('\t')))) sams.push_back(line.substr(0, line.find('\t')));
  REQUIRE(sams.size() == ours.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    INFO("position " << i);
    REQUIRE(ours[i] == sams[i]);
  }
}

TEST_CASE("vit_b parameter counts match SAM's (SPEC.md)", "[model]") {
  medsam::Sam sam = medsam::build_sam("vit_b");
  CHECK(count_params(*sam->image_encoder) == 89'670'912);
  CHECK(count_params(*sam->prompt_encoder) == 6'220);  // the gaussian matrix is a buffer, not counted
  CHECK(count_params(*sam->mask_decoder) == 4'058'340);
  CHECK(count_params(*sam) == 93'735'472);
}
