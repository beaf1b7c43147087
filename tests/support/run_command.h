// Runs a shell command and captures its exit code, stdout and stderr (for CLI tests).
#pragma once

#include <cstddef>
#include <string>

namespace medsam::test {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

CommandResult run_command(const std::string& command_line);

// Runs the built `medsam` binary with the given (shell-quoted) arguments.
CommandResult run_medsam(const std::string& args);

// A fresh, empty directory under the build tree's temp area, removed at exit of the test process.
std::string temp_dir(const std::string& name);
// Removes every temp_dir of this process (tests/main.cpp calls it when the test run ends).
void remove_temp_root();

// The bytes of a file ("" when it cannot be read: tests then fail on the content).
std::string file_contents(const std::string& path);

// How often `what` occurs in `text` (overlapping occurrences counted).
std::size_t count_occurrences(const std::string& text, const std::string& what);

}  // namespace medsam::test
