// Catch2's main lives alone in this file so the (slow) Catch2 implementation compiles once.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "tests/support/run_command.h"

namespace {
// Removes the run's temp folders while main() is still running (see temp_dir in run_command.cpp).
struct TempCleanup : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testRunEnded(const Catch::TestRunStats& stats) override {
    medsam::test::remove_temp_root();
    TestEventListenerBase::testRunEnded(stats);
  }
};
}  // namespace
CATCH_REGISTER_LISTENER(TempCleanup)
