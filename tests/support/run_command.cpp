#include "tests/support/run_command.h"

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

std::string temp_dir(const std::string& name) {
  static const fs::path root = [] {
    auto p = fs::temp_directory_path() / ("medsam_tests_" + std::to_string(::getpid()));
    fs::create_directories(p);
    std::atexit([] { std::error_code ec; fs::remove_all(fs::temp_directory_path() / ("medsam_tests_" + std::to_string(::getpid())), ec); });
    return p;
  }();
  auto dir = root / name;
  fs::remove_all(dir);
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

}  // namespace medsam::test
