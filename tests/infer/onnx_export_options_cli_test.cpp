// `medsam export` options for deployment graphs that would otherwise be silently ignored or silently
// wrong (the graphs themselves are tested in tests/model/onnx_export_test.cpp).
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "tests/support/fixtures.h"
#include "tests/support/run_command.h"

using namespace medsam;

TEST_CASE("medsam export --part encoder refuses the decoder's --masks and --postprocess", "[infer][cli]") {
  const auto dir = test::temp_dir("export_options_encoder");
  const std::string base = "export --checkpoint " + test::tiny_checkpoint() + " --output " + dir + "/enc.onnx --part encoder ";
  const auto masks = test::run_medsam(base + "--masks all");
  CHECK(masks.exit_code == 2);
  CHECK_THAT(masks.err, Catch::Contains("--masks all") && Catch::Contains("--part encoder"));
  const auto post = test::run_medsam(base + "--postprocess sam");
  CHECK(post.exit_code == 2);
  CHECK_THAT(post.err, Catch::Contains("--postprocess sam") && Catch::Contains("--part encoder"));
  CHECK_FALSE(std::filesystem::exists(dir + "/enc.onnx"));
}

TEST_CASE("medsam export --postprocess sam warns that it assumes SAM's resize-longest-side geometry", "[infer][cli]") {
  const auto dir = test::temp_dir("export_options_sam");
  const auto r = test::run_medsam("export --checkpoint " + test::tiny_checkpoint() + " --output " + dir +
                                  "/dec.onnx --postprocess sam");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("--postprocess sam") && Catch::Contains("resize-longest-side"));
  const auto plain = test::run_medsam("export --checkpoint " + test::tiny_checkpoint() + " --output " + dir + "/dec2.onnx");
  CHECK(plain.exit_code == 0);
  CHECK_THAT(plain.err, !Catch::Contains("resize-longest-side"));
}

TEST_CASE("medsam export to .pth or .safetensors refuses the options that shape an ONNX graph", "[infer][cli]") {
  const auto dir = test::temp_dir("export_options_state_dict");
  const std::string base = "export --checkpoint " + test::tiny_checkpoint() + " --output " + dir;
  // A state dict has no graph: --part encoder used to write the whole model's weights, silently.
  const auto part = test::run_medsam(base + "/w.pth --part encoder");
  CHECK(part.exit_code == 2);
  CHECK_THAT(part.err, Catch::Contains("--part encoder applies to .onnx output only") && Catch::Contains("w.pth"));
  const auto several = test::run_medsam(base + "/w.safetensors --masks all --external-data");
  CHECK(several.exit_code == 2);
  CHECK_THAT(several.err, Catch::Contains("--masks all, --external-data apply to .onnx output only"));
  const auto post = test::run_medsam(base + "/w.pt --postprocess medsam");
  CHECK(post.exit_code == 2);
  CHECK_THAT(post.err, Catch::Contains("--postprocess medsam applies to .onnx output only"));
  CHECK_FALSE(std::filesystem::exists(dir + "/w.pth"));
  CHECK_FALSE(std::filesystem::exists(dir + "/w.safetensors"));
  CHECK_FALSE(std::filesystem::exists(dir + "/w.pt"));
  // Without them the same outputs are written.
  const auto plain = test::run_medsam(base + "/w.pth");
  INFO(plain.err);
  CHECK(plain.exit_code == 0);
}
