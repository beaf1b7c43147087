// Catch2's main lives alone in this file so the (slow) Catch2 implementation compiles once.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
