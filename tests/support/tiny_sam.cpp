#include "tests/support/tiny_sam.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <vector>

#include "medsam/io/npy.h"
#include "medsam/model/load_sam.h"
#include "medsam/model/weights.h"
#include "tests/support/fixtures.h"

namespace medsam::test {

std::string tiny_dir() { return fixture("sam_tiny"); }

Sam tiny_sam_from_fixture() {
  Sam sam = build_sam("tiny");
  load_weights(*sam, tiny_checkpoint(), /*strict=*/true);
  sam->eval();
  return sam;
}

Sam seeded_tiny_sam(std::uint64_t seed) {
  torch::manual_seed(seed);
  return build_sam("tiny");
}

infer::Predictor tiny_predictor() { return infer::Predictor(load_sam(tiny_checkpoint()).model, c10::kCPU); }

at::Tensor TinyCase::npy(const std::string& file) const { return read_npy(dir + "/" + file).to(at::kFloat); }

TinyCase read_tiny_case(const std::string& name) {
  TinyCase c;
  c.dir = tiny_dir() + "/" + name;
  std::ifstream in(c.dir + "/prompt.json");
  INFO(c.dir << "/prompt.json");
  REQUIRE(in.good());
  const auto j = nlohmann::json::parse(in);
  c.box = torch::tensor(j.at("box").get<std::vector<float>>()).view({1, 1, 4});
  std::vector<float> points;
  for (const auto& p : j.at("points")) points.insert(points.end(), {p.at(0).get<float>(), p.at(1).get<float>()});
  c.point_coords = torch::tensor(points).view({1, -1, 2});
  c.point_labels = torch::tensor(j.at("point_labels").get<std::vector<int64_t>>()).view({1, -1});
  return c;
}

}  // namespace medsam::test
