// Gallery overlays when the build has no OpenCV: the report leaves the gallery out.
#include "medsam/core/build_config.h"

#if !MEDSAM_HAVE_OPENCV
#include "medsam/core/error.h"
#include "medsam/eval/contour_overlay.h"

namespace medsam::eval {

std::vector<std::uint8_t> contour_overlay_png(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                              const at::Tensor&) {
  throw Error("report gallery: this medsam was built without OpenCV (configure with -DMEDSAM_WITH_OPENCV=ON)");
}

bool contour_overlay_available() { return false; }

}  // namespace medsam::eval
#endif
