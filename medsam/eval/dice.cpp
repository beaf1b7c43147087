#include "medsam/eval/dice.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <limits>

#include "medsam/core/error.h"

namespace medsam::eval {

double dice(const at::Tensor& pred, const at::Tensor& gt, BothEmpty both_empty) {
  if (pred.sizes() != gt.sizes())
    throw Error(fmt::format("dice: mask shapes differ: pred {} vs gt {}", fmt::join(pred.sizes(), "x"),
                            fmt::join(gt.sizes(), "x")));
  const at::Tensor p = pred != 0, g = gt != 0;
  const double sum = static_cast<double>(p.sum().item<int64_t>() + g.sum().item<int64_t>());
  if (sum == 0) return both_empty == BothEmpty::kOne ? 1.0 : std::numeric_limits<double>::quiet_NaN();
  const double both = static_cast<double>(at::logical_and(p, g).sum().item<int64_t>());
  return 2.0 * both / sum;
}

}  // namespace medsam::eval
