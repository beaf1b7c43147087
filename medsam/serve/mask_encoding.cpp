#include "medsam/serve/mask_encoding.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "medsam/core/base64.h"
#include "medsam/core/error.h"
#include "medsam/io/image.h"

namespace medsam::serve {

Rle mask_to_rle(const at::Tensor& mask) {
  TORCH_CHECK(mask.dim() == 2, "mask_to_rle: expected an H×W mask, got ", mask.sizes());
  Rle rle{mask.size(0), mask.size(1), {}};
  // Column-major order: transpose, then walk the rows of the transposed mask.
  const at::Tensor flat = mask.ne(0).t().contiguous().to(at::kByte).reshape({-1});
  const auto* p = flat.data_ptr<uint8_t>();
  const int64_t n = flat.numel();
  uint8_t current = 0;
  int64_t run = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (p[i] != current) {
      rle.counts.push_back(run);
      current = p[i];
      run = 0;
    }
    ++run;
  }
  rle.counts.push_back(run);
  return rle;
}

at::Tensor rle_to_mask(const Rle& rle) {
  int64_t total = 0;
  for (int64_t c : rle.counts) {
    if (c < 0) throw UsageError(fmt::format("RLE: a negative run length {}", c));
    total += c;
  }
  if (total != rle.height * rle.width)
    throw UsageError(fmt::format("RLE: run lengths sum to {}, not {}×{} = {}", total, rle.height, rle.width,
                                 rle.height * rle.width));
  at::Tensor flat = torch::zeros({rle.height * rle.width}, at::kByte);
  auto* p = flat.data_ptr<uint8_t>();
  int64_t at = 0;
  uint8_t value = 0;
  for (int64_t c : rle.counts) {
    if (value) std::fill(p + at, p + at + c, uint8_t{1});
    at += c;
    value ^= 1;
  }
  return flat.reshape({rle.width, rle.height}).t().contiguous();
}

std::string mask_to_png_base64(const at::Tensor& mask) {
  const at::Tensor grey = mask.ne(0).to(at::kByte).mul(255).contiguous();
  const std::vector<std::uint8_t> png = io::encode_png(grey, 1);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

}  // namespace medsam::serve
