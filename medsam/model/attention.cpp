#include "medsam/model/attention.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "medsam/core/torch_compat.h"
#include "medsam/model/attention_internal.h"
#include "medsam/model/common.h"

namespace medsam {
namespace {
std::atomic<bool> g_recording_sdpa{false};
std::mutex g_sdpa_mutex;
std::vector<std::string> g_sdpa_kernels;  // distinct lines, in the order first seen

void record_sdpa_kernel(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) {
  const auto sizes = [](const at::Tensor& t) { return fmt::join(t.sizes().begin(), t.sizes().end(), "x"); };
  const std::string line = fmt::format("q {} k {} v {} {}, {}: {}", sizes(q), sizes(k), sizes(v),
                                       c10::toString(q.scalar_type()), mask.defined() ? "bias mask" : "no mask",
                                       compat::sdpa_kernel_for(q, k, v, mask));
  const std::lock_guard<std::mutex> lock(g_sdpa_mutex);
  if (std::find(g_sdpa_kernels.begin(), g_sdpa_kernels.end(), line) == g_sdpa_kernels.end())
    g_sdpa_kernels.push_back(line);
}

}  // namespace

namespace detail {

// The two rel-pos terms, each computed once: rel_h (BH, qh, qw, kh), rel_w (BH, qh, qw, kw).
// ref: segment_anything/modeling/image_encoder.py add_decomposed_rel_pos (the einsums)
std::pair<at::Tensor, at::Tensor> rel_pos_terms(const at::Tensor& q, const at::Tensor& rel_pos_h,
                                                const at::Tensor& rel_pos_w, std::pair<int64_t, int64_t> q_hw,
                                                std::pair<int64_t, int64_t> k_hw) {
  const auto [qh, qw] = q_hw;
  const auto [kh, kw] = k_hw;
  const at::Tensor Rh = get_rel_pos(qh, kh, rel_pos_h).to(q.scalar_type());  // (qh, kh, C)
  const at::Tensor Rw = get_rel_pos(qw, kw, rel_pos_w).to(q.scalar_type());  // (qw, kw, C)
  const at::Tensor r_q = q.reshape({q.size(0), qh, qw, q.size(-1)});        // (BH, qh, qw, C)
  at::Tensor rel_h = at::einsum("bhwc,hkc->bhwk", {r_q, Rh});
  at::Tensor rel_w = at::einsum("bhwc,wkc->bhwk", {r_q, Rw});
  return {rel_h, rel_w};
}

at::Tensor one_hot_key_grid(int64_t kh, int64_t kw, int64_t width, const at::TensorOptions& options) {
  const auto idx = at::TensorOptions().dtype(at::kLong).device(options.device());
  const at::Tensor grid = at::zeros({kh * kw, width}, options);
  grid.narrow(1, 0, kh).copy_(at::one_hot(at::arange(kh, idx).repeat_interleave(kw), kh));
  grid.narrow(1, kh, kw).copy_(at::one_hot(at::arange(kw, idx).repeat({kh}), kw));
  return grid;
}

bool fused_sdpa_takes(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  return compat::sdpa_kernel_for(q, k, v, {}) != "math";
}

at::Tensor sdpa(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask, double scale) {
  if (g_recording_sdpa.load(std::memory_order_relaxed)) record_sdpa_kernel(q, k, v, mask);
  return compat::scaled_dot_product_attention(q, k, v, mask, scale);
}

}  // namespace detail
using detail::rel_pos_terms;
using detail::sdpa;

namespace {
const std::pair<const char*, AttentionPath> kAttentionPaths[] = {{"fast", AttentionPath::kFast},
                                                                 {"reference", AttentionPath::kReference},
                                                                 {"chunks", AttentionPath::kChunks},
                                                                 {"folded", AttentionPath::kFolded},
                                                                 {"folded-narrow-v", AttentionPath::kFoldedNarrowV}};
}  // namespace

std::vector<std::string> attention_path_names() {
  std::vector<std::string> names;
  for (const auto& [name, path] : kAttentionPaths) names.emplace_back(name);
  return names;
}

AttentionPath parse_attention_path(const std::string& name) {
  for (const auto& [n, path] : kAttentionPaths)
    if (name == n) return path;
  const auto names = attention_path_names();
  throw std::invalid_argument(fmt::format("attention path must be one of {}, got '{}'", fmt::join(names, ", "), name));
}

void start_recording_sdpa_kernels() {
  const std::lock_guard<std::mutex> lock(g_sdpa_mutex);
  g_sdpa_kernels.clear();
  g_recording_sdpa.store(true);
}

std::vector<std::string> stop_recording_sdpa_kernels() {
  g_recording_sdpa.store(false);
  const std::lock_guard<std::mutex> lock(g_sdpa_mutex);
  std::vector<std::string> lines;
  lines.swap(g_sdpa_kernels);  // leaves the record empty
  return lines;
}

// ref: segment_anything/modeling/image_encoder.py get_rel_pos (the F.interpolate branch)
at::Tensor resize_rel_pos_table(const at::Tensor& rel_pos, int64_t length) {
  // (L, C) -> (1, C, L) -> linear resize -> (length, C)
  namespace F = torch::nn::functional;
  return F::interpolate(rel_pos.reshape({1, rel_pos.size(0), -1}).permute({0, 2, 1}),
                        F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>{length})
                            .mode(torch::kLinear)
                            .align_corners(false))
      .reshape({-1, length})
      .permute({1, 0});
}

// ref: segment_anything/modeling/image_encoder.py get_rel_pos
at::Tensor get_rel_pos(int64_t q_size, int64_t k_size, const at::Tensor& rel_pos) {
  const int64_t max_rel_dist = 2 * std::max(q_size, k_size) - 1;
  const at::Tensor table = rel_pos.size(0) != max_rel_dist ? resize_rel_pos_table(rel_pos, max_rel_dist) : rel_pos;
  const double qk = std::max(static_cast<double>(k_size) / q_size, 1.0);
  const double kq = std::max(static_cast<double>(q_size) / k_size, 1.0);
  const auto opts = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor q_coords = at::arange(q_size, opts).unsqueeze(1) * qk;
  const at::Tensor k_coords = at::arange(k_size, opts).unsqueeze(0) * kq;
  const at::Tensor relative = ((q_coords - k_coords) + (k_size - 1) * kq).to(at::kLong);  // (q, k)
  return table.index_select(0, relative.flatten().to(table.device())).view({q_size, k_size, -1});  // (q, k, C)
}

// ref: segment_anything/modeling/image_encoder.py Attention.forward (attn = (q*scale) @ k^T;
// add_decomposed_rel_pos; softmax; @ v) — kept literal, as the yardstick for the fast path.
at::Tensor rel_pos_attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                       const at::Tensor& rel_pos_h, const at::Tensor& rel_pos_w,
                                       std::pair<int64_t, int64_t> q_hw, std::pair<int64_t, int64_t> k_hw,
                                       double scale) {
  at::Tensor attn = at::matmul(q * scale, k.transpose(-2, -1));  // (BH, Nq, Nk)
  if (rel_pos_h.defined()) {
    const auto [rel_h, rel_w] = rel_pos_terms(q, rel_pos_h, rel_pos_w, q_hw, k_hw);
    const int64_t B = q.size(0);
    // (BH, qh, qw, kh, kw) + (BH, qh, qw, kh, 1) + (BH, qh, qw, 1, kw)
    attn = (attn.view({B, q_hw.first, q_hw.second, k_hw.first, k_hw.second}) + rel_h.unsqueeze(-1) +
            rel_w.unsqueeze(-2))
               .view({B, q_hw.first * q_hw.second, k_hw.first * k_hw.second});
  }
  attn = attn.softmax(-1);
  return at::matmul(attn, v);
}

// Rel-pos folded into the dot product, for the fused SDPA kernels (flash / memory-efficient) that
// take no bias: with i = (y, x) a query and j = (ky, kx) a key,
//   scale q_i.k_j + rel_h[i, ky] + rel_w[i, kx] = q'_i . k'_j
//   q'_i = [scale q_i, rel_h[i, :], rel_w[i, :]],   k'_j = [k_j, onehot_kh(ky), onehot_kw(kx)]
// so one SDPA call with scale 1 computes SAM's logits exactly, and no (Nq, Nk) bias ever exists.
// Head dim grows from C to C + kh + kw (ViT-B: 64 -> 192 global, 92 -> 96 windowed, zero-padded to a
// multiple of 8; v too for the flash kernel, which wants one head dim for q, k and v, while the kernels
// that take a narrower v get it at C, saving a third of a global block's products: FoldedValueDim).
at::Tensor rel_pos_attention_folded(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    const at::Tensor& rel_pos_h, const at::Tensor& rel_pos_w,
                                    std::pair<int64_t, int64_t> q_hw, std::pair<int64_t, int64_t> k_hw,
                                    double scale, FoldedValueDim value_dim) {
  const int64_t BH = q.size(0), Nq = q.size(1), Nk = k.size(1), C = q.size(-1);
  if (!rel_pos_h.defined()) {
    return sdpa(q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0), {}, scale).squeeze(0);
  }
  const auto [kh, kw] = k_hw;
  const auto [rel_h, rel_w] = rel_pos_terms(q, rel_pos_h, rel_pos_w, q_hw, k_hw);  // (BH, qh, qw, kh|kw)
  const int64_t d = C + kh + kw;
  const int64_t padded = detail::round_up_to_8(d);
  const auto dtype = q.scalar_type();
  std::vector<at::Tensor> qa{q * scale, rel_h.reshape({BH, Nq, kh}).to(dtype), rel_w.reshape({BH, Nq, kw}).to(dtype)};
  if (padded > d) qa.push_back(at::zeros({BH, Nq, padded - d}, q.options()));
  const at::Tensor qf = at::cat(qa, -1).unsqueeze(0);
  // The one-hot key rows/columns are shared by every head.
  const at::Tensor keys = detail::one_hot_key_grid(kh, kw, padded - C, k.options());  // (Nk, padded - C)
  const at::Tensor kf = at::cat({k, keys.expand({BH, Nk, padded - C})}, -1).unsqueeze(0);
  const auto v_of_dim = [&](int64_t dim) {
    return (dim > C ? at::cat({v, at::zeros({BH, Nk, dim - C}, v.options())}, -1) : v).unsqueeze(0);
  };
  const int64_t own = detail::round_up_to_8(C);
  at::Tensor vf;
  if (value_dim == FoldedValueDim::kOwnWhereFused) {
    // No fused kernel taking v narrower than q (the flash kernel alone, e.g.): v is padded.
    vf = v_of_dim(own);
    if (!detail::fused_sdpa_takes(qf, kf, vf)) vf = v_of_dim(padded);
  } else {
    vf = v_of_dim(value_dim == FoldedValueDim::kOwn ? own : padded);
  }
  const at::Tensor o = sdpa(qf, kf, vf, {}, /*scale=*/1.0);
  return o.squeeze(0).slice(-1, 0, C);
}

// Fast path (DESIGN.md decision 2). Per chunk of (batch*heads, query grid rows):
//   logits  = rel_h[..., None] + rel_w[..., None, :]   one broadcast write, no 5-D temporary
//   logits += (q * scale) @ k^T                         GEMM with beta = 1, in place
//   probs   = softmax(logits); out[chunk] = probs @ v
// so neither the full (BH, N, N) logits nor the broadcast of the rel-pos terms ever exist, and a
// chunk (chunk_elements logits) stays cache-sized. On CUDA with LibTorch 2.x the call goes to
// rel_pos_attention_folded (bf16/fp16) or the chunks through SDPA with the bias as a mask (fp32).
// When autograd records (training), the same chunks are computed with out-of-place ops, which
// autograd differentiates; it then keeps each chunk's probabilities for backward, as SAM's code
// keeps the full logits, but the 5-D broadcast temporary is still never built.
at::Tensor rel_pos_attention_fast(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const at::Tensor& rel_pos_h, const at::Tensor& rel_pos_w,
                                  std::pair<int64_t, int64_t> q_hw, std::pair<int64_t, int64_t> k_hw, double scale,
                                  int64_t chunk_elements, bool allow_sdpa) {
  const int64_t BH = q.size(0);
  const int64_t C = q.size(-1);
  const auto [qh, qw] = q_hw;
  const auto [kh, kw] = k_hw;
  const int64_t Nk = k.size(1);
  const bool rel = rel_pos_h.defined();
  const bool differentiable =
      at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad() ||
                                     (rel && (rel_pos_h.requires_grad() || rel_pos_w.requires_grad())));

  at::Tensor rel_h, rel_w;
  if (rel) std::tie(rel_h, rel_w) = rel_pos_terms(q, rel_pos_h, rel_pos_w, q_hw, k_hw);

  // CUDA with LibTorch 2.x, measured on an H200 (docs/benchmarks.md):
  // - bf16/fp16: one fused SDPA call with the rel-pos terms folded into q and k (no logits held), v at
  //   its own head dim where a fused kernel takes it: the training step's path (49.9 samples/s at vit_b
  //   batch 8). The encoder's inference does not come here: EncoderAttention builds the same call from the
  //   qkv rows (rel_pos_attention_folded_qkv; ViT-B batch 16: 244 images/s, 89 with the bias-mask chunks);
  // - fp32: the bias as an additive mask per chunk (memory-efficient kernel). Folding triples the
  //   head dim, which fp32 (no tensor cores) pays in full: 27.0 images/s folded, 30.6 with masks.
  const bool use_sdpa = allow_sdpa && compat::kHasSdpa && q.is_cuda();
  const bool half = q.scalar_type() == at::kBFloat16 || q.scalar_type() == at::kHalf;
  if (use_sdpa && half) {
    return rel_pos_attention_folded(q, k, v, rel_pos_h, rel_pos_w, q_hw, k_hw, scale, FoldedValueDim::kOwnWhereFused);
  }
  // On a GPU chunks are sized for launch count, not cache: at least 2^28 logits (1 GiB in fp32), one
  // chunk per batch of heads of a ViT-B global block instead of 8 per head.
  if (q.is_cuda()) chunk_elements = std::max<int64_t>(chunk_elements, int64_t{1} << 28);
  // Chunk shape: whole batch entries while they fit, else one entry and as many grid rows as fit.
  const int64_t per_entry = qh * qw * Nk;
  int64_t nb = 1, ny = qh;
  if (per_entry <= chunk_elements) {
    nb = std::max<int64_t>(1, std::min(BH, chunk_elements / per_entry));
  } else {
    ny = std::max<int64_t>(1, std::min(qh, chunk_elements / (qw * Nk)));
  }

  const bool fp32 = q.scalar_type() == at::kFloat || q.scalar_type() == at::kDouble;
  const at::Tensor qs = use_sdpa ? q : q * scale;
  // k^T made contiguous once: OpenBLAS is ~2x slower on these (rows x 64) @ (64 x N) products when
  // it has to read k transposed (measured on the 2-core machine, docs/benchmarks.md).
  const at::Tensor kT = use_sdpa ? at::Tensor() : k.transpose(1, 2).contiguous();  // (BH, C, Nk)
  at::Tensor out = differentiable ? at::Tensor() : at::empty({BH, qh * qw, C}, q.options());
  std::vector<at::Tensor> pieces;  // differentiable: chunk outputs, concatenated at the end
  // Chunks are cut with split, not slice: under autograd one SplitBackward gathers the pieces'
  // gradients, where each slice's backward builds a zero tensor of the whole input and adds it in
  // (40% of a CPU training step in copies, fills and adds, measured with `bench train-step --profile`).
  const std::vector<at::Tensor> q_b = qs.split(nb, 0), v_b = v.split(nb, 0);
  const std::vector<at::Tensor> k_b = use_sdpa ? k.split(nb, 0) : kT.split(nb, 0);  // k, or k^T
  const std::vector<at::Tensor> rel_h_b = rel ? rel_h.split(nb, 0) : std::vector<at::Tensor>();
  const std::vector<at::Tensor> rel_w_b = rel ? rel_w.split(nb, 0) : std::vector<at::Tensor>();
  // bf16: LibTorch's softmax accumulates in fp32 and rounds once, the same values as a round trip
  // through fp32 at a third of the time (the two casts of the logits were the encoder's largest cost
  // in bf16 on the CPU). fp16 has no CPU softmax kernel of its own.
  const bool native_softmax = fp32 || q.scalar_type() == at::kBFloat16;
  const auto softmax_rows = [&](const at::Tensor& logits) {
    return native_softmax ? at::_softmax(logits, -1, false) : logits.to(at::kFloat).softmax(-1).to(q.scalar_type());
  };

  for (size_t bi = 0; bi < q_b.size(); ++bi) {
    const int64_t b0 = static_cast<int64_t>(bi) * nb, cb = q_b[bi].size(0);
    const std::vector<at::Tensor> q_rows = q_b[bi].split(ny * qw, 1);
    const std::vector<at::Tensor> rel_h_rows = rel ? rel_h_b[bi].split(ny, 1) : std::vector<at::Tensor>();
    const std::vector<at::Tensor> rel_w_rows = rel ? rel_w_b[bi].split(ny, 1) : std::vector<at::Tensor>();
    const at::Tensor& v_c = v_b[bi];
    std::vector<at::Tensor> rows;
    for (size_t yi = 0; yi < q_rows.size(); ++yi) {
      const at::Tensor& q_c = q_rows[yi];  // (cb, cr, C)
      const int64_t r0 = static_cast<int64_t>(yi) * ny * qw, cr = q_c.size(1), cy = cr / qw;  // query token rows
      const auto bias_h = [&] { return rel_h_rows[yi].unsqueeze(-1); };
      const auto bias_w = [&] { return rel_w_rows[yi].unsqueeze(-2); };

      at::Tensor o;
      if (use_sdpa) {
        // 4-D (1, heads, rows, C): the fused kernels take only 4-D inputs (3-D falls back to the math path).
        const at::Tensor mask = rel ? (bias_h() + bias_w()).reshape({1, cb, cr, Nk}) : at::Tensor();
        o = sdpa(q_c.unsqueeze(0), k_b[bi].unsqueeze(0), v_c.unsqueeze(0), mask).squeeze(0);
      } else if (differentiable) {
        const at::Tensor logits = rel ? at::baddbmm((bias_h() + bias_w()).reshape({cb, cr, Nk}), q_c, k_b[bi])
                                      : at::bmm(q_c, k_b[bi]);
        o = at::bmm(softmax_rows(logits), v_c);
      } else {
        at::Tensor logits;  // (cb, cr, Nk): the rel-pos bias, then + q k^T
        if (rel) {
          logits = at::empty({cb, cy, qw, kh, kw}, q.options());
          at::add_out(logits, bias_h(), bias_w());
          logits = logits.view({cb, cr, Nk});
          logits.baddbmm_(q_c, k_b[bi]);
        } else {
          logits = at::bmm(q_c, k_b[bi]);
        }
        // Softmax in place (fp32/bf16: the row kernel reads a row's max and sum before it writes the row),
        // then the product straight into the output when its rows are one block (always, for these chunk
        // shapes): no probability buffer and no copy per chunk.
        const at::Tensor probs = native_softmax ? at::_softmax_out(logits, logits, -1, false) : softmax_rows(logits);
        at::Tensor dst = out.slice(0, b0, b0 + cb).slice(1, r0, r0 + cr);
        if (dst.is_contiguous()) at::bmm_out(dst, probs, v_c);
        else dst.copy_(at::bmm(probs, v_c));
        continue;
      }
      if (differentiable) {
        rows.push_back(o);
      } else {
        out.slice(0, b0, b0 + cb).slice(1, r0, r0 + cr).copy_(o);
      }
    }
    if (differentiable) pieces.push_back(rows.size() == 1 ? rows.front() : at::cat(rows, 1));
  }
  if (differentiable) return pieces.size() == 1 ? pieces.front() : at::cat(pieces, 0);
  return out;
}

// ref: segment_anything/modeling/image_encoder.py Attention.__init__
EncoderAttentionImpl::EncoderAttentionImpl(int64_t dim, int64_t heads, bool qkv_bias, bool rel_pos,
                                           std::pair<int64_t, int64_t> input_size)
    : num_heads(heads), scale(std::pow(static_cast<double>(dim / heads), -0.5)), use_rel_pos(rel_pos) {
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, dim * 3).bias(qkv_bias)));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
  if (use_rel_pos) {
    const int64_t head_dim = dim / heads;
    rel_pos_h = register_parameter("rel_pos_h", torch::zeros({2 * input_size.first - 1, head_dim}));
    rel_pos_w = register_parameter("rel_pos_w", torch::zeros({2 * input_size.second - 1, head_dim}));
  }
}

// ref: segment_anything/modeling/image_encoder.py Attention.forward
at::Tensor EncoderAttentionImpl::forward(const at::Tensor& x) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2);
  const at::Tensor qkv_rows = linear_rows(qkv, x);  // (B, H, W, 3*dim)
  const at::Tensor rh = use_rel_pos ? rel_pos_h : at::Tensor();
  const at::Tensor rw = use_rel_pos ? rel_pos_w : at::Tensor();
  // Inference on CUDA in bf16/fp16 (LibTorch 2.x): the folded SDPA call built in place from qkv_rows.
  const bool half = qkv_rows.scalar_type() == at::kBFloat16 || qkv_rows.scalar_type() == at::kHalf;
  if (path == AttentionPath::kFast && compat::kHasSdpa && qkv_rows.is_cuda() && half && !at::GradMode::is_enabled()) {
    const at::Tensor o = rel_pos_attention_folded_qkv(qkv_rows.view({B, H * W, -1}), num_heads, rh, rw, {H, W}, scale);
    return linear_rows(proj, o.view({B, H, W, -1}));
  }
  // (B, H, W, 3*dim) -> (3, B, heads, H*W, hd) -> (3, B*heads, H*W, hd)
  const at::Tensor qkv_t =
      qkv_rows.reshape({B, H * W, 3, num_heads, -1}).permute({2, 0, 3, 1, 4}).reshape({3, B * num_heads, H * W, -1});
  // unbind, not [i]: under autograd one UnbindBackward stacks the three gradients, where each select's
  // backward would build a zero tensor of all of qkv and add it in.
  const std::vector<at::Tensor> qkv_parts = qkv_t.unbind(0);
  const at::Tensor &q = qkv_parts[0], &k = qkv_parts[1], &v = qkv_parts[2];
  at::Tensor o;
  switch (path) {
    case AttentionPath::kReference: o = rel_pos_attention_reference(q, k, v, rh, rw, {H, W}, {H, W}, scale); break;
    case AttentionPath::kFast: o = rel_pos_attention_fast(q, k, v, rh, rw, {H, W}, {H, W}, scale, chunk_elements); break;
    case AttentionPath::kChunks:
      o = rel_pos_attention_fast(q, k, v, rh, rw, {H, W}, {H, W}, scale, chunk_elements, /*allow_sdpa=*/false);
      break;
    case AttentionPath::kFolded: o = rel_pos_attention_folded(q, k, v, rh, rw, {H, W}, {H, W}, scale); break;
    case AttentionPath::kFoldedNarrowV:
      o = rel_pos_attention_folded(q, k, v, rh, rw, {H, W}, {H, W}, scale, FoldedValueDim::kOwn);
      break;
  }
  // (B*heads, H*W, hd) -> (B, heads, H, W, hd) -> (B, H, W, heads*hd)
  o = o.view({B, num_heads, H, W, -1}).permute({0, 2, 3, 1, 4}).reshape({B, H, W, -1});
  return linear_rows(proj, o);
}

}  // namespace medsam
