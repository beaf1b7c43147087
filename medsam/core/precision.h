// What "fp32" / "bf16" mean for a device and a part of the model: one rule for inference
// (`--precision`), evaluation, benchmarks and training (`train.precision`).
#pragma once

#include <c10/core/Device.h>

#include <optional>
#include <string>
#include <vector>

#include "medsam/core/torch_compat.h"

namespace medsam {

// fp32 everywhere; bf16 = autocast to bfloat16 (outputs stay float32): on CUDA the whole model, on the
// CPU the image encoder only (its matrix products run on AVX512-BF16/AMX units, ~4x the fp32 rate on such
// CPUs; the decoder is cheap, its CPU inference fast path is fp32, and LibTorch 1.13 has no CPU bf16
// ConvTranspose2d). See docs/inference.md for the accuracy.
// kBf16Autocast is kBf16 with the image encoder's residual stream in fp32 in inference, exactly what
// torch.autocast computes (ResidualStream::kFloat32, medsam/model/image_encoder.h); kBf16 keeps that stream
// in bf16 (faster, slightly different rounding: docs/inference.md). Training treats both alike.
enum class Precision { kFp32, kBf16, kBf16Autocast };
inline bool is_bf16(Precision p) { return p != Precision::kFp32; }
enum class ModelPart { kImageEncoder, kPromptAndMaskDecoder };

// The names parse_precision accepts, in order: "fp32", "bf16", "bf16-autocast". Command lines check
// against these (CLI::IsMember) and errors list them, so a new precision is added here once.
const std::vector<std::string>& precision_names();
// precision_names() as prose: "fp32, bf16 or bf16-autocast".
std::string precision_names_text();

// One of precision_names() (else UsageError naming `option`, e.g. "--precision" or "train.precision"). bf16 on a
// CPU without bf16 hardware works but is slower than fp32: a warning says so.
Precision parse_precision(const std::string& name, c10::Device device, const std::string& option = "--precision");

// The autocast that `precision` means for `part` on `device`, for the life of the scope.
class PrecisionScope {
 public:
  PrecisionScope(Precision precision, c10::Device device, ModelPart part);

 private:
  std::optional<compat::AutocastScope> scope_;
};

}  // namespace medsam
