#include "tests/support/run_command.h"

#include "medsam/core/directory.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace medsam::test {
namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

// The per-process folder under the system temp dir. Leaked on purpose and removed by the listener in
// tests/main.cpp when the run ends, never from an atexit handler or a static destructor. Folders are
// removed with medsam::remove_tree, not std::filesystem::remove_all, which crashed in the CUDA build
// (pip LibTorch 2.11 on an H200; medsam/core/directory.h says why).
const std::filesystem::path& temp_root() {
  static const fs::path* root = [] {
    auto* p = new fs::path(fs::temp_directory_path() / ("medsam_tests_" + std::to_string(::getpid())));
    fs::create_directories(*p);
    return p;
  }();
  return *root;
}

void remove_temp_root() {
  std::error_code ec;
  medsam::remove_tree((fs::temp_directory_path() / ("medsam_tests_" + std::to_string(::getpid()))).string(), ec);
}

std::string temp_dir(const std::string& name) {
  const fs::path& root = temp_root();
  auto dir = root / name;
  medsam::remove_tree(dir.string());
  fs::create_directories(dir);
  return dir.string();
}

CommandResult run_command(const std::string& command_line) {
  const auto dir = fs::path(temp_dir("run_command"));
  const auto out = dir / "stdout", err = dir / "stderr";
  const std::string full = command_line + " >" + out.string() + " 2>" + err.string();
  const int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

CommandResult run_medsam(const std::string& args) { return run_command(std::string(MEDSAM_BIN) + " " + args); }

std::string file_contents(const std::string& path) { return slurp(path); }

std::size_t count_occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace medsam::test
