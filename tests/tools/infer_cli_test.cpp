// `medsam infer` end to end on the sam_tiny fixture: files in, files out, compared with the reference.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/io/image.h"
#include "medsam/io/npy.h"
#include "tests/support/run_command.h"

using namespace medsam;
using test::run_medsam;

namespace {
const std::string kTiny = std::string(MEDSAM_FIXTURES_DIR) + "/sam_tiny";
}

TEST_CASE("medsam infer writes the reference mask, logits and embedding for a box", "[infer][cli]") {
  const auto out = test::temp_dir("infer_cli");
  const std::string dir = kTiny + "/case_z70";
  auto r = run_medsam("infer --checkpoint " + kTiny + "/weights.pth --image " + dir +
                      "/image.png --box 46.67,50.73,86.28,89.66 --output " + out + "/mask.png --save-logits " + out +
                      "/logits.npy --save-embedding " + out + "/emb.npy --overlay " + out + "/overlay.png");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // The label map is MedSAM's mask (sigmoid at low resolution, bilinear to 256², > 0.5) of the
  // reference logits, computed here independently; label 1 for the one box.
  namespace F = torch::nn::functional;
  const at::Tensor prob = F::interpolate(torch::sigmoid(read_npy(dir + "/lowres_logits.npy")),
                                         F::InterpolateFuncOptions().size(std::vector<int64_t>{256, 256})
                                             .mode(torch::kBilinear).align_corners(false))[0][0];
  const at::Tensor mask = io::read_image(out + "/mask.png").squeeze(-1);
  const at::Tensor decided = (prob - 0.5).abs() > 1e-3;
  CHECK(torch::equal(mask.masked_select(decided), (prob > 0.5).to(at::kByte).masked_select(decided)));
  CHECK(mask.max().item<int>() == 1);
  CHECK((read_npy(out + "/logits.npy") - read_npy(dir + "/lowres_logits.npy")).abs().max().item<double>() < 1e-4);
  CHECK((read_npy(out + "/emb.npy") - read_npy(dir + "/embedding.npy")).abs().max().item<double>() < 1e-4);
  const at::Tensor overlay = io::read_image(out + "/overlay.png");
  CHECK(overlay.sizes() == at::IntArrayRef({256, 256, 3}));

  // The saved embedding replaces the encoder and gives the same logits.
  auto again = run_medsam("infer --checkpoint " + kTiny + "/weights.pth --image " + dir + "/image.png --embedding " +
                          out + "/emb.npy --box 46.67,50.73,86.28,89.66 --save-logits " + out + "/logits2.npy");
  REQUIRE(again.exit_code == 0);
  CHECK(torch::allclose(read_npy(out + "/logits2.npy"), read_npy(out + "/logits.npy"), 0, 1e-6));
}

TEST_CASE("medsam infer rejects malformed and out-of-image boxes with exit 2", "[infer][cli]") {
  const auto out = test::temp_dir("infer_cli_bad");
  const std::string base = "infer --checkpoint " + kTiny + "/weights.pth --image " + kTiny +
                           "/case_z70/image.png --output " + out + "/m.png ";
  auto malformed = run_medsam(base + "--box 1,2,3");
  CHECK(malformed.exit_code == 2);
  CHECK_THAT(malformed.err, Catch::Contains("--box '1,2,3': expected 4"));
  auto outside = run_medsam(base + "--box 10,10,300,40");
  CHECK(outside.exit_code == 2);
  CHECK_THAT(outside.err, Catch::Contains("outside the 256x256 image"));
  auto missing = run_medsam("infer --checkpoint /no/such.pth --image " + kTiny + "/case_z70/image.png --box 1,1,5,5 --output " + out + "/m.png");
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("/no/such.pth"));
}
