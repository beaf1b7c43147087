// Volume I/O when the build has no ITK: every call says how to get it.
#include "medsam/core/build_config.h"

#if !MEDSAM_HAVE_ITK
#include "medsam/core/error.h"
#include "medsam/io/volume.h"

namespace medsam::io {
namespace {
[[noreturn]] void no_itk(const std::string& path) {
  throw Error(path + ": this medsam was built without ITK (configure with -DMEDSAM_WITH_ITK=ON)");
}
}  // namespace
Volume read_volume(const std::string& path) { no_itk(path); }
void write_volume(const std::string& path, const Volume&) { no_itk(path); }
std::optional<std::int64_t> read_volume_voxel_count(const std::string&) { return std::nullopt; }
bool volume_io_available() { return false; }
}  // namespace medsam::io
#endif
