#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <map>

#include "medsam/data/prompt_sampler.h"
#include "medsam/data/sample_rng.h"

using namespace medsam::data;

TEST_CASE("tight_box is the inclusive extent of the mask", "[data][prompts]") {
  auto m = torch::zeros({40, 50}, torch::kBool);
  m.slice(0, 5, 12).slice(1, 20, 31).fill_(true);
  m[30][3] = true;
  CHECK((tight_box(m) == std::array<std::int64_t, 4>{3, 5, 30, 30}));
  CHECK((tight_box(torch::zeros({4, 4}, torch::kBool))[0] == -1));
}

TEST_CASE("box jitter moves each side outward by an independent 0..20 px", "[data][prompts]") {
  // A box far from the borders: no clamping, so every side's shift is observable.
  const std::array<std::int64_t, 4> tight{100, 120, 200, 220};
  SampleRng rng{1, 2, 3};
  constexpr int kDraws = 20000;
  std::array<std::map<int, int>, 4> hist;
  std::array<double, 4> mean{};
  double cross = 0;  // E[(d0 - 10)(d2 - 10)]: ~0 when x0 and x1 shifts are independent
  for (int n = 0; n < kDraws; ++n) {
    const auto b = jitter_box(tight, 1024, 1024, 20, rng);
    const std::array<int, 4> d{static_cast<int>(tight[0] - b[0]), static_cast<int>(tight[1] - b[1]),
                               static_cast<int>(b[2] - tight[2]), static_cast<int>(b[3] - tight[3])};
    for (int k = 0; k < 4; ++k) {
      REQUIRE(d[k] >= 0);
      REQUIRE(d[k] <= 20);
      ++hist[k][d[k]];
      mean[k] += d[k];
    }
    cross += (d[0] - 10.0) * (d[2] - 10.0);
  }
  for (int k = 0; k < 4; ++k) {
    CHECK(hist[k].size() == 21);  // every shift 0..20 occurs (both ends included, like random.randint)
    // Uniform on 0..20: mean 10, sd 6.06; the mean of 20000 draws has sd 0.043.
    CHECK(std::abs(mean[k] / kDraws - 10.0) < 0.25);
    // Each value has probability 1/21 (952 expected of 20000, sd ~30).
    for (const auto& [v, c] : hist[k]) CHECK(std::abs(c - kDraws / 21.0) < 160);
  }
  // Covariance of independent shifts: 0 ± 36.7/sqrt(20000) = ±0.26.
  CHECK(std::abs(cross / kDraws) < 1.5);
}

TEST_CASE("box jitter is clamped to the image (upper clamp at W and H, as MedSAM)", "[data][prompts]") {
  const std::array<std::int64_t, 4> tight{3, 0, 60, 62};
  SampleRng rng{7};
  bool hit_low = false, hit_high = false;
  for (int n = 0; n < 2000; ++n) {
    const auto b = jitter_box(tight, 64, 64, 20, rng);
    REQUIRE(b[0] >= 0);
    REQUIRE(b[1] == 0);
    REQUIRE(b[2] <= 64);
    REQUIRE(b[3] <= 64);
    REQUIRE(b[0] <= 3);
    REQUIRE(b[2] >= 60);
    hit_low |= b[0] == 0;
    hit_high |= b[2] == 64;
  }
  CHECK(hit_low);
  CHECK(hit_high);
  // bbox_shift 0: the tight box itself.
  const auto b = jitter_box(tight, 64, 64, 0, rng);
  CHECK((b == std::array<float, 4>{3, 0, 60, 62}));
}

TEST_CASE("the chosen label is uniform over the candidates", "[data][prompts]") {
  const std::vector<std::uint16_t> labels{3, 8, 40, 300};
  SampleRng rng{11};
  std::map<int, int> count;
  constexpr int kDraws = 8000;
  for (int n = 0; n < kDraws; ++n) ++count[choose_label(labels, rng)];
  REQUIRE(count.size() == 4);
  // Chi-square with 3 degrees of freedom; 16.3 is its 0.999 quantile.
  double chi2 = 0;
  for (const auto& [l, c] : count) chi2 += (c - kDraws / 4.0) * (c - kDraws / 4.0) / (kDraws / 4.0);
  CHECK(chi2 < 16.3);
}

TEST_CASE("positive points lie in the mask, negative ones outside it and inside the box", "[data][prompts]") {
  auto m = torch::zeros({64, 64}, torch::kBool);
  m.slice(0, 10, 30).slice(1, 20, 40).fill_(true);
  PromptConfig cfg;
  cfg.points = true;
  cfg.positive_points = 3;
  cfg.negative_points = 2;
  PromptSampler sampler(cfg);
  SampleRng rng{5};
  for (int n = 0; n < 200; ++n) {
    const auto p = sampler.sample(m, rng);
    REQUIRE(p.points.size() == 5);
    for (std::size_t k = 0; k < 5; ++k) {
      const auto x = static_cast<std::int64_t>(p.points[k][0]), y = static_cast<std::int64_t>(p.points[k][1]);
      CHECK(m[y][x].item<bool>() == (p.point_labels[k] == 1));
      CHECK(x >= p.box[0]);
      CHECK(x <= p.box[2]);
      CHECK(y >= p.box[1]);
      CHECK(y <= p.box[3]);
    }
    CHECK((p.point_labels == std::vector<std::int64_t>{1, 1, 1, 0, 0}));
  }
}

TEST_CASE("the same generator words give the same prompts", "[data][prompts]") {
  auto m = torch::zeros({64, 64}, torch::kBool);
  m.slice(0, 10, 30).slice(1, 20, 40).fill_(true);
  PromptSampler sampler(PromptConfig{});
  SampleRng a{1, 2, 3}, b{1, 2, 3}, c{1, 2, 4};
  const auto pa = sampler.sample(m, a), pb = sampler.sample(m, b);
  CHECK(pa.box == pb.box);
  bool differs = false;
  for (int n = 0; n < 10 && !differs; ++n) differs = sampler.sample(m, c).box != sampler.sample(m, a).box;
  CHECK(differs);
}
