#include "data_prep/split.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "medsam/data/checksum.h"

namespace medsam::prep {
namespace {

data::Split block_split(std::int64_t b, const std::vector<double>& f) {
  constexpr double kGolden = 0.6180339887498949;
  const double t = std::fmod((b + 1) * kGolden, 1.0);
  if (t < f[0]) return data::Split::kTrain;
  if (t < f[0] + f[1]) return data::Split::kVal;
  return f[2] > 0 ? data::Split::kTest : (f[1] > 0 ? data::Split::kVal : data::Split::kTrain);
}

}  // namespace

std::vector<data::Split> split_cases(const std::vector<std::string>& ids, const std::vector<double>& f) {
  const size_t n = ids.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::vector<std::uint32_t> h(n);
  for (size_t i = 0; i < n; ++i) h[i] = data::crc32_update(0, ids[i].data(), ids[i].size());
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return h[a] != h[b] ? h[a] < h[b] : ids[a] < ids[b]; });
  const auto n_train = static_cast<size_t>(std::llround(n * f[0]));
  const auto n_val = std::min(n - std::min(n, n_train), static_cast<size_t>(std::llround(n * f[1])));
  std::vector<data::Split> out(n, data::Split::kTest);
  for (size_t r = 0; r < n; ++r) {
    const size_t i = order[r];
    out[i] = r < n_train ? data::Split::kTrain : (r < n_train + n_val ? data::Split::kVal : data::Split::kTest);
  }
  if (n == 1) out[0] = data::Split::kTrain;  // a single case is training data whatever the fractions
  return out;
}

std::optional<data::Split> split_slice(std::int64_t slice, int block, int gap, const std::vector<double>& f) {
  const std::int64_t b = slice / block;
  const auto s = block_split(b, f);
  if (b > 0 && slice - b * block < gap && block_split(b - 1, f) != s) return std::nullopt;
  return s;
}

}  // namespace medsam::prep
