// The report gallery: while a model evaluation streams by, keep the objects with the lowest and the
// highest DSC (with their image and masks), then draw them as overlay PNGs.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "medsam/eval/html_report.h"
#include "medsam/eval/model_eval.h"

namespace medsam::eval {

class Gallery {
 public:
  explicit Gallery(int per_side) : per_side_(per_side) {}

  // Considers every object of the sample; objects with a NaN DSC are skipped. Ties keep the earlier object.
  void offer(const EvaluatedSample& sample);

  struct Items {
    std::vector<GalleryItem> worst, best;  // worst: ascending DSC; best: descending; no object in both
  };
  // Draws the kept objects (contour_overlay_png) and writes them as `dir/gallery/{worst,best}_NN.png`.
  Items write(const std::string& dir) const;

 private:
  struct Candidate {
    double dsc = 0;
    int64_t ordinal = 0;  // order of the object in the evaluation: identifies it across both lists
    ObjectScore score;
    at::Tensor image, gt, pred, box;
  };
  void keep(std::vector<Candidate>& list, Candidate c, bool lowest) const;

  int per_side_;
  int64_t seen_ = 0;
  std::vector<Candidate> worst_, best_;
};

}  // namespace medsam::eval
