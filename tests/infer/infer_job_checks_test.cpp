// `medsam infer` inputs the audit found mishandled: an alpha channel that entered intensity
// normalisation, 2D --output names that failed only after the model ran, and box numbers read as hex.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <fstream>
#include <string>
#include <vector>

#include "medsam/core/error.h"
#include "medsam/infer/infer_job.h"
#include "medsam/infer/preprocess.h"
#include "medsam/infer/prompt_file.h"
#include "medsam/io/image.h"
#include "medsam/io/npy.h"
#include "tests/support/fixtures.h"
#include "tests/support/run_command.h"
#include "tests/support/tiny_sam.h"

using namespace medsam;

namespace {

// A job on `image` with one box on the fixture's object, writing probabilities to `prob`.
infer::InferJob job_checks_job(const std::string& image, const std::string& prob) {
  infer::InferJob job;
  job.checkpoint = test::tiny_checkpoint();
  job.image = image;
  job.boxes.push_back({46, 50, 86, 90});
  job.save_prob = prob;
  return job;
}

}  // namespace

TEST_CASE("an opaque alpha channel does not change a 16-bit image's probabilities", "[infer]") {
  const auto dir = test::temp_dir("job_checks_alpha");
  // The fixture scaled to 0..4080 (16-bit, not 0..255: intensities go through the percentile clip). With
  // the alpha (65535 everywhere) in it, a quarter of the values were 65535 and set the clip's top: the
  // image itself was squeezed into ~16 grey levels.
  const at::Tensor rgb = io::read_image(test::tiny_dir() + "/case_z70/image.png").to(at::kInt) * 16;
  const at::Tensor rgba = torch::cat({rgb, torch::full({256, 256, 1}, 65535, at::kInt)}, 2);
  io::write_image(dir + "/rgb.png", rgb);
  io::write_image(dir + "/rgba.png", rgba);
  REQUIRE(io::read_image(dir + "/rgba.png").size(2) == 4);
  infer::run_infer_job(job_checks_job(dir + "/rgb.png", dir + "/rgb_prob.npy"));
  infer::run_infer_job(job_checks_job(dir + "/rgba.png", dir + "/rgba_prob.npy"));
  CHECK(torch::equal(read_npy(dir + "/rgba_prob.npy"), read_npy(dir + "/rgb_prob.npy")));
  CHECK(torch::equal(infer::drop_alpha(rgba), rgb));
  CHECK(torch::equal(infer::drop_alpha(rgb), rgb));
}

TEST_CASE("a 2D --output no label writer takes is a usage error before the model loads", "[infer][cli]") {
  const auto dir = test::temp_dir("job_checks_output");
  // A checkpoint that does not exist: had the check come after loading, this would be its Error instead.
  infer::InferJob job;
  job.checkpoint = "/no/such.pth";
  job.image = test::tiny_dir() + "/case_z70/image.png";
  job.boxes.push_back({46, 50, 86, 90});
  for (const char* name : {"labels.nii.gz", "labels.npz", "labels.npy", "labels"}) {
    job.output = dir + "/" + name;
    INFO(job.output);
    CHECK_THROWS_AS(infer::run_infer_job(job), UsageError);
    CHECK_THROWS_WITH(infer::run_infer_job(job),
                      Catch::Contains(std::string("--output '") + job.output) && Catch::Contains(".png, .tif or .tiff"));
  }
  // An input read as a one-slice volume may also be answered as a volume: that passes the check.
  job.image = dir + "/slice.nii.gz";
  job.output = dir + "/labels.nii.gz";
  CHECK_THROWS_WITH(infer::run_infer_job(job), Catch::Contains("/no/such.pth"));
  job.output = dir + "/labels.npz";
  CHECK_THROWS_WITH(infer::run_infer_job(job), Catch::Contains("or a volume format"));

  const auto r = test::run_medsam("infer --checkpoint " + test::tiny_checkpoint() + " --image " + test::tiny_dir() +
                                  "/case_z70/image.png --box 46,50,86,90 --output " + dir + "/m.nii.gz");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("m.nii.gz") && Catch::Contains(".png, .tif or .tiff"));
}

TEST_CASE("box and point numbers are decimals: hex, nan and inf are refused naming the text", "[infer][cli]") {
  const std::vector<double> decimals{12, -0.5, 3, 1000};
  CHECK(infer::parse_number_list(" 12 ,-.5,+3.,1e3", 4, "--box") == decimals);
  // std::stod alone reads "0x10" as 16 and "0x1p4" as 16.
  for (const char* bad : {"0x10", "0x1p4", "1e", ".", "12abc", "nan", "inf", "", "1e999"}) {
    INFO(bad);
    const std::string text = std::string(bad) + ",10,60,60";
    CHECK_THROWS_WITH(infer::parse_number_list(text, 4, "--box"),
                      Catch::Contains("--box '" + text + "': '" + bad + "' is not a number"));
  }
  const auto dir = test::temp_dir("job_checks_numbers");
  std::ofstream(dir + "/boxes.csv") << "x0,y0,x1,y1\n10,10,60,60\n0x10,10,60,60\n";
  CHECK_THROWS_WITH(infer::read_box_file(dir + "/boxes.csv"), Catch::Contains("boxes.csv:3") && Catch::Contains("'0x10'"));
  const auto r = test::run_medsam("infer --checkpoint " + test::tiny_checkpoint() + " --image " + test::tiny_dir() +
                                  "/case_z70/image.png --box 0x10,10,60,60 --output " + dir + "/m.png");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("'0x10' is not a number"));
}
