// Slice embeddings shared between the 3D boxes of one .npz case: the cache itself (LRU within a byte
// bound), and a multi-box case that encodes each slice once and gives the masks of re-encoding.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/infer/npz_case.h"
#include "medsam/infer/predictor.h"
#include "medsam/infer/slice_embedding_cache.h"
#include "medsam/io/image.h"
#include "medsam/model/load_sam.h"

using namespace medsam;
using infer::SliceEmbeddingCache;

TEST_CASE("slice embedding cache: hits and misses, least recently used out first, copies kept", "[infer]") {
  const auto e = [](float v) { return torch::full({1, 2, 4, 4}, v); };  // 128 bytes each
  SliceEmbeddingCache cache(3 * 128);
  CHECK_FALSE(cache.find(0).defined());
  at::Tensor source = e(0);
  for (int z = 0; z < 3; ++z) cache.put(z, z == 0 ? source : e(float(z)));
  source.fill_(42);  // the cache holds a copy
  CHECK(cache.find(0).max().item<float>() == 0);  // 0 is now the most recent; 1 the least
  cache.put(3, e(3));                              // over the bound: 1 goes
  CHECK_FALSE(cache.find(1).defined());
  for (int z : {0, 2, 3}) CHECK(cache.find(z).max().item<float>() == float(z));
  CHECK(cache.size() == 3);
  CHECK(cache.bytes() == 3 * 128);
  cache.put(2, e(7));  // replacing keeps one entry per slice
  CHECK(cache.size() == 3);
  CHECK(cache.find(2).max().item<float>() == 7);
  CHECK(cache.hits() == 5);
  CHECK(cache.misses() == 2);
  SliceEmbeddingCache none(0);
  none.put(0, e(1));
  CHECK_FALSE(none.find(0).defined());
  CHECK(none.size() == 0);
}

TEST_CASE("a 3D .npz case with overlapping boxes encodes each slice once and gives the re-encoding masks",
          "[infer]") {
  const std::string tiny = std::string(MEDSAM_FIXTURES_DIR) + "/sam_tiny";
  const at::Tensor a = io::read_image(tiny + "/case_z70/image.png").select(2, 0);
  std::vector<at::Tensor> slices;
  for (int z = 0; z < 8; ++z) slices.push_back(torch::roll(a, {z, -2 * z}, {0, 1}));
  infer::NpzCase c;
  c.path = "case.npz";
  c.imgs = torch::stack(slices).contiguous();  // (8, 256, 256)
  c.is_3d = true;
  // Slices 1-5, 3-7 and 0-2: 5 + 5 + 3 = 13 slice visits (inclusive ranges), 8 distinct slices.
  c.boxes = torch::tensor({{46.0, 50.0, 1.0, 86.0, 90.0, 5.0},
                           {100.0, 60.0, 3.0, 160.0, 120.0, 7.0},
                           {30.0, 120.0, 0.0, 90.0, 200.0, 2.0}},
                          at::kDouble);
  auto run = [&](int64_t cache_mib, int encode_batch) {
    infer::Predictor predictor(load_sam(tiny + "/weights.pth").model, c10::kCPU);
    infer::PropagationOptions options;
    options.embedding_cache_mib = cache_mib;
    options.encode_batch = encode_batch;
    const at::Tensor segs = infer::segment_npz_case(predictor, c, c.imgs, options);
    return std::make_pair(segs, predictor.images_encoded());
  };
  const auto [reencoded, reencoded_count] = run(0, 1);
  CHECK(reencoded_count == 5 + 5 + 3);
  for (int batch : {1, 3}) {
    INFO("encode_batch " << batch);
    const auto [cached, cached_count] = run(64, batch);
    CHECK(cached_count == 8);
    CHECK(torch::equal(cached, reencoded));
  }
  for (int64_t k = 1; k <= 3; ++k) CHECK((reencoded == k).sum().item<int64_t>() > 0);  // every box shows
}

TEST_CASE("an .npz case with one bad box answers the others and names the skipped one", "[infer]") {
  const std::string tiny = std::string(MEDSAM_FIXTURES_DIR) + "/sam_tiny";
  const at::Tensor a = io::read_image(tiny + "/case_z70/image.png").select(2, 0).contiguous();
  infer::Predictor predictor(load_sam(tiny + "/weights.pth").model, c10::kCPU);
  infer::NpzCase flat;
  flat.path = "flat.npz";
  flat.imgs = a;  // (256, 256)
  // Box 2 lies past the right edge, box 3 is inverted: both skipped, boxes 1 and 4 answered with their labels.
  flat.boxes = torch::tensor({{46.0, 50.0, 86.0, 90.0}, {200.0, 10.0, 400.0, 60.0}, {90.0, 90.0, 80.0, 120.0},
                              {100.0, 140.0, 160.0, 200.0}},
                             at::kDouble);
  std::vector<std::string> skipped;
  const at::Tensor segs = infer::segment_npz_case(predictor, flat, flat.imgs, {}, {}, &skipped);
  REQUIRE(skipped.size() == 2);
  CHECK_THAT(skipped[0], Catch::StartsWith("box 2 (200,10,400,60): ") && Catch::Contains("outside the 256x256 image"));
  CHECK_THAT(skipped[1], Catch::StartsWith("box 3 (90,90,80,120): ") && Catch::Contains("inverted"));
  CHECK((segs == 1).sum().item<int64_t>() > 0);
  CHECK((segs == 4).sum().item<int64_t>() > 0);
  CHECK((segs == 2).sum().item<int64_t>() == 0);
  CHECK((segs == 3).sum().item<int64_t>() == 0);
  // The answered boxes' masks are those of a case without the bad ones (labels 1 and 4 as 1 and 2).
  infer::NpzCase good = flat;
  good.boxes = flat.boxes.index_select(0, torch::tensor({0, 3}));
  const at::Tensor alone = infer::segment_npz_case(predictor, good, good.imgs);
  CHECK(torch::equal(segs == 1, alone == 1));
  CHECK(torch::equal(segs == 4, alone == 2));

  // 3D: a box past the image edge is skipped the same way.
  infer::NpzCase vol;
  vol.path = "vol.npz";
  vol.imgs = torch::stack({a, a, a}).contiguous();
  vol.is_3d = true;
  vol.boxes = torch::tensor({{46.0, 50.0, 0.0, 86.0, 90.0, 2.0}, {46.0, 50.0, 0.0, 300.0, 90.0, 2.0}}, at::kDouble);
  std::vector<std::string> skipped_3d;
  const at::Tensor segs_3d = infer::segment_npz_case(predictor, vol, vol.imgs, {}, {}, &skipped_3d);
  REQUIRE(skipped_3d.size() == 1);
  CHECK_THAT(skipped_3d[0], Catch::StartsWith("box 2 (46,50,0,300,90,2): "));
  CHECK((segs_3d == 1).sum().item<int64_t>() > 0);
  CHECK((segs_3d == 2).sum().item<int64_t>() == 0);
}
