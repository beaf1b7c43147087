// ONNX export (medsam/model/onnx_export.h): the graphs run in ONNX Runtime (onnxruntime-node, installed by
// scripts/setup-onnxruntime) and must give the Python reference's fixture outputs and our own model's, and
// they must pass ONNX's own checker (python3-onnx, full check with shape inference).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "medsam/core/directory.h"
#include "medsam/core/error.h"
#include "medsam/infer/preprocess.h"
#include "medsam/io/npy.h"
#include "medsam/model/build_sam.h"
#include "medsam/model/onnx_export.h"
#include "medsam/model/presets.h"
#include "medsam/model/resolution.h"
#include "medsam/model/weights.h"
#include "tests/io/python_helper.h"
#include "tests/support/fixtures.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"
#include "tests/support/tiny_sam.h"

using namespace medsam;

namespace {

// The node_modules folder holding onnxruntime-node, or "" (then the caller skips).
std::string onnxruntime_modules() {
  const auto r = test::run_command(test::source_file("scripts/setup-onnxruntime") + " --where");
  if (r.exit_code != 0) return "";
  std::string dir = r.out;
  while (!dir.empty() && (dir.back() == '\n' || dir.back() == ' ')) dir.pop_back();
  return dir;
}

#define NEEDS_ONNXRUNTIME(modules)                                                             \
  const std::string modules = onnxruntime_modules();                                          \
  if (modules.empty()) MEDSAM_SKIP("needs onnxruntime-node: run scripts/setup-onnxruntime");

// Runs `model` in ONNX Runtime on the named inputs; returns its outputs by name.
std::map<std::string, at::Tensor> run_onnxruntime(const std::string& modules, const std::string& model,
                                                  const std::map<std::string, at::Tensor>& inputs,
                                                  const std::vector<std::string>& outputs) {
  const std::string dir = test::temp_dir("ort_run");
  std::string args;
  for (const auto& [name, t] : inputs) {
    const std::string file = dir + "/in_" + name + ".npy";
    write_npy(file, t.contiguous());
    args += " " + name + "=" + file;
  }
  const auto r = test::run_command("NODE_PATH=" + modules + " node " + test::source_file("tests/model/ort_run.js") +
                                   " " + model + " " + dir + "/out" + args);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, at::Tensor> out;
  for (const auto& name : outputs) out[name] = read_npy(dir + "/out/" + name + ".npy");
  return out;
}

// The bar for ONNX Runtime against the reference or our model: max abs diff <= tol (absolute only).
void check_within(const at::Tensor& actual, const at::Tensor& expected, const std::string& what, double tol = 1e-4) {
  REQUIRE(actual.sizes() == expected.sizes());
  const double diff = (actual - expected).abs().max().item<double>();
  INFO(what << ": max abs diff " << diff);
  CHECK(diff <= tol);
}


// SamOnnxModel's inputs for boxes (each as two corner points labelled 2, 3), no mask prompt.
std::map<std::string, at::Tensor> box_inputs(const at::Tensor& embedding, const at::Tensor& boxes_xyxy,
                                             std::vector<float> orig_hw) {
  const int64_t n = boxes_xyxy.size(0);
  return {{"image_embeddings", embedding},
          {"point_coords", boxes_xyxy.reshape({n, 2, 2})},
          {"point_labels", torch::tensor({2.0f, 3.0f}).repeat({n, 1})},
          {"mask_input", torch::zeros({1, 1, 64, 64})},
          {"has_mask_input", torch::zeros({1})},
          {"orig_im_size", torch::tensor(orig_hw)}};
}

at::Tensor bilinear(const at::Tensor& x, int64_t h, int64_t w) {
  namespace F = torch::nn::functional;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{h, w})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

const std::vector<std::string> kMedsamOutputs{"probabilities", "iou_predictions", "low_res_masks"};
const std::vector<std::string> kSamOutputs{"masks", "iou_predictions", "low_res_masks"};

}  // namespace

TEST_CASE("ONNX image encoder gives the reference embedding in ONNX Runtime", "[model][onnx]") {
  NEEDS_ONNXRUNTIME(modules);
  torch::NoGradGuard ng;
  Sam sam = test::tiny_sam_from_fixture();
  const std::string model = test::temp_dir("onnx_encoder") + "/encoder.onnx";
  const auto r = export_onnx(sam, OnnxExportOptions{"encoder"}, model);
  CHECK(r.inputs == std::vector<std::string>{"image"});
  CHECK(r.outputs == std::vector<std::string>{"image_embeddings"});
  // Two images in one batch (the batch axis is dynamic): each matches its own fixture.
  const test::TinyCase a = test::read_tiny_case("case_z70"), b = test::read_tiny_case("case_z90");
  const at::Tensor images = at::cat({infer::preprocess_image(read_npy(a.dir + "/image.npy"), 256),
                                     infer::preprocess_image(read_npy(b.dir + "/image.npy"), 256)});
  const auto out = run_onnxruntime(modules, model, {{"image", images}}, {"image_embeddings"});
  const at::Tensor emb = out.at("image_embeddings");
  REQUIRE(emb.sizes() == at::IntArrayRef{2, 32, 16, 16});
  check_within(emb.slice(0, 0, 1), a.npy("embedding.npy"), "case_z70 embedding");
  check_within(emb.slice(0, 1, 2), b.npy("embedding.npy"), "case_z90 embedding");
}

TEST_CASE("ONNX external data: weights in MODEL.onnx.data load in ONNX Runtime with the same result", "[model][onnx]") {
  NEEDS_ONNXRUNTIME(modules);
  torch::NoGradGuard ng;
  Sam sam = test::tiny_sam_from_fixture();
  const std::string dir = test::temp_dir("onnx_external");
  OnnxExportOptions options{"encoder"};
  options.external_data = true;
  const auto r = export_onnx(sam, options, dir + "/encoder.onnx");
  CHECK(r.external_data);
  const auto data_size = std::filesystem::file_size(dir + "/encoder.onnx.data");
  CHECK(data_size > 2'400'000);                                    // the weights
  CHECK(std::filesystem::file_size(dir + "/encoder.onnx") < 100'000);  // only the graph
  for (const auto& e : medsam::list_directory(dir))  // both temporaries renamed into place
    CHECK(e.name.find(".tmp.") == std::string::npos);
  // Moved together to another folder (the location is relative), the pair still loads.
  const std::string moved = test::temp_dir("onnx_external_moved");
  std::filesystem::rename(dir + "/encoder.onnx", moved + "/encoder.onnx");
  std::filesystem::rename(dir + "/encoder.onnx.data", moved + "/encoder.onnx.data");
  const test::TinyCase c = test::read_tiny_case("case_z70");
  const auto out = run_onnxruntime(modules, moved + "/encoder.onnx",
                                   {{"image", infer::preprocess_image(read_npy(c.dir + "/image.npy"), 256)}},
                                   {"image_embeddings"});
  check_within(out.at("image_embeddings"), c.npy("embedding.npy"), "embedding");
}

TEST_CASE("ONNX decoder with MedSAM post-processing gives the reference box logits and probabilities",
          "[model][onnx]") {
  NEEDS_ONNXRUNTIME(modules);
  torch::NoGradGuard ng;
  Sam sam = test::tiny_sam_from_fixture();
  const std::string model = test::temp_dir("onnx_decoder") + "/decoder.onnx";
  const auto r = export_onnx(sam, OnnxExportOptions{}, model);
  CHECK(r.outputs == kMedsamOutputs);
  for (const std::string name : {"case_z70", "case_z90"}) {
    INFO(name);
    const test::TinyCase c = test::read_tiny_case(name);
    // A non-square original size: probabilities are MedSAM's sigmoid, then bilinear straight to (H, W).
    const auto out = run_onnxruntime(modules, model,
                                     box_inputs(c.npy("embedding.npy"), c.box.view({1, 4}), {300, 200}),
                                     kMedsamOutputs);
    check_within(out.at("low_res_masks"), c.npy("lowres_logits.npy"), "low_res_masks");
    check_within(out.at("iou_predictions"), c.npy("iou.npy"), "iou_predictions");
    check_within(out.at("probabilities"), bilinear(at::sigmoid(c.npy("lowres_logits.npy")), 300, 200),
                "probabilities");
  }
}

TEST_CASE("ONNX decoder takes several boxes and a mask prompt in one call, as our decoder does", "[model][onnx]") {
  NEEDS_ONNXRUNTIME(modules);
  torch::NoGradGuard ng;
  Sam sam = test::tiny_sam_from_fixture();
  const std::string model = test::temp_dir("onnx_decoder_batch") + "/decoder.onnx";
  export_onnx(sam, OnnxExportOptions{}, model);
  const test::TinyCase c = test::read_tiny_case("case_z70");
  const at::Tensor embedding = c.npy("embedding.npy");
  const at::Tensor boxes =
      at::cat({c.box.view({1, 4}), torch::tensor({20.f, 30.f, 120.f, 90.f, 100.f, 100.f, 200.f, 250.f}).view({2, 4})});
  Prompts p;
  p.boxes = boxes.view({3, 1, 4});
  const MaskPrediction ours = sam->decode(embedding, p, /*multimask_output=*/false);
  const auto out = run_onnxruntime(modules, model, box_inputs(embedding, boxes, {256, 256}), kMedsamOutputs);
  check_within(out.at("low_res_masks"), ours.low_res_logits, "3 boxes: low_res_masks");
  check_within(out.at("iou_predictions"), ours.iou, "3 boxes: iou_predictions");

  // The previous answer as the mask prompt (has_mask_input 1): the mask_downscaling branch.
  Prompts pm;
  pm.boxes = boxes.slice(0, 0, 1).view({1, 1, 4});
  pm.mask_inputs = c.npy("lowres_logits.npy");
  const MaskPrediction refined = sam->decode(embedding, pm, false);
  auto inputs = box_inputs(embedding, boxes.slice(0, 0, 1), {256, 256});
  inputs["mask_input"] = pm.mask_inputs;
  inputs["has_mask_input"] = torch::ones({1});
  const auto out_mask = run_onnxruntime(modules, model, inputs, kMedsamOutputs);
  check_within(out_mask.at("low_res_masks"), refined.low_res_logits, "mask prompt: low_res_masks");
  CHECK((refined.low_res_logits - c.npy("lowres_logits.npy")).abs().max().item<double>() > 1e-3);  // it mattered
}

TEST_CASE("ONNX decoder with SAM post-processing matches SamOnnxModel: every mask, clicks, resize and crop",
          "[model][onnx]") {
  NEEDS_ONNXRUNTIME(modules);
  torch::NoGradGuard ng;
  Sam sam = test::tiny_sam_from_fixture();
  const std::string dir = test::temp_dir("onnx_decoder_sam");
  OnnxExportOptions all{"decoder", "all", "sam"};
  export_onnx(sam, all, dir + "/all.onnx");
  OnnxExportOptions single{"decoder", "single", "sam"};
  export_onnx(sam, single, dir + "/single.onnx");
  const test::TinyCase c = test::read_tiny_case("case_z90");
  const at::Tensor embedding = c.npy("embedding.npy");

  // Every mask token: tokens 1..3 are the reference's multimask output.
  const auto out = run_onnxruntime(modules, dir + "/all.onnx",
                                   box_inputs(embedding, c.box.view({1, 4}), {200, 300}), kSamOutputs);
  const at::Tensor low = out.at("low_res_masks");
  REQUIRE(low.sizes() == at::IntArrayRef{1, 4, 64, 64});
  check_within(low.slice(1, 0, 1), c.npy("lowres_logits.npy"), "token 0");
  check_within(low.slice(1, 1, 4), c.npy("multimask_logits.npy"), "tokens 1-3");
  check_within(out.at("iou_predictions").slice(1, 1, 4), c.npy("multimask_iou.npy"), "multimask iou");
  // SAM's mask_postprocessing: to 256x256, crop the longest-side-resized extent (256 * 200/300 -> 171 rows), to (H, W).
  const at::Tensor expected = bilinear(bilinear(low, 256, 256).slice(2, 0, 171), 200, 300);
  check_within(out.at("masks"), expected, "masks", 2e-4);

  // Two clicks + SamOnnxModel's padding point: 3 points, so the single mask is token 0 = the reference's.
  const at::Tensor pad_point = torch::zeros({1, 1, 2});
  std::map<std::string, at::Tensor> clicks = box_inputs(embedding, torch::zeros({1, 4}), {256, 256});
  clicks["point_coords"] = at::cat({c.point_coords, pad_point}, 1);
  clicks["point_labels"] = at::cat({c.point_labels.to(at::kFloat), torch::full({1, 1}, -1.0f)}, 1);
  const auto click_out = run_onnxruntime(modules, dir + "/single.onnx", clicks, kSamOutputs);
  check_within(click_out.at("low_res_masks"), c.npy("point_logits.npy"), "two clicks");

  // One click + padding: 2 points, so the best-scored of tokens 1..3 (SamOnnxModel.select_masks).
  clicks["point_coords"] = at::cat({c.point_coords.slice(1, 0, 1), pad_point}, 1);
  clicks["point_labels"] = torch::tensor({1.0f, -1.0f}).view({1, 2});
  const auto one = run_onnxruntime(modules, dir + "/single.onnx", clicks, kSamOutputs);
  Prompts p;
  p.point_coords = c.point_coords.slice(1, 0, 1);
  p.point_labels = torch::ones({1, 1});
  const MaskPrediction multi = sam->decode(embedding, p, /*multimask_output=*/true);
  const int64_t best = multi.iou.argmax(1).item<int64_t>();
  INFO("best multimask token " << best + 1);
  check_within(one.at("low_res_masks"), multi.low_res_logits.slice(1, best, best + 1), "one click");
  check_within(one.at("iou_predictions"), multi.iou.slice(1, best, best + 1), "one click iou");
}

TEST_CASE("exported ONNX graphs pass ONNX's full checker", "[model][onnx]") {
  const std::string python = test::python_with("onnx");
  if (python.empty()) MEDSAM_SKIP("needs python3-onnx (scripts/setup-deps installs it)");
  torch::NoGradGuard ng;
  Sam sam = test::tiny_sam_from_fixture();
  const std::string dir = test::temp_dir("onnx_check");
  export_onnx(sam, OnnxExportOptions{"encoder"}, dir + "/encoder.onnx");
  export_onnx(sam, OnnxExportOptions{}, dir + "/decoder.onnx");
  export_onnx(sam, OnnxExportOptions{"decoder", "all", "sam"}, dir + "/decoder_sam.onnx");
  const auto r = test::run_command(
      python + " -c \"import onnx, sys\nfor f in sys.argv[1:]:\n  onnx.checker.check_model(f, full_check=True)\n"
               "  m = onnx.load(f)\n  print(f, m.opset_import[0].version, [i.name for i in m.graph.input])\" " +
      dir + "/encoder.onnx " + dir + "/decoder.onnx " + dir + "/decoder_sam.onnx");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("encoder.onnx 17 ['image']") != std::string::npos);
  CHECK(r.out.find("decoder.onnx 17 ['image_embeddings', 'point_coords', 'point_labels', 'mask_input', "
                   "'has_mask_input', 'orig_im_size']") != std::string::npos);
}

TEST_CASE("medsam export writes ONNX graphs and rejects what ONNX export cannot do", "[tools][onnx]") {
  const std::string dir = test::temp_dir("onnx_cli");
  const auto ok = test::run_medsam("export --checkpoint " + test::tiny_checkpoint() + " --output " + dir +
                                   "/enc.onnx --part encoder");
  INFO(ok.out << ok.err);
  REQUIRE(ok.exit_code == 0);
  CHECK(ok.out.find("onnx, tiny") != std::string::npos);
  std::ifstream f(dir + "/enc.onnx", std::ios::binary | std::ios::ate);
  CHECK(f.tellg() > 2'000'000);  // the tiny encoder's 2.4 MB of weights are inside

  const auto fp16 = test::run_medsam("export --checkpoint " + test::tiny_checkpoint() + " --output " + dir +
                                     "/x.onnx --dtype fp16");
  CHECK(fp16.exit_code == 2);
  CHECK(fp16.err.find("ONNX export writes fp32 graphs only") != std::string::npos);
  const auto part = test::run_medsam("export --checkpoint " + test::tiny_checkpoint() + " --output " + dir +
                                     "/x.onnx --part neck");
  CHECK(part.exit_code == 2);
  CHECK(part.err.find("--part") != std::string::npos);
  const auto ext = test::run_medsam("export --checkpoint " + test::tiny_checkpoint() + " --output " + dir + "/x.onx");
  CHECK(ext.exit_code == 2);
  CHECK(ext.err.find(".onnx") != std::string::npos);
}

TEST_CASE("ONNX export with external data: a failed rename leaves no temporaries, an inline re-export no stale .data",
          "[tools][onnx]") {
  const std::string dir = test::temp_dir("onnx_cli_external");
  const std::string export_cmd = "export --checkpoint " + test::tiny_checkpoint() + " --part encoder --output ";
  std::filesystem::create_directories(dir + "/blocked.onnx.data");  // the data file cannot be renamed onto this
  const auto blocked = test::run_medsam(export_cmd + dir + "/blocked.onnx --external-data");
  CHECK(blocked.exit_code != 0);
  CHECK_THAT(blocked.err, Catch::Contains("blocked.onnx.data"));
  for (const auto& e : medsam::list_directory(dir)) {
    INFO(e.name);
    CHECK(e.name.find(".tmp.") == std::string::npos);
  }
  REQUIRE(test::run_medsam(export_cmd + dir + "/enc.onnx --external-data").exit_code == 0);
  REQUIRE(std::filesystem::exists(dir + "/enc.onnx.data"));
  const auto inline_again = test::run_medsam(export_cmd + dir + "/enc.onnx");
  CHECK(inline_again.exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(dir + "/enc.onnx.data"));
  CHECK(std::filesystem::file_size(dir + "/enc.onnx") > 2'000'000);
}

TEST_CASE("an exported ONNX file reads back: inputs, symbolic axes, metadata, weights, and medsam info prints it",
          "[model][onnx]") {
  torch::NoGradGuard ng;
  Sam sam = test::tiny_sam_from_fixture();
  const std::string dir = test::temp_dir("onnx_info");
  const auto r = export_onnx(sam, OnnxExportOptions{}, dir + "/decoder.onnx");
  const onnx::ModelInfo info = onnx::read_onnx_info(dir + "/decoder.onnx");
  CHECK(info.ir_version == 8);
  CHECK(info.opset == 17);
  CHECK(info.producer_name == "medsam");
  REQUIRE(info.inputs.size() == 6);
  CHECK(info.inputs[1].name == "point_coords");
  REQUIRE(info.inputs[1].shape.size() == 3);
  CHECK(info.inputs[1].shape[0].param == "num_prompts");
  CHECK(info.inputs[1].shape[1].param == "num_points");
  CHECK(info.inputs[1].shape[2].value == 2);
  REQUIRE(info.outputs.size() == 3);
  CHECK(info.outputs[0].name == "probabilities");
  CHECK(info.nodes == r.nodes);
  CHECK(info.initializers.size() == r.initializers);
  CHECK(std::find(info.metadata.begin(), info.metadata.end(),
                  std::pair<std::string, std::string>{"mask_threshold", "0.5"}) != info.metadata.end());
  // Every weight of the decoder half is inside, whole.
  uint64_t decoder_values = 0;
  for (const auto& p : sam->named_parameters(true))
    if (p.key().rfind("mask_decoder.", 0) == 0) decoder_values += p.value().numel();
  uint64_t values = 0;
  for (const auto& t : info.initializers) {
    int64_t n = 1;
    for (int64_t d : t.dims) n *= d;
    CHECK(t.bytes == uint64_t(n) * 4 * (t.type == 7 ? 2 : 1));  // float32, or int64 shapes
    values += uint64_t(n);
  }
  CHECK(values > decoder_values);

  const auto cli = test::run_medsam("info " + dir + "/decoder.onnx");
  INFO(cli.out << cli.err);
  REQUIRE(cli.exit_code == 0);
  CHECK_THAT(cli.out, Catch::Contains("format: ONNX (IR 8, opset 17)") && Catch::Contains("part: prompt_decoder") &&
                          Catch::Contains("point_coords float32 (num_prompts, num_points, 2)") &&
                          Catch::Contains("nodes: "));

  // External data is reported as such.
  OnnxExportOptions external{"encoder"};
  external.external_data = true;
  export_onnx(sam, external, dir + "/encoder.onnx");
  const auto enc = test::run_medsam("info " + dir + "/encoder.onnx");
  CHECK_THAT(enc.out, Catch::Contains("in the external data file") && Catch::Contains("image float32 (batch, 3, 256, 256)"));
  // A short or missing data file is named, exit 1 (a runtime would fail later and less clearly).
  std::filesystem::resize_file(dir + "/encoder.onnx.data", 1000);
  const auto shorter = test::run_medsam("info " + dir + "/encoder.onnx");
  CHECK(shorter.exit_code == 1);
  CHECK_THAT(shorter.err, Catch::Contains("encoder.onnx.data, which holds 1000"));
  std::filesystem::remove(dir + "/encoder.onnx.data");
  const auto missing = test::run_medsam("info " + dir + "/encoder.onnx");
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("encoder.onnx.data, which is missing"));
}

TEST_CASE("malformed ONNX bytes give an error naming the file, never a crash", "[model][onnx]") {
  torch::NoGradGuard ng;
  Sam sam = test::tiny_sam_from_fixture();
  const std::string bytes = onnx::serialize_onnx(prompt_decoder_onnx(sam, OnnxExportOptions{}));
  REQUIRE_NOTHROW(onnx::parse_onnx_info(bytes, "whole.onnx"));
  // Every truncation either parses (a prefix that ends between top-level fields) or throws medsam::Error.
  int refused = 0;
  for (size_t n = 0; n < bytes.size(); n += 97) {
    try {
      onnx::parse_onnx_info(bytes.substr(0, n), "cut.onnx");
    } catch (const Error& e) {
      ++refused;
      CHECK_THAT(e.what(), Catch::Contains("cut.onnx: not a valid ONNX model"));
    }
  }
  CHECK(refused > 0);
  // Flipped bytes: same rule.
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string b = bytes;
    for (int k = 0; k < 4; ++k) b[rng() % b.size()] = static_cast<char>(rng());
    try {
      onnx::parse_onnx_info(b, "flipped.onnx");
    } catch (const Error&) {
    }
  }
  const auto cli = test::run_medsam("info " + test::tiny_checkpoint() + ".onnx");
  CHECK(cli.exit_code == 1);
  CHECK_THAT(cli.err, Catch::Contains("weights.pth.onnx"));
}

TEST_CASE("ONNX graphs of a model at another input size (128² from the 256² checkpoint) match the model",
          "[model][onnx]") {
  NEEDS_ONNXRUNTIME(modules);
  torch::NoGradGuard ng;
  Sam sam = build_sam(at_input_size(model_preset("tiny"), 128));
  load_weights(*sam, test::tiny_checkpoint(), /*strict=*/true);  // pos_embed and global rel-pos tables resized
  sam->eval();
  const std::string dir = test::temp_dir("onnx_128");
  export_onnx(sam, OnnxExportOptions{"encoder"}, dir + "/encoder.onnx");
  export_onnx(sam, OnnxExportOptions{}, dir + "/decoder.onnx");
  const test::TinyCase c = test::read_tiny_case("case_z70");
  const at::Tensor image = infer::preprocess_image(read_npy(c.dir + "/image.npy"), 128);
  const at::Tensor ours = sam->encode(image);
  REQUIRE(ours.sizes() == at::IntArrayRef{1, 32, 8, 8});
  const auto enc = run_onnxruntime(modules, dir + "/encoder.onnx", {{"image", image}}, {"image_embeddings"});
  check_within(enc.at("image_embeddings"), ours, "128² embedding");

  const at::Tensor box = c.box.view({1, 4}) / 2;  // the box in the 128² frame
  Prompts p;
  p.boxes = box.view({1, 1, 4});
  const MaskPrediction pred = sam->decode(ours, p, false);
  auto inputs = box_inputs(ours, box, {256, 256});
  inputs["mask_input"] = torch::zeros({1, 1, 32, 32});
  const auto dec = run_onnxruntime(modules, dir + "/decoder.onnx", inputs, kMedsamOutputs);
  check_within(dec.at("low_res_masks"), pred.low_res_logits, "128² low_res_masks");
  check_within(dec.at("iou_predictions"), pred.iou, "128² iou");
}
