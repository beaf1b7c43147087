// Which file names are volumes (independent of ITK being built in).
#include "medsam/io/file_name.h"
#include "medsam/io/volume.h"

namespace medsam::io {

bool looks_like_volume_file(const std::string& path) {
  return has_extension(path, {".nii", ".nii.gz", ".mha", ".mhd", ".nrrd", ".nhdr", ".dcm"});
}

}  // namespace medsam::io
