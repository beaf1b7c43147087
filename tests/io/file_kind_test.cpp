// Routing files by name: 2D images (OpenCV) vs volumes (ITK), independent of what this build links.
#include <catch2/catch.hpp>

#include "medsam/io/image.h"
#include "medsam/io/volume.h"

using namespace medsam;

TEST_CASE("file names route to image or volume readers by extension, any case", "[io]") {
  for (const char* name : {"a.png", "b.JPG", "c.jpeg", "d.bmp", "e.tif", "dir.x/f.TIFF"}) {
    INFO(name);
    CHECK(io::looks_like_image_file(name));
    CHECK_FALSE(io::looks_like_volume_file(name));
  }
  for (const char* name : {"a.nii", "b.nii.gz", "c.MHA", "d.mhd", "e.nrrd", "f.nhdr", "g.dcm"}) {
    INFO(name);
    CHECK(io::looks_like_volume_file(name));
    CHECK_FALSE(io::looks_like_image_file(name));
  }
  for (const char* name : {"a.npz", "png", "a.png.txt", ""}) {
    INFO(name);
    CHECK_FALSE(io::looks_like_image_file(name));
  }
}
