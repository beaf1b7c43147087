// Which file names are 2D images (independent of OpenCV being built in); volume_ext.cpp is its twin.
#include "medsam/io/file_name.h"
#include "medsam/io/image.h"

namespace medsam::io {

bool looks_like_image_file(const std::string& path) {
  return has_extension(path, {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"});
}

}  // namespace medsam::io
