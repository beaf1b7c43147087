// data::normalize_for: the one modality -> intensity rule that `medsam prep` and `medsam infer` share.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/core/error.h"
#include "medsam/data/normalize.h"

using namespace medsam;
using namespace medsam::data;

namespace {
IntensitySpec spec(const std::string& modality, const std::string& window = "", const std::string& mode = "auto") {
  IntensitySpec s;
  s.modality = modality;
  s.window = window;
  s.mode = mode;
  return s;
}
// A CT-like volume in Hounsfield units: -1000 .. 1000 in steps of 10.
const at::Tensor kHu = torch::arange(-1000, 1001, 10).to(torch::kShort).reshape({1, 1, -1});
}  // namespace

TEST_CASE("normalize_for picks the rule by modality", "[data][intensity]") {
  // CT: the window (soft tissue by default, L40 W400 -> -160..240 HU)
  const auto ct = normalize_for(kHu, spec("ct"));
  CHECK(ct.data.equal(normalize_ct_window(kHu, {40, 400})));
  CHECK(ct.how == "ct window L40 W400");
  CHECK(ct.data.min().item<int>() == 0);
  CHECK(ct.data.max().item<int>() == 255);
  // MR, PET, US, X-ray and other grey modalities: percentiles of the non-zero values
  for (const char* m : {"mr", "pet", "us", "xray", "other"}) {
    INFO(m);
    const auto n = normalize_for(kHu.abs(), spec(m));
    CHECK(n.data.equal(normalize_percentile(kHu.abs(), 0.5, 99.5)));
    CHECK(n.how == "percentile 0.5-99.5 of non-zero voxels");
  }
  // colour photographs: MedSAM's 2D rule (0..255 unchanged, wider ranges min-maxed)
  const auto rgb = torch::randint(0, 256, {4, 5, 3}).to(torch::kByte);
  CHECK(normalize_for(rgb, spec("endoscopy")).data.equal(rgb));
  const auto wide = torch::tensor({0.0, 510.0}).reshape({1, 2});
  CHECK(normalize_for(wide, spec("dermoscopy")).data.equal(torch::tensor({0, 255}, torch::kByte).reshape({1, 2})));
}

TEST_CASE("normalize_for with modality auto: window if given, 0..255 integers as they are, else percentiles",
          "[data][intensity]") {
  const auto grey16 = torch::arange(0, 250, 5).to(torch::kShort);  // integers inside 0..255
  const auto auto_u8 = normalize_for(grey16, spec("auto"));
  CHECK(auto_u8.data.equal(grey16.to(torch::kByte)));
  CHECK(auto_u8.how == "none");
  const auto floats = torch::linspace(0, 3000, 100);
  CHECK(normalize_for(floats, spec("auto")).data.equal(normalize_percentile(floats, 0.5, 99.5)));
  CHECK(normalize_for(kHu, spec("auto", "lung")).data.equal(normalize_ct_window(kHu, {-600, 1500})));
}

TEST_CASE("CT windows parse as presets (- or _) or L,W and bad ones name the text", "[data][intensity]") {
  CHECK(parse_ct_window("").level == 40);
  CHECK(parse_ct_window("soft-tissue").width == 400);
  CHECK(parse_ct_window("soft_tissue").width == 400);
  CHECK(parse_ct_window("-600, 1500").level == -600);
  CHECK(parse_ct_window("-600, 1500").width == 1500);
  CHECK_THROWS_WITH(parse_ct_window("40x,400"), Catch::Contains("'40x,400'"));
  CHECK_THROWS_WITH(parse_ct_window("40,0"), Catch::Contains("W > 0"));
  CHECK_THROWS_WITH(parse_ct_window("40,400,1"), Catch::Contains("expected L,W"));
  CHECK_THROWS_WITH(parse_ct_window("spleen"), Catch::Contains("unknown CT window preset 'spleen'"));
}

TEST_CASE("normalize_for refuses a window for non-CT, unknown modalities and out-of-range 'none'",
          "[data][intensity]") {
  CHECK_THROWS_WITH(normalize_for(kHu, spec("mr", "brain")), Catch::Contains("applies to CT only"));
  CHECK_THROWS_AS(normalize_for(kHu, spec("mr", "brain")), UsageError);
  CHECK_THROWS_WITH(normalize_for(kHu, spec("xyz")), Catch::Contains("unknown modality 'xyz'"));
  CHECK_THROWS_WITH(normalize_for(kHu, spec("ct", "", "none")), Catch::Contains("spans -1000..1000"));
  CHECK_THROWS_WITH(normalize_for(kHu, spec("ct", "", "fancy")), Catch::Contains("'fancy'"));
  // an explicit window mode applies to any modality (prep's intensity.mode: window)
  CHECK(normalize_for(kHu, spec("mr", "brain", "window")).data.equal(normalize_ct_window(kHu, {40, 80})));
}
