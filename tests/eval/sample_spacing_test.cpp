// Pixel spacing of a stored shard sample from its metadata JSON.
#include <catch2/catch.hpp>

#include "medsam/core/error.h"
#include "medsam/eval/sample_spacing.h"

using namespace medsam::eval;

TEST_CASE("an axial slice keeps y and x spacing, scaled by original over stored size", "[eval][spacing]") {
  // Volume spacing (x, y, z) = (0.5, 0.8, 3) mm; a 200 (rows, y) x 100 (cols, x) slice stored at 64x64.
  const auto s = sample_pixel_spacing(R"({"axis":"z","spacing":[0.5,0.8,3.0],"original_size":[200,100]})", 64, 64, "s");
  CHECK(s.from_metadata);
  CHECK(s.rows_cols[0] == Approx(0.8 * 200 / 64));
  CHECK(s.rows_cols[1] == Approx(0.5 * 100 / 64));
}

TEST_CASE("coronal and sagittal slices keep z as their rows", "[eval][spacing]") {
  const std::string common = R"("spacing":[0.5,0.8,3.0],"original_size":[10,20]})";
  const auto coronal = sample_pixel_spacing(R"({"axis":"y",)" + common, 10, 20, "s");  // rows z, cols x
  CHECK(coronal.rows_cols[0] == Approx(3.0));
  CHECK(coronal.rows_cols[1] == Approx(0.5));
  const auto sagittal = sample_pixel_spacing(R"({"axis":"x",)" + common, 10, 20, "s");  // rows z, cols y
  CHECK(sagittal.rows_cols[0] == Approx(3.0));
  CHECK(sagittal.rows_cols[1] == Approx(0.8));
}

TEST_CASE("a 2D image without spacing is scored at 1 mm and says so", "[eval][spacing]") {
  const auto s = sample_pixel_spacing(R"({"key":"ds/a","image_size":[64,64]})", 64, 64, "s");
  CHECK_FALSE(s.from_metadata);
  CHECK(s.rows_cols == std::vector<double>{1.0, 1.0});
  // 1 mm per original pixel: a 512 x 256 image stored at 1024² has 0.5 x 0.25 mm stored pixels.
  const auto up = sample_pixel_spacing(R"({"key":"ds/a","original_size":[512,256]})", 1024, 1024, "s");
  CHECK_FALSE(up.from_metadata);
  CHECK(up.rows_cols == std::vector<double>{0.5, 0.25});
}

TEST_CASE("malformed spacing metadata is an error naming the sample", "[eval][spacing]") {
  CHECK_THROWS_WITH(sample_pixel_spacing("{not json", 4, 4, "data d: colin/a slice 3"),
                    Catch::Contains("data d: colin/a slice 3") && Catch::Contains("metadata JSON"));
  CHECK_THROWS_WITH(sample_pixel_spacing(R"({"axis":"q","spacing":[1,1,1]})", 4, 4, "sample 7"),
                    Catch::Contains("sample 7") && Catch::Contains("axis 'q'"));
  CHECK_THROWS_WITH(sample_pixel_spacing(R"({"axis":"z","spacing":[1,0,1]})", 4, 4, "sample 8"),
                    Catch::Contains("sample 8") && Catch::Contains("pixel spacing of 0"));
  CHECK_THROWS_WITH(sample_pixel_spacing(R"({"axis":"z","spacing":"wide"})", 4, 4, "sample 9"),
                    Catch::Contains("sample 9") && Catch::Contains("spacing"));
}
