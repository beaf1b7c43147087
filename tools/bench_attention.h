// The attention options of the encoder and training-step benches, so one GPU run can compare them:
// `--attention PATH` picks the image encoder's attention implementation (medsam::AttentionPath);
// `--sdpa KERNEL` the fused kernel scaled_dot_product_attention tries first (flash, efficient, cudnn,
// math; auto = LibTorch's own order), and a CUDA run reports the kernel each attention call got. On
// Hopper the cuDNN kernels are reported faster than flash for some shapes, and the folded global
// attention of ViT-B has head dim 192, which not every kernel takes.
#pragma once

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace medsam::tools::bench {

// Adds --attention (fast|reference|chunks|folded) bound to `attention` and --sdpa
// (auto|flash|efficient|cudnn|math) bound to `sdpa`.
void add_attention_options(CLI::App& sub, std::string& attention, std::string& sdpa);

// Sets the preference for the whole process. Anything but "auto" needs LibTorch 2.7 or newer: the
// error says so on older builds (Debian's 1.13 has no fused attention to choose from).
void apply_sdpa_option(const std::string& value);

// Runs `run` once while recording the attention's SDPA calls and returns one "sdpa: ..." line per
// distinct call shape ("" when the run made no SDPA call, as on the CPU).
std::string sdpa_kernels_of(const std::function<void()>& run);

}  // namespace medsam::tools::bench
