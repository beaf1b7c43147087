// libFuzzer target for the restricted torch.save reader (zip container + pickle machine).
// Contract under test: any byte string either parses or throws medsam::Error; anything else
// (a crash, a sanitizer report, another exception type, a hang, unbounded memory) is a bug.
// Build and run: scripts/fuzz (clang, -fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>
#include <string>

#include "medsam/core/error.h"
#include "medsam/io/pth.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    medsam::parse_pth(std::string(reinterpret_cast<const char*>(data), size), "fuzz input");
  } catch (const medsam::Error&) {
    // rejected cleanly: the expected outcome for almost every input
  }
  return 0;
}
