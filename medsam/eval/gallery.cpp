#include "medsam/eval/gallery.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "medsam/eval/contour_overlay.h"
#include "medsam/io/atomic_file.h"

namespace medsam::eval {

void Gallery::keep(std::vector<Candidate>& list, Candidate c, bool lowest) const {
  // Strictly better than the current last one, so among equal scores the earlier object stays.
  auto better = [lowest](double a, double b) { return lowest ? a < b : a > b; };
  if (static_cast<int>(list.size()) >= per_side_ && !better(c.dsc, list.back().dsc)) return;
  const auto at = std::upper_bound(list.begin(), list.end(), c.dsc,
                                   [&](double v, const Candidate& e) { return better(v, e.dsc); });
  list.insert(at, std::move(c));
  if (static_cast<int>(list.size()) > per_side_) list.pop_back();
}

void Gallery::offer(const EvaluatedSample& sample) {
  for (std::size_t k = 0; k < sample.scores.size(); ++k) {
    const int64_t ordinal = seen_++;
    const ObjectScore& s = sample.scores[k];
    if (per_side_ <= 0 || std::isnan(s.dsc)) continue;
    const bool worst = static_cast<int>(worst_.size()) < per_side_ || s.dsc < worst_.back().dsc;
    const bool best = static_cast<int>(best_.size()) < per_side_ || s.dsc > best_.back().dsc;
    if (!worst && !best) continue;
    // Own copies: the sample's tensors are reused by nobody, but a row view would keep all N masks alive.
    Candidate c{s.dsc, ordinal, s, sample.image, (sample.labels == s.label).to(at::kByte),
                sample.masks[static_cast<int64_t>(k)].clone(), sample.boxes[static_cast<int64_t>(k)].clone()};
    if (worst) keep(worst_, c, /*lowest=*/true);
    if (best) keep(best_, std::move(c), /*lowest=*/false);
  }
}

Gallery::Items Gallery::write(const std::string& dir) const {
  Items items;
  if (worst_.empty() && best_.empty()) return items;
  std::filesystem::create_directories(dir + "/gallery");
  auto draw = [&](const std::vector<Candidate>& list, const char* prefix, const std::vector<Candidate>* exclude) {
    std::vector<GalleryItem> out;
    for (const auto& c : list) {
      if (exclude && std::any_of(exclude->begin(), exclude->end(),
                                 [&](const Candidate& e) { return e.ordinal == c.ordinal; }))
        continue;
      GalleryItem item;
      item.file = fmt::format("gallery/{}_{:02d}.png", prefix, out.size() + 1);
      item.caption = fmt::format("{}/{} slice {} label {}: DSC {:.3f}, NSD {:.3f}", c.score.dataset, c.score.case_id,
                                 c.score.slice, c.score.label, c.score.dsc, c.score.nsd);
      item.png = contour_overlay_png(c.image, c.gt, c.pred, c.box);
      write_file_atomically(dir + "/" + item.file, std::string(item.png.begin(), item.png.end()));
      out.push_back(std::move(item));
    }
    return out;
  };
  items.worst = draw(worst_, "worst", nullptr);
  items.best = draw(best_, "best", &worst_);
  return items;
}

}  // namespace medsam::eval
