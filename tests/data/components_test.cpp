#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/data/components.h"

using namespace medsam::data;

TEST_CASE("3D removal drops 26-connected components below the threshold, per label", "[data][components]") {
  auto lab = torch::zeros({6, 10, 10}, torch::kInt);
  lab.slice(0, 0, 3).slice(1, 0, 4).slice(2, 0, 4).fill_(1);  // 48 voxels of label 1
  lab[5][9][9] = 1;                                            // a lone voxel of label 1
  lab.slice(0, 3, 6).slice(1, 6, 9).slice(2, 6, 9).fill_(2);  // 27 voxels of label 2
  // Two voxels of label 3 touching only at a corner: one 26-connected component of size 2.
  lab[0][8][0] = 3;
  lab[1][9][1] = 3;
  auto removed = remove_small_components_3d(lab, 27);
  CHECK(removed == 3);                                           // lone voxel + the label-3 pair
  CHECK((lab == 1).sum().item<int>() == 48);
  CHECK((lab == 2).sum().item<int>() == 27);                     // exactly at the threshold: kept
  CHECK((lab == 3).sum().item<int>() == 0);
}

TEST_CASE("3D removal treats touching voxels of different labels as separate components", "[data][components]") {
  auto lab = torch::zeros({1, 4, 4}, torch::kInt);
  lab[0][0][0] = 1;
  lab[0][0][1] = 2;  // touches label 1 but is another component
  CHECK(remove_small_components_3d(lab, 2) == 2);
  CHECK(lab.sum().item<int>() == 0);
}

TEST_CASE("corner contact connects in 3D (26) but 2D removal works slice by slice (8)", "[data][components]") {
  auto lab = torch::zeros({2, 5, 5}, torch::kInt);
  // Slice 0: a diagonal pair (8-connected, size 2). Slice 1: one voxel touching slice 0 by a corner.
  lab[0][0][0] = 1;
  lab[0][1][1] = 1;
  lab[1][2][2] = 1;
  auto a = lab.clone();
  CHECK(remove_small_components_3d(a, 3) == 0);  // one 26-connected component of 3
  auto b = lab.clone();
  CHECK(remove_small_components_2d(b, 2) == 1);  // per slice: the pair stays, the single voxel goes
  CHECK(b[0].sum().item<int>() == 2);
  CHECK(b[1].sum().item<int>() == 0);
}

TEST_CASE("a threshold of 0 or 1 leaves labels untouched", "[data][components]") {
  auto lab = torch::randint(0, 3, {3, 6, 6}, torch::kInt);
  auto before = lab.clone();
  CHECK(remove_small_components_3d(lab, 0) == 0);
  CHECK(remove_small_components_2d(lab, 1) == 0);
  CHECK(lab.equal(before));
}
