// 2D image I/O when the build has no OpenCV: every call says how to get it.
#include "medsam/core/build_config.h"

#if !MEDSAM_HAVE_OPENCV
#include "medsam/core/error.h"
#include "medsam/io/image.h"

namespace medsam::io {
namespace {
[[noreturn]] void no_opencv(const std::string& what) {
  throw Error(what + ": this medsam was built without OpenCV (configure with -DMEDSAM_WITH_OPENCV=ON)");
}
}  // namespace

at::Tensor read_image(const std::string& path) { no_opencv(path); }
void write_image(const std::string& path, const at::Tensor&) { no_opencv(path); }
std::vector<std::uint8_t> encode_png(const at::Tensor&, int) { no_opencv("png encoder"); }
at::Tensor decode_image(const std::uint8_t*, std::size_t, const std::string& what) { no_opencv(what); }
bool image_io_available() { return false; }
}  // namespace medsam::io
#endif
