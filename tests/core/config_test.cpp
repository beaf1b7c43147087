// Config loading: YAML files and --set overrides into typed structs, with errors that name file, line and key.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "medsam/core/config.h"
#include "medsam/core/config_unused.h"
#include "medsam/core/error.h"
#include "medsam/model/presets.h"
#include "tests/support/run_command.h"

using namespace medsam;

namespace {
std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = test::temp_dir("config") + "/" + name;
  std::ofstream(path) << text;
  return path;
}
std::string yaml_of(ModelConfig m) {
  Config c;
  c.model = std::move(m);
  return config_to_yaml(c);
}
}  // namespace

TEST_CASE("every model preset YAML in configs/model loads to exactly the built-in preset", "[config]") {
  for (const auto& name : model_preset_names()) {
    INFO("preset " << name);
    Config c = resolve_config({std::string(MEDSAM_SOURCE_DIR) + "/configs/model/" + name + ".yaml"}, {});
    CHECK(yaml_of(c.model) == yaml_of(model_preset(name)));
  }
}

TEST_CASE("the tiny preset is the sam_tiny fixture's architecture", "[config]") {
  const auto m = model_preset("tiny");
  CHECK(m.image_encoder.img_size == 256);
  CHECK(m.image_encoder.embed_dim == 96);
  CHECK(m.image_encoder.depth == 4);
  CHECK(m.image_encoder.global_attn_indexes == std::vector<int>{1, 3});
  CHECK(m.image_encoder.out_chans == 32);
  CHECK(m.prompt_encoder.image_embedding_size == 16);
  CHECK(m.mask_decoder.transformer_mlp_dim == 64);
  CHECK(m.mask_decoder.iou_head_hidden_dim == 32);
}

TEST_CASE("a partial config file keeps defaults for absent keys", "[config]") {
  const auto path = write_file("partial.yaml", "model:\n  image_encoder:\n    depth: 2\n    global_attn_indexes: [1]\n");
  Config c = resolve_config({path}, {});
  CHECK(c.model.image_encoder.depth == 2);
  CHECK(c.model.image_encoder.global_attn_indexes == std::vector<int>{1});
  CHECK(c.model.image_encoder.embed_dim == 768);  // vit_b default untouched
}

TEST_CASE("an unknown key is rejected with file, line and dotted key", "[config]") {
  const auto path = write_file("unknown.yaml", "model:\n  image_encoder:\n    depth: 2\n    dept: 3\n");
  Config c;
  REQUIRE_THROWS_AS(load_config_file(path, c), ConfigError);
  try {
    load_config_file(path, c);
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains(path + ":4:"));
    CHECK_THAT(msg, Catch::Contains("unknown key 'model.image_encoder.dept'"));
    CHECK_THAT(msg, Catch::Contains("depth"));  // lists the known keys
  }
}

TEST_CASE("an unknown top-level section is rejected", "[config]") {
  const auto path = write_file("section.yaml", "modle:\n  arch: tiny\n");
  Config c;
  CHECK_THROWS_WITH(load_config_file(path, c), Catch::Contains(path + ":1:") && Catch::Contains("unknown key 'modle'"));
}

TEST_CASE("a value of the wrong type is rejected with its line and the expected type", "[config]") {
  const auto path = write_file("type.yaml", "model:\n  image_encoder:\n    depth: twelve\n");
  Config c;
  CHECK_THROWS_WITH(load_config_file(path, c), Catch::Contains(path + ":3:") &&
                                                   Catch::Contains("'model.image_encoder.depth' expects an integer") &&
                                                   Catch::Contains("'twelve'"));
  const auto frac = write_file("frac.yaml", "model:\n  image_encoder:\n    depth: 2.5\n");
  CHECK_THROWS_WITH(load_config_file(frac, c), Catch::Contains("expects an integer"));
  const auto list = write_file("list.yaml", "model:\n  image_encoder:\n    global_attn_indexes: 3\n");
  CHECK_THROWS_WITH(load_config_file(list, c), Catch::Contains("expects a list of integers"));
}

TEST_CASE("a YAML syntax error names file and line", "[config]") {
  const auto path = write_file("syntax.yaml", "model:\n  image_encoder: [1, 2\n");
  Config c;
  CHECK_THROWS_WITH(load_config_file(path, c), Catch::Contains(path) && Catch::Contains("YAML syntax error"));
  CHECK_THROWS_WITH(load_config_file("/nonexistent/x.yaml", c), Catch::Contains("/nonexistent/x.yaml: cannot open"));
}

TEST_CASE("command-line overrides (--set) apply after files and parse YAML values", "[config]") {
  const auto path = write_file("base.yaml", "model:\n  image_encoder:\n    depth: 2\n    global_attn_indexes: [1]\n");
  Config c = resolve_config({path}, {"model.image_encoder.depth=4", "model.image_encoder.global_attn_indexes=[1, 3]",
                                     "model.image_encoder.layer_norm_eps=1e-5", "model.arch=custom"});
  CHECK(c.model.image_encoder.depth == 4);
  CHECK(c.model.image_encoder.global_attn_indexes == std::vector<int>{1, 3});
  CHECK(c.model.image_encoder.layer_norm_eps == Approx(1e-5));
  CHECK(c.model.arch == "custom");
  // Text is taken as written where YAML would cut or drop it (a comment, a tag, a directive).
  Config s = resolve_config({}, {"train.output_dir=runs #1", "train.init_checkpoint=!weights.pth",
                                 "train.resume=%j_run", "data.shards='quoted path'"});
  CHECK(s.train.output_dir == "runs #1");
  CHECK(s.train.init_checkpoint == "!weights.pth");
  CHECK(s.train.resume == "%j_run");
  CHECK(s.data.shards == "quoted path");  // a quoted value is YAML: the quotes go
  Config n = resolve_config({}, {"train.init_checkpoint=x", "train.init_checkpoint=null"});
  CHECK(n.train.init_checkpoint.empty());
}

TEST_CASE("a bad override names the override and the key", "[config]") {
  Config c;
  CHECK_THROWS_WITH(apply_config_override("model.image_encoder.detph=3", c),
                    Catch::Contains("--set model.image_encoder.detph=3") &&
                        Catch::Contains("unknown key 'model.image_encoder.detph'"));
  CHECK_THROWS_WITH(apply_config_override("model.image_encoder.depth=abc", c), Catch::Contains("expects an integer"));
  CHECK_THROWS_WITH(apply_config_override("no_equals_sign", c), Catch::Contains("expected dotted.key=value"));
  CHECK_THROWS_WITH(apply_config_override("model..depth=1", c), Catch::Contains("empty component"));
  // .inf and .nan pass `> 0` checks and break integer conversions (timeouts in ms); they are refused by key.
  CHECK_THROWS_WITH(apply_config_override("train.dist.timeout_s=.inf", c),
                    Catch::Contains("key 'train.dist.timeout_s' must be a finite number, got '.inf'"));
  CHECK_THROWS_WITH(apply_config_override("train.optimizer.lr=.nan", c), Catch::Contains("must be a finite number"));
  CHECK_THROWS_WITH(apply_config_override("train.optimizer.beta2=-.inf", c), Catch::Contains("must be a finite number"));
}

TEST_CASE("inconsistent model settings fail validation with the keys involved", "[config]") {
  CHECK_THROWS_WITH(resolve_config({}, {"model.prompt_encoder.embed_dim=128"}),
                    Catch::Contains("model.prompt_encoder.embed_dim 128") &&
                        Catch::Contains("model.image_encoder.out_chans 256"));
  CHECK_THROWS_WITH(resolve_config({}, {"model.image_encoder.global_attn_indexes=[12]"}),
                    Catch::Contains("global_attn_indexes has 12"));
  // Sizes LibTorch would refuse deep in a layer (a backtrace), or train on with NaN losses.
  CHECK_THROWS_WITH(resolve_config({}, {"model.image_encoder.layer_norm_eps=-1"}), Catch::Contains("layer_norm_eps"));
  CHECK_THROWS_WITH(resolve_config({}, {"model.image_encoder.in_chans=0"}), Catch::Contains("in_chans/out_chans"));
  CHECK_THROWS_WITH(resolve_config({}, {"model.prompt_encoder.mask_in_chans=0"}), Catch::Contains("mask_in_chans"));
  CHECK_THROWS_WITH(resolve_config({}, {"model.mask_decoder.iou_head_depth=0"}), Catch::Contains("iou_head_depth"));
  CHECK_THROWS_WITH(resolve_config({}, {"model.mask_decoder.transformer_depth=-1"}), Catch::Contains("transformer_depth"));
}

TEST_CASE("a value out of range is reported with the file line or --set that gave it", "[config]") {
  const auto path = write_file("bad_lr.yaml", "data:\n  batch_size: 4\ntrain:\n  optimizer:\n    lr: -0.5\n");
  // Every section is checked when the config is resolved (so --dump-config and eval refuse it too).
  CHECK_THROWS_WITH(resolve_config({path}, {}),
                    Catch::StartsWith(path + ":5: config: train.optimizer.lr must be > 0, got -0.5"));
  CHECK_THROWS_AS(resolve_config({path}, {}), medsam::ConfigValueError);
  // An override that fixes the file's value wins; one that breaks it is named as the source.
  CHECK_NOTHROW(resolve_config({path}, {"train.optimizer.lr=1e-4"}));
  CHECK_THROWS_WITH(resolve_config({}, {"data.batch_size=0"}),
                    Catch::StartsWith("--set data.batch_size=0: config: data.batch_size must be >= 1"));
  // Two keys in one rule: each with where it came from.
  const auto cosine = write_file("cosine.yaml", "train:\n  schedule:\n    name: cosine\n");
  CHECK_THROWS_WITH(resolve_config({cosine}, {"train.max_steps=0"}),
                    Catch::Contains("cosine needs schedule.total_steps or max_steps > 0") &&
                        Catch::Contains("train.schedule.name from " + cosine + ":3") &&
                        Catch::Contains("train.max_steps from --set train.max_steps=0"));
  // A later file overrides the origin of an earlier one.
  // (write_file starts its folder afresh: the second file goes beside the first by hand.)
  const auto first = write_file("first_lr.yaml", "train:\n  optimizer:\n    lr: -0.5\n");
  const auto later = first.substr(0, first.rfind('/')) + "/later_lr.yaml";
  std::ofstream(later) << "train:\n  optimizer: {lr: -1}\n";
  CHECK_THROWS_WITH(resolve_config({first, later}, {}), Catch::StartsWith(later + ":2: config: train.optimizer.lr"));
  // A rule broken by defaults only (nothing given) has no origin to add.
  Config defaults;
  defaults.train.epochs = 0;
  CHECK_THROWS_WITH(resolve_config({}, {}, defaults),
                    Catch::StartsWith("config: train.max_steps or epochs must be > 0"));
}

TEST_CASE("a dumped config reads back to the same config", "[config]") {
  Config original = resolve_config({}, {"model.image_encoder.depth=3", "model.image_encoder.global_attn_indexes=[0, 2]",
                                        "model.image_encoder.mlp_ratio=2.5"});
  const std::string yaml = config_to_yaml(original);
  const auto path = write_file("dumped.yaml", yaml);
  Config reread = resolve_config({path}, {});
  CHECK(config_to_yaml(reread) == yaml);
  CHECK(reread.model.image_encoder.mlp_ratio == 2.5);
}

TEST_CASE("a key said twice is rejected with both lines (yaml-cpp would read the first, silently)", "[config]") {
  const auto path = write_file("twice.yaml", "train:\n  max_steps: 5\nmodel:\n  arch: tiny\ntrain:\n  max_steps: 9\n");
  Config c;
  CHECK_THROWS_WITH(load_config_file(path, c), Catch::Contains(path + ":5:") &&
                                                   Catch::Contains("key 'train' appears twice (first on line 1)"));
  const auto nested = write_file("nested.yaml", "train:\n  optimizer:\n    lr: 1\n    lr: 2\n");
  CHECK_THROWS_WITH(load_config_file(nested, c), Catch::Contains("key 'train.optimizer.lr' appears twice"));
}

TEST_CASE("a blank or null value is no text and no list, not the string \"null\"", "[config]") {
  Config c;
  c.train.init_checkpoint = "weights.pth";
  c.train.freeze = {"prompt_encoder"};
  load_config_file(write_file("blank.yaml", "train:\n  init_checkpoint:\n  freeze: ~\n  resume: null\n"), c);
  CHECK(c.train.init_checkpoint.empty());
  CHECK(c.train.freeze.empty());
  CHECK(c.train.resume.empty());
  apply_config_override("train.output_dir=", c);
  CHECK(c.train.output_dir.empty());
  apply_config_override("train.output_dir='null'", c);  // quoted: the text itself
  CHECK(c.train.output_dir == "null");
  // A number left blank is still an error naming its key.
  CHECK_THROWS_WITH(load_config_file(write_file("blank_number.yaml", "train:\n  max_steps:\n"), c),
                    Catch::Contains("train.max_steps") && Catch::Contains("expects an integer"));
}

TEST_CASE("config_differences lists each changed, added and removed setting by dotted key", "[config]") {
  Config a, b;
  b.train.optimizer.lr = 5e-5;
  b.train.freeze = {"image_encoder", "prompt_encoder"};
  const auto diff = config_differences(config_to_yaml(a), config_to_yaml(b));
  REQUIRE(diff.size() == 2);
  CHECK(diff[0] == "train.freeze: [prompt_encoder] -> [image_encoder, prompt_encoder]");
  CHECK(diff[1] == "train.optimizer.lr: 0.0001 -> 5e-05");
  CHECK(config_differences(config_to_yaml(a), config_to_yaml(a)).empty());
  CHECK(config_differences("a: 1\n", "b: 1\n") == std::vector<std::string>{"b: (absent) -> 1", "a: 1 -> (absent)"});
}

TEST_CASE("settings switched off by another setting are listed, defaults are not", "[config]") {
  CHECK(medsam::unused_settings(Config{}).empty());
  Config c = resolve_config({}, {"data.augment.hflip=0.2", "data.augment.rot90=true", "data.balance.weights=[ct=2]",
                                 "train.schedule.min_lr_ratio=0.1", "train.validation.jitter_px=5",
                                 "data.max_objects_per_image=3", "data.prompts.negative_points=2"});
  const auto unused = medsam::unused_settings(c);
  const std::vector<std::string> expected{
      "data.augment.hflip is 0.2 but has no effect: data.augment.enabled is false",
      "data.augment.rot90 is true but has no effect: data.augment.enabled is false",
      "data.balance.weights is [ct=2] but has no effect: data.balance.by is none",
      "data.prompts.negative_points is 2 but has no effect: data.prompts.points is false",
      "data.max_objects_per_image is 3 but has no effect: data.objects_per_image is one",
      "train.schedule.min_lr_ratio is 0.1 but has no effect: train.schedule.name is constant",
      "train.validation.jitter_px is 5 but has no effect: train.validation.every_steps is 0 (validation is off)"};
  CHECK(unused == expected);
  // Switched on, the same settings act and are not listed.
  Config on = resolve_config({}, {"data.augment.enabled=true", "data.augment.hflip=0.2", "data.balance.by=modality",
                                  "data.balance.weights=[ct=2]", "train.schedule.name=cosine", "train.max_steps=10",
                                  "train.schedule.min_lr_ratio=0.1"});
  CHECK(medsam::unused_settings(on).empty());
}

TEST_CASE("integers are read in decimal: 010 is 10 (not octal 8), 0x10 is refused (not 16)", "[config]") {
  CHECK(resolve_config({}, {"train.max_steps=010"}).train.max_steps == 10);
  CHECK_THROWS_WITH(resolve_config({}, {"train.max_steps=0x10"}),
                    Catch::Contains("train.max_steps") && Catch::Contains("written in decimal, got '0x10'"));
  CHECK_THROWS_WITH(resolve_config({}, {"train.max_steps=0o10"}), Catch::Contains("got '0o10'"));
  CHECK(resolve_config({}, {"train.max_steps=+12"}).train.max_steps == 12);
  CHECK(resolve_config({}, {"train.max_steps=0"}).train.max_steps == 0);
  CHECK(resolve_config({}, {"model.image_encoder.global_attn_indexes=[2, 5, 8, 11]"}).model.image_encoder.global_attn_indexes ==
        std::vector<int>{2, 5, 8, 11});
  CHECK(resolve_config({}, {"model.image_encoder.global_attn_indexes=[2, 05, 8, 11]"}).model.image_encoder.global_attn_indexes ==
        std::vector<int>{2, 5, 8, 11});
  CHECK_THROWS_WITH(resolve_config({}, {"model.image_encoder.global_attn_indexes=[2, 0x5]"}), Catch::Contains("got '0x5'"));
  CHECK_THROWS_WITH(resolve_config({}, {"model.image_encoder.depth=99999999999"}), Catch::Contains("got '99999999999'"));
}

TEST_CASE("a config file with several YAML documents, or a key that is not a name, is refused naming the file", "[config]") {
  Config c;
  const auto two = write_file("two_docs.yaml", "train:\n  max_steps: 5\n---\ntrain:\n  max_steps: 7\n");
  CHECK_THROWS_WITH(load_config_file(two, c), Catch::Contains(two) && Catch::Contains("2 YAML documents"));
  const auto listkey = write_file("list_key.yaml", "train:\n  [a]: 1\n");
  CHECK_THROWS_WITH(load_config_file(listkey, c), Catch::Contains(listkey + ":2") && Catch::Contains("not a name"));
  // One document with a leading '---' is fine.
  const auto one = write_file("one_doc.yaml", "---\ntrain:\n  max_steps: 5\n");
  load_config_file(one, c);
  CHECK(c.train.max_steps == 5);
}

TEST_CASE("sizes LibTorch would fail on, and balance weights that are not numbers, fail validation naming the key",
          "[config]") {
  CHECK_THROWS_WITH(resolve_config({}, {"model.mask_decoder.iou_head_hidden_dim=0"}), Catch::Contains("iou_head_hidden_dim"));
  CHECK_THROWS_WITH(resolve_config({}, {"model.image_encoder.mlp_ratio=0.001"}),
                    Catch::Contains("int(embed_dim * mlp_ratio) must be >= 1"));
  for (const char* bad : {"mr=1abc", "mr=inf", "mr=nan", "=1", "mr=", "mr=-1"}) {
    INFO(bad);
    CHECK_THROWS_WITH(resolve_config({}, {std::string("data.balance.weights=[") + bad + "]"}),
                      Catch::Contains("data.balance.weights") && Catch::Contains(std::string("'") + bad + "'"));
  }
  CHECK(data::parse_group_ratio("us=2.5") == std::make_pair(std::string("us"), 2.5));
  CHECK_NOTHROW(resolve_config({}, {"data.balance.weights=[ct=1, us=0]"}));
  CHECK_THROWS_WITH(resolve_config({}, {"train.dist.timeout_s=1e300"}), Catch::Contains("at most 604800"));
}
