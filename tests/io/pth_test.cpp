// Reading torch.save files without Python: the committed fixtures, values, strides, shared storages,
// training checkpoints, round trips through our writer, and the errors hostile files must produce.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <chrono>
#include <regex>
#include <set>

#include "medsam/core/error.h"
#include "medsam/io/npy.h"
#include "medsam/io/pth.h"
#include "medsam/io/zip.h"
#include "tests/io/pickle_bytes.h"
#include "tests/io/python_helper.h"
#include "tests/io/sam_keys.h"

using namespace medsam;
using medsam::test::fixture_path;

namespace {

// A byte string literal that may hold NULs.
template <size_t N>
std::string bytes_of(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}
std::string dtype_name(const at::Tensor& t) { return t.scalar_type() == at::kFloat ? "float32" : c10::toString(t.scalar_type()); }
}  // namespace

TEST_CASE("the tiny fixture's 202 tensors have tiny.tsv's names, order, shapes and dtypes", "[io][pth]") {
  const auto start = std::chrono::steady_clock::now();
  const NamedTensors sd = read_state_dict(fixture_path("sam_tiny/weights.pth"));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  WARN("read sam_tiny/weights.pth (2.5 MB) in " << ms << " ms");
  const auto keys = test::sam_keys("tiny");
  REQUIRE(sd.size() == 202);
  REQUIRE(keys.size() == 202);
  int64_t values = 0;
  for (size_t i = 0; i < sd.size(); ++i) {
    INFO(keys[i].key);
    CHECK(sd[i].first == keys[i].key);
    CHECK(sd[i].second.sizes().vec() == keys[i].shape);
    CHECK(dtype_name(sd[i].second) == keys[i].dtype);
    values += sd[i].second.numel();
  }
  CHECK(values == 605452);  // tiny.tsv's header
  // Random weights (README): no tensor is all zero, and every value is finite.
  for (const auto& [k, t] : sd) CHECK(t.abs().sum().item<double>() > 0);
}

TEST_CASE("vit_b_constant.pth: each tensor is its key's constant, broadcast with stride 0", "[io][pth]") {
  const PickleRef root = read_pth(fixture_path("sam_keys/vit_b_constant.pth"));
  const NamedTensors sd = tensors_of_dict(*root, "vit_b_constant.pth");
  const auto keys = test::sam_keys("vit_b");
  REQUIRE(sd.size() == 314);
  for (size_t i = 0; i < sd.size(); ++i) {
    INFO(keys[i].key);
    REQUIRE(sd[i].first == keys[i].key);
    const at::Tensor& t = sd[i].second;
    CHECK(t.sizes().vec() == keys[i].shape);
    CHECK(t.scalar_type() == at::kFloat);
    const float c = test::constant_of(keys[i].key);
    CHECK(t.min().item<float>() == c);
    CHECK(t.max().item<float>() == c);
    for (int64_t d = 0; d < t.dim(); ++d)  // saved as torch.full(()).expand(shape)
      if (t.size(d) > 1) CHECK(t.stride(d) == 0);
  }
  // state_dict() keeps per-module versions in OrderedDict._metadata, set by BUILD.
  REQUIRE(root->dict_type == "collections.OrderedDict");
  REQUIRE(root->attributes);
  const PickleValue* meta = root->attributes->get("_metadata");
  REQUIRE(meta);
  CHECK(meta->is_dict());
  CHECK(meta->entries.size() > 100);
  const PickleValue* top = meta->get("");
  REQUIRE(top);
  CHECK(top->get("version")->integer == 1);
}

TEST_CASE("a MedSAM DDP training checkpoint reads as a value tree with model, epoch and optimizer", "[io][pth]") {
  const PickleRef root = read_pth(fixture_path("sam_keys/vit_b_constant_medsam_ddp.pth"));
  REQUIRE(root->is_dict());
  REQUIRE(root->get("epoch"));
  CHECK(root->get("epoch")->integer == 3);
  const PickleValue* model = root->get("model");
  REQUIRE(model);
  const NamedTensors sd = tensors_of_dict(*model, "ddp");
  REQUIRE(sd.size() == 314);
  CHECK(sd[0].first == "module.image_encoder.pos_embed");
  const PickleValue* groups = root->get("optimizer")->get("param_groups");
  REQUIRE(groups->kind == PickleValue::Kind::List);
  const PickleValue& g = *groups->items[0];
  CHECK(g.get("lr")->real == Approx(1e-4));
  CHECK(g.get("betas")->kind == PickleValue::Kind::Tuple);
  CHECK(g.get("betas")->items[1]->real == Approx(0.999));
  CHECK(g.get("amsgrad")->boolean == false);
  CHECK(g.get("params")->items.size() == 3);
}

TEST_CASE("write_pth then read_pth is bit-identical, in order", "[io][pth]") {
  const std::string path = test::temp_dir("pth_roundtrip") + "/tiny.pth";
  const NamedTensors sd = read_state_dict(fixture_path("sam_tiny/weights.pth"));
  NamedTensors extra = sd;
  extra.emplace_back("half", torch::randn({3, 5}).to(at::kHalf));
  extra.emplace_back("bf16", torch::randn({7}).to(at::kBFloat16));
  extra.emplace_back("long", torch::arange(-3, 9, at::kLong));
  extra.emplace_back("bool", torch::tensor({true, false, true}));
  extra.emplace_back("view", torch::arange(24, at::kFloat).reshape({4, 6}).t().slice(0, 1, 4));
  write_pth(path, extra);
  const NamedTensors back = read_state_dict(path);
  REQUIRE(back.size() == extra.size());
  for (size_t i = 0; i < back.size(); ++i) {
    INFO(extra[i].first);
    CHECK(back[i].first == extra[i].first);
    CHECK(back[i].second.scalar_type() == extra[i].second.scalar_type());
    CHECK(torch::equal(back[i].second, extra[i].second));
    CHECK(back[i].second.is_contiguous());
  }
}

TEST_CASE("read_pth_metadata gives the values and every tensor's dtype and shape without reading data", "[io][pth]") {
  const std::string path = fixture_path("sam_keys/vit_b_constant_medsam_ddp.pth");
  const PickleRef full = read_pth(path), meta = read_pth_metadata(path);
  CHECK(meta->get("epoch")->integer == 3);
  const NamedTensors a = tensors_of_dict(*full->get("model"), "full"), b = tensors_of_dict(*meta->get("model"), "meta");
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(b[i].first == a[i].first);
    CHECK(b[i].second.is_meta());
    CHECK(b[i].second.sizes() == a[i].second.sizes());
    CHECK(b[i].second.strides() == a[i].second.strides());
    CHECK(b[i].second.scalar_type() == a[i].second.scalar_type());
  }
  // The same checks as a full read: a view past its record is still refused.
  const std::string dir = test::temp_dir("pth_meta");
  const std::string bad = test::torch_archive(test::pk_state_dict_1d(4, 0, 10, 1), {{"0", std::string(16, '\0')}}, "pth_meta_bad");
  std::ofstream(dir + "/bad.pth", std::ios::binary) << bad;
  CHECK_THROWS_WITH(read_pth_metadata(dir + "/bad.pth"), Catch::Contains("needs 10 elements but its storage holds 4"));
}

TEST_CASE("tensors that share a storage in the file share it after loading", "[io][pth]") {
  // storage '0' holds 6 floats; a = [0:6], b = [2:5] on the same storage.
  const std::string pickle = "\x80\x02}(" + test::pk_str("a") + test::pk_global("torch._utils", "_rebuild_tensor_v2") +
                             "((" + test::pk_str("storage") + test::pk_global("torch", "FloatStorage") +
                             test::pk_str("0") + test::pk_str("cpu") + test::pk_int(6) + "tQ" + test::pk_int(0) +
                             test::pk_int(6) + "\x85" + test::pk_int(1) + "\x85\x89" +
                             test::pk_global("collections", "OrderedDict") + ")RtR" + test::pk_str("b") +
                             test::pk_global("torch._utils", "_rebuild_tensor_v2") + "((" + test::pk_str("storage") +
                             test::pk_global("torch", "FloatStorage") + test::pk_str("0") + test::pk_str("cpu") +
                             test::pk_int(6) + "tQ" + test::pk_int(2) + test::pk_int(3) + "\x85" + test::pk_int(1) +
                             "\x85\x89" +
                             test::pk_global("collections", "OrderedDict") + ")RtRu.";
  std::string data(24, '\0');
  for (int i = 0; i < 6; ++i) {
    const float v = float(i);
    std::memcpy(&data[size_t(i) * 4], &v, 4);
  }
  const NamedTensors sd = tensors_of_dict(*parse_pth(test::torch_archive(pickle, {{"0", data}}, "pth_shared"), "s.pth"), "s");
  REQUIRE(sd.size() == 2);
  CHECK(torch::equal(sd[1].second, torch::tensor({2.f, 3.f, 4.f})));
  CHECK(sd[1].second.data_ptr<float>() == sd[0].second.data_ptr<float>() + 2);
  sd[0].second[3] = 42.f;  // writes through to the view, as in Python
  CHECK(sd[1].second[1].item<float>() == 42.f);
}

TEST_CASE("hostile or broken files give one Error naming the file and the fault", "[io][pth]") {
  const std::string good = test::slurp(fixture_path("sam_tiny/weights.pth"));
  SECTION("truncated file") {
    CHECK_THROWS_WITH(parse_pth(good.substr(0, good.size() / 2), "half.pth"), Catch::Contains("half.pth"));
    CHECK_THROWS_AS(parse_pth(good.substr(0, good.size() - 10), "t.pth"), Error);
  }
  SECTION("wrong magic") {
    CHECK_THROWS_WITH(parse_pth("GIF89a this is not a checkpoint", "cat.gif"),
                      Catch::Contains("cat.gif") && Catch::Contains("not a PyTorch checkpoint"));
    CHECK_THROWS_AS(read_pth("/no/such/file.pth"), Error);
  }
  SECTION("legacy pre-1.6 format") {
    const std::string legacy = std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
    CHECK_THROWS_WITH(parse_pth(legacy, "old.pth"), Catch::Contains("old.pth") && Catch::Contains("legacy"));
  }
  SECTION("a global outside the whitelist (os.system) is refused before anything runs") {
    const std::string evil = "\x80\x02" + test::pk_global("os", "system") + test::pk_str("echo pwned") + "\x85R.";
    CHECK_THROWS_WITH(parse_pth(test::torch_archive(evil, {}, "pth_evil"), "evil.pth"),
                      Catch::Contains("evil.pth") && Catch::Contains("os.system") && Catch::Contains("GLOBAL"));
    const std::string evil4 = "\x80\x04" + test::pk_str("builtins") + test::pk_str("eval") + "\x93.";
    CHECK_THROWS_WITH(parse_pth(test::torch_archive(evil4, {}, "pth_evil4"), "e4.pth"),
                      Catch::Contains("builtins.eval") && Catch::Contains("STACK_GLOBAL"));
  }
  SECTION("a text-form integer beyond 64 bits is refused, not wrapped") {
    const auto dict_of = [](const std::string& number) {
      return test::torch_archive("\x80\x02}(" + test::pk_str("epoch") + "I" + number + "\nu.", {}, "pth_int");
    };
    CHECK(parse_pth(dict_of("9223372036854775807"), "max.pth")->get("epoch")->integer == INT64_MAX);
    CHECK(parse_pth(dict_of("-42"), "neg.pth")->get("epoch")->integer == -42);
    CHECK_THROWS_WITH(parse_pth(dict_of("9999999999999999999"), "big.pth"),
                      Catch::Contains("big.pth") && Catch::Contains("does not fit 64 bits"));
  }
  SECTION("a tensor whose storage is too small for its size and stride") {
    const std::string data(16, '\0');  // 4 floats
    CHECK_NOTHROW(parse_pth(test::torch_archive(test::pk_state_dict_1d(4, 0, 4, 1), {{"0", data}}, "pth_ok"), "ok.pth"));
    CHECK_THROWS_WITH(
        parse_pth(test::torch_archive(test::pk_state_dict_1d(4, 0, 10, 1), {{"0", data}}, "pth_small"), "small.pth"),
        Catch::Contains("small.pth") && Catch::Contains("needs 10 elements but its storage holds 4") &&
            Catch::Contains("the value of key 'w'"));
    // offset 1, size 2, stride 3 touches elements 1 and 4: one past the end.
    CHECK_THROWS_WITH(
        parse_pth(test::torch_archive(test::pk_state_dict_1d(4, 1, 2, 3), {{"0", data}}, "pth_stride"), "stride.pth"),
        Catch::Contains("needs 5 elements but its storage holds 4"));
    // The record itself shorter than the element count the pickle claims.
    CHECK_THROWS_WITH(
        parse_pth(test::torch_archive(test::pk_state_dict_1d(8, 0, 4, 1), {{"0", data}}, "pth_rec"), "rec.pth"),
        Catch::Contains("has 16 bytes"));
  }
  SECTION("a deep chain the pickle builds and drops is freed without recursion") {
    // 300000 nested tuples, popped (or kept only in the memo) before a small valid result: freeing
    // them link by link would overflow the stack.
    const std::string chain = "\x80\x02]" + std::string(300000, '\x85');
    for (const std::string& tail : {std::string("0}."), std::string("q\x00" "0}.", 5), std::string("}.")}) {
      const PickleRef root = parse_pth(test::torch_archive(chain + tail, {}, "pth_chain"), "chain.pth");
      CHECK(root->is_dict());
      CHECK(root->entries.empty());
    }
  }
  SECTION("integers wider than 64 bits are kept as such (torch.load accepts them)") {
    // Python: (2**70).to_bytes(9, 'little', signed=True), and -2**70.
    const auto dict_with = [](const std::string& long1) {
      return test::torch_archive("\x80\x02}(" + test::pk_str("seed") + long1 + "u.", {}, "pth_bigint");
    };
    const PickleRef big = parse_pth(dict_with(bytes_of("\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x40")), "b.pth");
    CHECK(big->get("seed")->kind == PickleValue::Kind::BigInt);
    CHECK(big->get("seed")->text == "0x400000000000000000");
    const PickleRef neg = parse_pth(dict_with(bytes_of("\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xc0")), "n.pth");
    CHECK(neg->get("seed")->text == "-0x400000000000000000");
    CHECK(neg->repr() == "{'seed': -0x400000000000000000}");
    // Eight bytes or fewer stay ints.
    CHECK(parse_pth(dict_with(bytes_of("\x8a\x02\xff\x7f")), "i.pth")->get("seed")->integer == 32767);
  }
  SECTION("zip entries that share bytes are refused (one small file read once per entry)") {
    std::string archive = test::torch_archive(test::pk_state_dict_1d(4, 0, 4, 1), {{"0", std::string(16, '\0')}}, "pth_overlap");
    REQUIRE_NOTHROW(parse_pth(archive, "ok.pth"));
    // Point the second central-directory entry at the first entry's local header.
    std::vector<size_t> central;
    for (size_t at = archive.find("PK\x01\x02"); at != std::string::npos; at = archive.find("PK\x01\x02", at + 4))
      central.push_back(at);
    REQUIRE(central.size() >= 2);
    archive.replace(central[1] + 42, 4, archive.substr(central[0] + 42, 4));
    CHECK_THROWS_WITH(parse_pth(archive, "overlap.pth"),
                      Catch::Contains("overlap.pth") && Catch::Contains("zip entries overlap"));
  }
  SECTION("a download cut short says so") {
    CHECK_THROWS_WITH(parse_pth(good.substr(0, good.size() / 2), "part.pth"),
                      Catch::Contains("part.pth") && Catch::Contains("truncated zip archive") &&
                          Catch::Contains("incomplete"));
  }
  SECTION("a corrupt storage record names the file once") {
    std::string bad = good;
    bad[bad.size() / 2] ^= 0x5a;  // inside some record's data
    try {
      parse_pth(bad, "flip.pth");
      FAIL("no error");
    } catch (const Error& e) {
      const std::string what = e.what();
      CHECK_THAT(what, Catch::Contains("flip.pth"));
      CHECK_THAT(what, !Catch::Contains("flip.pth: flip.pth"));
    }
  }
  SECTION("a missing storage record") {
    CHECK_THROWS_WITH(parse_pth(test::torch_archive(test::pk_state_dict_1d(4, 0, 4, 1), {}, "pth_norec"), "n.pth"),
                      Catch::Contains("data/0") && Catch::Contains("missing"));
  }
  SECTION("malformed pickles: cycles, deep nesting, bad memo, unknown opcodes") {
    auto err = [](const std::string& pickle) {
      try {
        parse_pth(test::torch_archive(pickle, {}, "pth_bad"), "bad.pth");
      } catch (const Error& e) {
        return std::string(e.what());
      }
      return std::string("no error");
    };
    CHECK_THAT(err(bytes_of("\x80\x02]q\x00h\x00" "a.")), Catch::Contains("cycle"));
    CHECK_THAT(err("\x80\x02" + std::string(5000, ']') + std::string(4999, 'a') + "."), Catch::Contains("nesting"));
    CHECK_THAT(err("\x80\x02h\x05."), Catch::Contains("memo entry 5"));
    CHECK_THAT(err("\x80\x02\xff."), Catch::Contains("unknown opcode 0xff"));
    CHECK_THAT(err("\x80\x02" "a."), Catch::Contains("stack underflow") && Catch::Contains("APPEND"));
    CHECK_THAT(err("\x80\x02X\xff\xff\xff\x7f" "abc."), Catch::Contains("truncated pickle"));
    CHECK_THAT(err(bytes_of("\x80\x02\x8b\x00\x01\x00\x00" ".")), Catch::Contains("truncated pickle"));
    CHECK_THAT(err(bytes_of("\x80\x02\x8b\x01\x10\x00\x00" ".")), Catch::Contains("integer of 4097 bytes"));
    // One-byte opcodes would each make a value of a few hundred bytes: past 2^21 pushes it is refused
    // (DUP pushes without allocating, so the test stays small).
    CHECK_THAT(err("\x80\x02N" + std::string((1u << 21) + 1, '2') + "."), Catch::Contains("more than 2097152 values"));
    CHECK_THAT(err("\x80\x02(i__main__\nFoo\n."), Catch::Contains("INST"));
  }
}

TEST_CASE("Python torch.save files load in C++, and ours load in Python with identical values", "[io][pth][python]") {
  const std::string python = test::python_with("torch");
  if (python.empty()) {
    WARN("no python3 that can 'import torch': skipping pth interop with Python");
    return;
  }
  const std::string dir = test::temp_dir("pth_python");
  // Python side: dtypes, a shared storage, a transposed view, Parameters, a real Adam checkpoint.
  const std::string script = dir + "/make.py";
  std::ofstream(script) << R"(import sys, torch, numpy as np
d = sys.argv[1]
torch.manual_seed(0)
base = torch.randn(4, 6)
p = torch.nn.Parameter(torch.randn(3, 3))
sd = {'f32': base, 'view_t': base.t(), 'slice': base[1:3, 2:5], 'f16': base.half(), 'bf16': base.bfloat16(),
      'f64': base.double(), 'i64': torch.arange(-5, 5), 'i32': torch.arange(7, dtype=torch.int32),
      'i16': torch.arange(3, dtype=torch.int16), 'i8': torch.arange(-3, 3, dtype=torch.int8),
      'u8': torch.arange(250, 256, dtype=torch.uint8), 'b': torch.tensor([True, False]), 'param': p,
      'scalar': torch.tensor(2.5), 'empty': torch.zeros(0, 3)}
torch.save(sd, d + '/py.pth')
np.savez(d + '/py_ref.npz', **{k: v.detach().float().contiguous().numpy() for k, v in sd.items()})
m = torch.nn.Linear(3, 2)
opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.01)
m(torch.randn(5, 3)).sum().backward(); opt.step()
torch.save({'model': m.state_dict(), 'optimizer': opt.state_dict(), 'epoch': 7, 'name': 'run', 'loss': 0.25,
            'blob': b'\x00\xffbytes', 'none': None}, d + '/train.pth')
import collections
# What torch.load(weights_only=True) also accepts since torch 2.6: read as plain values.
torch.save({'model': m.state_dict(), 'size': torch.Size([1024, 1024]), 'dev': torch.device('cuda', 0),
            'cpu': torch.device('cpu'), 'counts': collections.Counter({'ct': 3}), 'raw': bytearray(b'\x01\xfe'),
            'z': 1 + 2j, 'seed': 2**70, 'labels': {1, 2}}, d + '/extras.pth')
)";
  REQUIRE(test::run_command(python + " " + script + " " + dir).exit_code == 0);
  const NamedTensors sd = read_state_dict(dir + "/py.pth");
  const NamedTensors ref = read_npz(dir + "/py_ref.npz");
  REQUIRE(sd.size() == ref.size());
  for (size_t i = 0; i < sd.size(); ++i) {
    INFO(sd[i].first);
    CHECK(sd[i].first == ref[i].first);
    CHECK(torch::equal(sd[i].second.to(at::kFloat), ref[i].second));
  }
  const auto find = [&](const std::string& k) {
    for (const auto& [n, t] : sd)
      if (n == k) return t;
    return at::Tensor();
  };
  CHECK(find("view_t").strides().vec() == std::vector<int64_t>{1, 6});           // the saved stride, not a copy
  CHECK(find("slice").data_ptr<float>() == find("f32").data_ptr<float>() + 8);  // shared storage, offset 1*6+2
  CHECK(find("bf16").scalar_type() == at::kBFloat16);

  const PickleRef train = read_pth(dir + "/train.pth");
  CHECK(train->get("epoch")->integer == 7);
  CHECK(train->get("name")->text == "run");
  CHECK(train->get("loss")->real == 0.25);
  CHECK(train->get("blob")->kind == PickleValue::Kind::Bytes);
  CHECK(train->get("blob")->text == std::string("\x00\xff" "bytes", 7));
  CHECK(train->get("none")->kind == PickleValue::Kind::None);
  const PickleRef extras = read_pth(dir + "/extras.pth");
  CHECK(tensors_of_dict(*extras->get("model"), "extras").size() == 2);
  CHECK(extras->get("size")->repr() == "(1024, 1024)");
  CHECK(extras->get("dev")->text == "cuda:0");
  CHECK(extras->get("cpu")->text == "cpu");
  CHECK(extras->get("counts")->get("ct")->integer == 3);
  CHECK(extras->get("raw")->text == std::string("\x01\xfe", 2));
  REQUIRE(extras->get("z")->items.size() == 2);
  CHECK(extras->get("z")->items[1]->real == 2.0);
  CHECK(extras->get("seed")->text == "0x400000000000000000");
  CHECK(extras->get("labels")->items.size() == 2);
  const PickleValue* state = train->get("optimizer")->get("state");
  REQUIRE(state->entries.size() == 2);  // AdamW state for weight and bias, keyed by int
  CHECK(state->entries[0].first->integer == 0);
  CHECK(state->entries[0].second->get("exp_avg")->tensor.sizes() == at::IntArrayRef({2, 3}));

  // Our writer -> Python.
  write_pth(dir + "/ours.pth", sd);
  write_npz(dir + "/ours_ref.npz", ref);
  std::ofstream(dir + "/check.py") << R"(import sys, torch, numpy as np
d = sys.argv[1]
sd = torch.load(d + '/ours.pth', weights_only=True)  # PyTorch >= 2.6 loads so by default
ref = np.load(d + '/ours_ref.npz')
assert isinstance(sd, dict) and list(sd.keys()) == list(ref.keys()), (list(sd.keys()), list(ref.keys()))
for k, v in sd.items():
    assert v.is_contiguous(), k
    assert torch.equal(v.float(), torch.from_numpy(ref[k])), k
assert sd['bf16'].dtype == torch.bfloat16 and sd['u8'].dtype == torch.uint8 and sd['b'].dtype == torch.bool
m = torch.nn.Linear(3, 3, bias=False)
m.load_state_dict({'weight': sd['param']}, strict=True)
print('python ok', len(sd))
)";
  const auto r = test::run_command(python + " " + dir + "/check.py " + dir);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("python ok 15"));
}

TEST_CASE("a training checkpoint value tree round-trips through write_pth, also into Python", "[io][pth]") {
  const std::string dir = test::temp_dir("pth_value");
  auto str = PickleValue::of_string;
  auto model = PickleValue::dict();
  model->set_item(str("w"), PickleValue::of_tensor(torch::arange(6, at::kFloat).reshape({2, 3})));
  auto slot = PickleValue::dict();
  slot->set_item(str("step"), PickleValue::of_tensor(torch::tensor(5.f)));
  slot->set_item(str("exp_avg"), PickleValue::of_tensor(torch::full({2, 3}, 0.5f)));
  auto state = PickleValue::dict();
  state->set_item(PickleValue::of_int(0), slot);
  auto group = PickleValue::dict();
  group->set_item(str("lr"), PickleValue::of_float(1e-4));
  group->set_item(str("betas"), PickleValue::tuple({PickleValue::of_float(0.9), PickleValue::of_float(0.999)}));
  group->set_item(str("amsgrad"), PickleValue::of_bool(false));
  group->set_item(str("foreach"), PickleValue::none());
  auto params = PickleValue::list();
  params->items.push_back(PickleValue::of_int(0));
  group->set_item(str("params"), params);
  auto groups = PickleValue::list();
  groups->items.push_back(group);
  auto optimizer = PickleValue::dict();
  optimizer->set_item(str("state"), state);
  optimizer->set_item(str("param_groups"), groups);
  auto root = PickleValue::dict();
  root->set_item(str("model"), model);
  root->set_item(str("optimizer"), optimizer);
  root->set_item(str("epoch"), PickleValue::of_int(3));
  write_pth(dir + "/ckpt.pth", *root);

  // Only globals PyTorch's weights-only unpickler allows (torch.load's default since 2.6): no
  // torch.jit._pickle type tags, which LibTorch's pickle_save puts around every dict and list.
  ZipReader zip(open_file_source(dir + "/ckpt.pth"));
  const ZipEntry* pkl = nullptr;
  for (const auto& e : zip.entries())
    if (e.name.size() >= 8 && e.name.compare(e.name.size() - 8, 8, "data.pkl") == 0) pkl = &e;
  REQUIRE(pkl != nullptr);
  const std::string program = zip.read_string(*pkl);
  CHECK(program.find("torch.jit") == std::string::npos);
  const std::regex global("c([A-Za-z_][A-Za-z0-9_.]*)\n([A-Za-z_][A-Za-z0-9_]*)\n");
  std::set<std::string> globals;
  for (std::sregex_iterator it(program.begin(), program.end(), global), end; it != end; ++it)
    globals.insert((*it)[1].str() + "." + (*it)[2].str());
  CHECK(globals == std::set<std::string>{"collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"});

  const PickleRef back = read_pth(dir + "/ckpt.pth");
  CHECK(back->get("epoch")->integer == 3);
  CHECK(torch::equal(back->get("model")->get("w")->tensor, torch::arange(6, at::kFloat).reshape({2, 3})));
  const PickleValue& g = *back->get("optimizer")->get("param_groups")->items[0];
  CHECK(g.get("lr")->real == 1e-4);
  CHECK(g.get("betas")->kind == PickleValue::Kind::Tuple);
  CHECK(g.get("foreach")->kind == PickleValue::Kind::None);
  const PickleValue& st = *back->get("optimizer")->get("state");
  CHECK(st.entries[0].first->integer == 0);
  CHECK(st.entries[0].second->get("step")->tensor.item<float>() == 5.f);
  CHECK(back->repr(400) == root->repr(400));

  auto bad = PickleValue::dict();
  bad->set_item(str("a"), PickleValue::of_int(1));
  bad->set_item(PickleValue::of_int(2), PickleValue::of_int(1));
  CHECK_THROWS_WITH(write_pth(dir + "/bad.pth", *bad), Catch::Contains("all str or all int"));

  const std::string python = test::python_with("torch");
  if (python.empty()) return;
  const auto r = test::run_command(
      // weights_only as PyTorch >= 2.6 loads by default; 1.13's weights-only unpickler lacks BINFLOAT, so any
      // float (Python's own optimizer state too) needs the full unpickler there. The globals are checked above.
      python + " -c \"import torch; w = int(torch.__version__.split('.')[0]) >= 2; c = torch.load('" + dir +
      "/ckpt.pth', weights_only=w); g = c['optimizer']['param_groups'][0]; "
      "assert c['epoch'] == 3 and g['betas'] == (0.9, 0.999) and g['foreach'] is None and g['params'] == [0]; "
      "assert c['optimizer']['state'][0]['exp_avg'].sum().item() == 3.0; "
      "m = torch.nn.Linear(3, 2, bias=False); m.load_state_dict({'weight': c['model']['w']}); print('ok')\"");
  INFO(r.err);
  CHECK(r.exit_code == 0);
}
