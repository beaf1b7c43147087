// Loading checkpoints into modules: wrappers and prefixes, strict reports, arch detection, and the
// real SAM model built from presets.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/core/error.h"
#include "medsam/io/pth.h"
#include "medsam/io/safetensors.h"
#include "medsam/model/build_sam.h"
#include "medsam/model/weights.h"
#include "medsam/model/weights_export.h"
#include "tests/io/sam_keys.h"
#include "tests/support/run_command.h"

using namespace medsam;
using medsam::test::fixture_path;

namespace {

// A small module of our own: names like SAM's (nested modules, a buffer).
struct TinyNetImpl : torch::nn::Module {
  TinyNetImpl() {
    proj = register_module("proj", torch::nn::Linear(3, 4));
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({4})));
    table = register_buffer("table", torch::zeros({2, 4}));
  }
  torch::nn::Linear proj{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  at::Tensor table;
};
TORCH_MODULE(TinyNet);

NamedTensors tiny_net_weights(const std::string& prefix = "") {
  return {{prefix + "proj.weight", torch::arange(12, at::kFloat).reshape({4, 3})},
          {prefix + "proj.bias", torch::full({4}, 0.5f)},
          {prefix + "norm.weight", torch::full({4}, 2.0f)},
          {prefix + "norm.bias", torch::full({4}, -1.0f)},
          {prefix + "table", torch::ones({2, 4}, at::kDouble)}};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

// Broadcast tensors of a preset's shapes (no memory), for arch detection without a file.
NamedTensors shapes_of(const std::string& arch) {
  NamedTensors out;
  for (const auto& k : test::sam_keys(arch)) out.emplace_back(k.key, torch::zeros({1}).expand(k.shape));
  return out;
}

}  // namespace

TEST_CASE("load_weights copies a bare state dict into any module, strictly", "[model][weights]") {
  const std::string path = test::temp_dir("weights_bare") + "/w.pth";
  write_pth(path, tiny_net_weights());
  TinyNet net;
  const WeightsReport r = load_weights(*net, path);
  CHECK(r.exact());
  CHECK(r.loaded == 5);
  CHECK(r.wrapper.empty());
  CHECK(torch::equal(net->proj->weight, torch::arange(12, at::kFloat).reshape({4, 3})));
  CHECK(torch::equal(net->table, torch::ones({2, 4})));  // double in the file, float in the model
  CHECK(net->table.scalar_type() == at::kFloat);
  CHECK_FALSE(net->proj->weight.grad().defined());
}

TEST_CASE("load_weights accepts module. prefixes and {\"model\": ...} wrappers, also as safetensors", "[model][weights]") {
  const std::string dir = test::temp_dir("weights_wrapped");
  write_pth(dir + "/ddp.pth", tiny_net_weights("module."));
  TinyNet a;
  const WeightsReport r = load_weights(*a, dir + "/ddp.pth");
  CHECK(r.stripped_prefix == "module.");
  CHECK(torch::equal(a->norm->weight, torch::full({4}, 2.0f)));
  // DDP around torch.compile: the wrappers' prefixes stack.
  write_pth(dir + "/ddp_compiled.pth", tiny_net_weights("module._orig_mod."));
  TinyNet c;
  CHECK(load_weights(*c, dir + "/ddp_compiled.pth").stripped_prefix == "module._orig_mod.");
  CHECK(torch::equal(c->norm->weight, torch::full({4}, 2.0f)));

  write_safetensors(dir + "/w.safetensors", tiny_net_weights());
  TinyNet b;
  CHECK(load_weights(*b, dir + "/w.safetensors").format == "safetensors");
  CHECK(torch::equal(b->proj->bias, torch::full({4}, 0.5f)));

  const Checkpoint ck = read_checkpoint(fixture_path("sam_keys/vit_b_constant_medsam_ddp.pth"));
  CHECK(ck.wrapper == "model");
  CHECK(ck.stripped_prefix == "module.");
  CHECK(ck.root->get("epoch")->integer == 3);
  const auto keys = test::sam_keys("vit_b");
  REQUIRE(ck.tensors.size() == 314);
  for (size_t i = 0; i < keys.size(); ++i) {
    INFO(keys[i].key);
    CHECK(ck.tensors[i].first == keys[i].key);
    CHECK(ck.tensors[i].second.sizes().vec() == keys[i].shape);
    CHECK(ck.tensors[i].second.max().item<float>() == test::constant_of(keys[i].key));
  }
}

TEST_CASE("strict loading reports missing, unexpected and mismatched keys in one line", "[model][weights]") {
  const std::string dir = test::temp_dir("weights_strict");
  NamedTensors w = tiny_net_weights();
  w[0].second = torch::zeros({5, 3});  // proj.weight: [5, 3] vs [4, 3]
  write_pth(dir + "/shape.pth", w);
  TinyNet net;
  CHECK(error_of([&] { load_weights(*net, dir + "/shape.pth"); }) ==
        "checkpoint " + dir + "/shape.pth: key proj.weight has shape [5, 3], model expects [4, 3] (try --arch auto)");
  CHECK(torch::equal(net->norm->weight, torch::ones({4})));  // strict failure copies nothing
  CHECK_THAT(error_of([&] { load_weights(*net, dir + "/shape.pth", /*strict=*/false); }),
             Catch::Contains("proj.weight has shape [5, 3]"));  // as PyTorch: a size mismatch is never skipped
  CHECK(torch::equal(net->norm->weight, torch::ones({4})));

  NamedTensors w2 = tiny_net_weights();
  w2.erase(w2.begin() + 1);                               // proj.bias missing
  w2.emplace_back("extra.weight", torch::zeros({1}));    // unexpected
  write_pth(dir + "/keys.pth", w2);
  const std::string e = error_of([&] { load_weights(*net, dir + "/keys.pth"); });
  CHECK_THAT(e, Catch::Contains("1 missing keys (proj.bias)") && Catch::Contains("1 unexpected keys (extra.weight)"));

  const WeightsReport r = load_weights(*net, dir + "/keys.pth", /*strict=*/false);
  CHECK(r.loaded == 4);
  CHECK(r.missing == std::vector<std::string>{"proj.bias"});
  CHECK(torch::equal(net->norm->weight, torch::full({4}, 2.0f)));
}

TEST_CASE("guess_arch tells tiny, vit_b, vit_l and vit_h apart from shapes alone", "[model][weights]") {
  for (const char* arch : {"tiny", "vit_b", "vit_l", "vit_h"}) CHECK(guess_arch(shapes_of(arch)) == arch);
  CHECK(guess_arch(read_state_dict(fixture_path("sam_tiny/weights.pth"))) == "tiny");
  CHECK(guess_arch(tiny_net_weights()).empty());
  CHECK(config_from_checkpoint(shapes_of("vit_l"), "l.pth").image_encoder.embed_dim == 1024);
  CHECK_THAT(error_of([] { config_from_checkpoint(tiny_net_weights(), "net.pth"); }),
             Catch::Contains("net.pth") && Catch::Contains("--arch"));
}

TEST_CASE("the shape-mismatch message suggests the checkpoint's own arch", "[model][weights]") {
  Checkpoint ck;
  ck.path = "weights.pth";
  ck.tensors = shapes_of("vit_l");
  const WeightsReport r = compare_weights(shapes_of("vit_b"), ck);
  CHECK_FALSE(r.exact());
  CHECK_THAT(r.describe(), Catch::Contains("checkpoint weights.pth does not match the model") &&
                               Catch::Contains("(is this a vit_l checkpoint? try --arch auto)"));
}

TEST_CASE("build_sam(tiny) has tiny.tsv's state dict and loads the tiny fixture strictly", "[model][weights]") {
  const NamedTensors expected = expected_state_dict("tiny");
  const auto keys = test::sam_keys("tiny");
  REQUIRE(expected.size() == keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {  // same names, shapes and order as Python's state_dict()
    CHECK(expected[i].first == keys[i].key);
    CHECK(expected[i].second.sizes().vec() == keys[i].shape);
  }
  Sam sam = build_sam("tiny");
  const WeightsReport r = load_weights(*sam, fixture_path("sam_tiny/weights.pth"));
  CHECK(r.exact());
  CHECK(r.loaded == 202);
  const NamedTensors file = read_state_dict(fixture_path("sam_tiny/weights.pth"));
  for (const auto& item : sam->named_parameters()) {
    auto it = std::find_if(file.begin(), file.end(), [&](const auto& p) { return p.first == item.key(); });
    REQUIRE(it != file.end());
    CHECK(torch::equal(item.value(), it->second));
  }
}

TEST_CASE("export writes a strict, converted, re-loadable state dict", "[model][weights]") {
  const std::string dir = test::temp_dir("weights_export");
  ExportOptions o;
  o.input = fixture_path("sam_keys/vit_b_constant_medsam_ddp.pth");
  o.output = dir + "/vit_b.safetensors";
  o.dtype = "bf16";
  const ExportResult r = export_checkpoint(o);
  CHECK(r.arch == "vit_b");
  CHECK(r.tensors == 314);
  const SafetensorsFile f = read_safetensors(o.output);
  CHECK(f.tensors.size() == 314);
  for (const auto& [k, t] : f.tensors) {
    CHECK(t.scalar_type() == at::kBFloat16);
    CHECK(t.is_contiguous());
  }
  CHECK(std::find(f.metadata.begin(), f.metadata.end(), std::make_pair(std::string("arch"), std::string("vit_b"))) !=
        f.metadata.end());
  o.arch = "tiny";
  o.output = dir + "/wrong.pth";
  CHECK_THAT(error_of([&] { export_checkpoint(o); }), Catch::Contains("is this a vit_b checkpoint"));
  o.arch = "auto";
  o.dtype = "fp8";
  CHECK_THROWS_AS(export_checkpoint(o), UsageError);
  // The format follows the extension in any case; an unknown one is refused naming the file.
  o.dtype = "fp32";
  o.output = dir + "/UPPER.PTH";
  CHECK(export_checkpoint(o).format == "pth");
  o.output = dir + "/model.ckpt";
  CHECK_THAT(error_of([&] { export_checkpoint(o); }), Catch::Contains("model.ckpt: the extension must be"));
}
