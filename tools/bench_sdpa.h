// `--sdpa KERNEL` of the encoder and training-step benches: which fused attention kernel
// scaled_dot_product_attention tries first on the GPU (flash, efficient, cudnn, math; auto = LibTorch's
// own order), and which kernel each attention call of a run actually went to. On Hopper the cuDNN
// kernels are reported faster than flash for some shapes; the folded global attention of ViT-B has
// head dim 192, which not every kernel takes. These options let one GPU run compare them.
#pragma once

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace medsam::tools::bench {

// Adds --sdpa (auto|flash|efficient|cudnn|math) bound to `value` (default "auto").
void add_sdpa_option(CLI::App& sub, std::string& value);

// Sets the preference for the whole process. Anything but "auto" needs LibTorch 2.7 or newer: the
// error says so on older builds (Debian's 1.13 has no fused attention to choose from).
void apply_sdpa_option(const std::string& value);

// Runs `run` once while recording the attention's SDPA calls and returns one "sdpa: ..." line per
// distinct call shape ("" when the run made no SDPA call, as on the CPU).
std::string sdpa_kernels_of(const std::function<void()>& run);

}  // namespace medsam::tools::bench
