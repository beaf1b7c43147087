// 3D inference details: batched slice encoding gives the masks of slice-by-slice encoding, boxes on
// given slices, slice-box files, and the precision switch (sam_tiny fixture, CPU).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <fstream>
#include <set>

#include "medsam/core/error.h"
#include "medsam/infer/label_map.h"
#include "medsam/infer/predictor.h"
#include "medsam/infer/preprocess.h"
#include "medsam/infer/prompt_file.h"
#include "medsam/infer/volume_infer.h"
#include "medsam/io/image.h"
#include "medsam/model/build_sam.h"
#include "medsam/model/load_sam.h"
#include "tests/support/run_command.h"
#include "tests/support/tiny_sam.h"

using namespace medsam;

namespace {


// 7 different slices: the two fixture brain slices, each shifted by a few pixels per slice.
at::Tensor fixture_volume() {
  const at::Tensor a = io::read_image(test::tiny_dir() + "/case_z70/image.png").select(2, 0);
  const at::Tensor b = io::read_image(test::tiny_dir() + "/case_z90/image.png").select(2, 0);
  std::vector<at::Tensor> slices;
  for (int z = 0; z < 7; ++z) slices.push_back(torch::roll(z % 2 ? b : a, {2 * z, -z}, {0, 1}));
  return torch::stack(slices).contiguous();  // (7, 256, 256) uint8
}
}  // namespace

TEST_CASE("encode_images of K slices equals K single encodings", "[infer]") {
  auto predictor = test::tiny_predictor();
  const at::Tensor volume = fixture_volume();
  const at::Tensor batch = predictor.encode_images({volume[0], volume[1], volume[2]});
  REQUIRE(batch.sizes() == at::IntArrayRef({3, 32, 16, 16}));
  for (int64_t z = 0; z < 3; ++z) {
    predictor.set_image(volume[z]);
    CHECK((predictor.embedding() - batch.slice(0, z, z + 1)).abs().max().item<double>() < 1e-5);
  }
}

TEST_CASE("encode_preprocessed of preprocess_image's inputs is set_image's embedding, and checks its shape", "[infer]") {
  auto predictor = test::tiny_predictor();
  const at::Tensor slice = fixture_volume()[1];
  const int64_t size = predictor.model()->config.image_encoder.img_size;
  const int64_t before = predictor.images_encoded();
  const at::Tensor embedding = predictor.encode_preprocessed(infer::preprocess_image(slice, size));
  CHECK(predictor.images_encoded() == before + 1);
  predictor.set_image(slice);
  CHECK(torch::equal(predictor.embedding(), embedding));
  CHECK_THROWS_WITH(predictor.encode_preprocessed(torch::zeros({1, 3, size, size / 2})),
                    Catch::Contains("inputs must be (K, 3, " + std::to_string(size)));
  CHECK_THROWS_WITH(predictor.encode_preprocessed(torch::zeros({3, size, size})), Catch::Contains("got [3,"));
}

TEST_CASE("3D propagation gives the same masks for any encoder batch size", "[infer]") {
  auto predictor = test::tiny_predictor();
  const at::Tensor volume = fixture_volume();
  const infer::Box3d box{46.67, 50.73, 1, 86.28, 89.66, 6};
  infer::PropagationOptions one;
  const at::Tensor reference = infer::segment_volume(predictor, volume, box, one);
  REQUIRE(reference.slice(0, 1, 7).sum().item<int64_t>() > 0);
  CHECK(reference[0].sum().item<int64_t>() == 0);  // outside z0..z1
  for (int k : {2, 3, 6, 16}) {
    INFO("encode_batch " << k);
    infer::PropagationOptions batched;
    batched.encode_batch = k;
    int64_t reported = 0;
    const at::Tensor mask = infer::segment_volume(predictor, volume, box, batched, [&](int64_t d, int64_t) { reported = d; });
    CHECK(reported == 6);
    CHECK(torch::equal(mask, reference));
  }
}

TEST_CASE("boxes on given slices: each slice encoded once, its boxes decoded together, labels kept", "[infer]") {
  auto predictor = test::tiny_predictor();
  const at::Tensor volume = fixture_volume();
  const std::vector<infer::SliceBox> boxes = {
      {2, 46.67, 50.73, 86.28, 89.66, 0},  // -> label 1 (first in the file)
      {2, 120, 100, 200, 180, 0},          // -> label 2
      {4, 46.67, 50.73, 86.28, 89.66, 7},  // own label 7
  };
  infer::PropagationOptions opt;
  opt.encode_batch = 2;
  const at::Tensor labels = infer::segment_slices(predictor, volume, boxes, opt);
  REQUIRE(labels.sizes() == volume.sizes());
  for (int z : {0, 1, 3, 5, 6}) CHECK(labels[z].sum().item<int64_t>() == 0);

  // Slice 2 equals the 2D answer for the same two boxes; slice 4 holds only 0 and 7.
  predictor.set_image(volume[2]);
  infer::ImagePrompts p;
  p.boxes = torch::tensor({{46.67f, 50.73f, 86.28f, 89.66f}, {120.f, 100.f, 200.f, 180.f}});
  const auto pred = predictor.predict(p);
  CHECK(torch::equal(labels[2], infer::compose_label_map(pred.probabilities.select(1, 0))));
  const auto values4 = std::get<0>(at::_unique(labels[4]));
  CHECK(torch::equal(values4, torch::tensor({0, 7}, at::kByte)));

  CHECK_THROWS_WITH(infer::segment_slices(predictor, volume, {{9, 1, 1, 5, 5, 0}}),
                    Catch::Contains("slice box 1 is on slice 9, outside the volume's 0..6"));
  CHECK_THROWS_WITH(infer::segment_slices(predictor, volume, {{1, 1, 1, 300, 5, 0}}),
                    Catch::Contains("slice box 1 (slice 1)") && Catch::Contains("outside the 256x256 image"));
}

TEST_CASE("slice box files: CSV with header and labels, JSON objects, errors name file and line", "[infer]") {
  const auto dir = test::temp_dir("slice_box_files");
  std::ofstream(dir + "/s.csv") << "slice,x0,y0,x1,y1,label\n40,1,2,30,40\n# comment\n41,5,6,7,8,3\n";
  const auto csv = infer::read_slice_box_file(dir + "/s.csv");
  REQUIRE(csv.size() == 2);
  CHECK(csv[0].slice == 40);
  CHECK(csv[0].x1 == 30);
  CHECK(csv[0].label == 0);
  CHECK(csv[1].slice == 41);
  CHECK(csv[1].label == 3);
  std::ofstream(dir + "/s.json") << R"([{"slice": 3, "box": [1, 2, 3, 4]}, {"slice": 5, "box": [5, 6, 7, 8], "label": 2}])";
  const auto json = infer::read_slice_box_file(dir + "/s.json");
  REQUIRE(json.size() == 2);
  CHECK(json[1].slice == 5);
  CHECK(json[1].y1 == 8);
  CHECK(json[1].label == 2);

  std::ofstream(dir + "/four.csv") << "1,2,3,4\n";
  CHECK_THROWS_WITH(infer::read_slice_box_file(dir + "/four.csv"),
                    Catch::Contains("four.csv:1: expected slice,x0,y0,x1,y1[,label]"));
  std::ofstream(dir + "/frac.csv") << "2.5,1,2,3,4\n";
  CHECK_THROWS_WITH(infer::read_slice_box_file(dir + "/frac.csv"), Catch::Contains("frac.csv:1: slice 2.5"));
  std::ofstream(dir + "/noslice.json") << R"([{"box": [1, 2, 3, 4]}])";
  CHECK_THROWS_WITH(infer::read_slice_box_file(dir + "/noslice.json"), Catch::Contains("noslice.json: entry 0 needs"));
  CHECK_THROWS_AS(infer::read_slice_box_file(dir + "/missing.csv"), UsageError);
}

TEST_CASE("precision names: fp32, bf16 and bf16-autocast on either device, anything else refused", "[infer]") {
  CHECK(parse_precision("fp32", c10::kCPU) == Precision::kFp32);
  CHECK(parse_precision("bf16", c10::Device("cuda")) == Precision::kBf16);
  CHECK(parse_precision("bf16", c10::kCPU) == Precision::kBf16);  // the encoder autocasts
  CHECK(parse_precision("bf16-autocast", c10::kCPU) == Precision::kBf16Autocast);
  CHECK(is_bf16(Precision::kBf16Autocast));
  CHECK(!is_bf16(Precision::kFp32));
  CHECK_THROWS_WITH(parse_precision("fp16", c10::kCPU), Catch::Contains("use fp32, bf16 or bf16-autocast"));
  // The list the command lines check against is exactly what parses, each to its own precision.
  std::set<Precision> parsed;
  for (const auto& name : precision_names()) parsed.insert(parse_precision(name, c10::kCPU));
  CHECK(parsed.size() == precision_names().size());
  CHECK(precision_names_text() == "fp32, bf16 or bf16-autocast");
  CHECK_THROWS_WITH(parse_precision("half", c10::kCPU, "train.precision"), Catch::Contains("train.precision 'half'"));
  CHECK(residual_stream_for(Precision::kBf16Autocast) == ResidualStream::kFloat32);
  CHECK(residual_stream_for(Precision::kBf16) == ResidualStream::kReduced);
  // The Predictor sets the encoder's residual stream from the precision (so does the trainer, for validation).
  infer::Predictor autocast_like(build_sam("tiny"), c10::kCPU, Precision::kBf16Autocast);
  CHECK(autocast_like.model()->image_encoder->inference_stream == ResidualStream::kFloat32);
  infer::Predictor reduced(build_sam("tiny"), c10::kCPU, Precision::kBf16);
  CHECK(reduced.model()->image_encoder->inference_stream == ResidualStream::kReduced);
}
