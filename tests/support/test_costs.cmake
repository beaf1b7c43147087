# Read by ctest after the discovered Catch2 tests (tests/CMakeLists.txt). `ctest -j` starts the costliest
# tests first only when it knows their costs, and a fresh build has no Testing/Temporary/CTestCostData.txt:
# without these the ~2-minute real-data training run started last and ran alone at the end. Seconds,
# measured on a 2-core machine; a renamed test makes ctest fail here, so this list cannot go stale quietly.
set_tests_properties(
  "500 CPU steps on real Colin27/AAL shards lower the training loss and raise validation Dice"
  PROPERTIES COST 120)
set_tests_properties(
  "medsam infer --input-dir answers every .npz case of a folder, records a failing one and goes on, and resumes without redoing answers"
  "vit_h preset has exactly SAM's state_dict keys, shapes and dtypes"
  "medsam --help lists every subcommand"
  "medsam export unwraps a MedSAM training checkpoint into a .pth Python loads"
  "2 ranks x batch 2 end with the weights of 1 rank x batch 4 on the same samples"
  "medsam infer answers MedSAM/CVPR .npz cases with segs, 2D and 3D, as the other inputs do"
  PROPERTIES COST 15)
