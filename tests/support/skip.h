// Skipping a test case that needs an optional dependency this build lacks (OpenCV, ITK). Catch2 v2
// has no SKIP(): MEDSAM_SKIP prints a marker that ctest turns into "Skipped" (SKIP_REGULAR_EXPRESSION
// in tests/CMakeLists.txt) and leaves the test case; on Catch2 v3 it is SKIP().
#pragma once

#include <catch2/catch.hpp>

#include "medsam/core/build_config.h"

#if defined(CATCH_VERSION_MAJOR) && CATCH_VERSION_MAJOR >= 3
#define MEDSAM_SKIP(reason) SKIP(reason)
#else
#define MEDSAM_SKIP(reason)                     \
  do {                                          \
    WARN("MEDSAM_TEST_SKIPPED: " << reason);    \
    return;                                     \
  } while (0)
#endif

// At the top of a test case: skips it (with the reason) in builds without OpenCV / ITK.
#define MEDSAM_NEEDS_OPENCV(why) \
  if (!MEDSAM_HAVE_OPENCV) MEDSAM_SKIP("needs OpenCV: " << why)
#define MEDSAM_NEEDS_ITK(why) \
  if (!MEDSAM_HAVE_ITK) MEDSAM_SKIP("needs ITK: " << why)
