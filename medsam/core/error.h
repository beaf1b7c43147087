// Error types. Every message names the file, key or value at fault so a user can act on it.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace medsam {

// A runtime failure (bad file, bad data, failed step): `medsam` exits 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The user asked for something malformed (bad flag value, bad box syntax): `medsam` exits 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// A config file or override is wrong: names file, line and key. Counts as bad usage (exit 2).
class ConfigError : public UsageError {
 public:
  using UsageError::UsageError;
};

// A setting out of range, found by a section's validate(). `keys` are the dotted settings involved, so
// resolve_config, which knows where each was set (file:line or --set), can say so.
class ConfigValueError : public ConfigError {
 public:
  ConfigValueError(std::vector<std::string> keys, const std::string& what)
      : ConfigError(what), keys_(std::move(keys)) {}
  const std::vector<std::string>& keys() const { return keys_; }

 private:
  std::vector<std::string> keys_;
};

// Exit code of a job stopped by a signal after saving its work (medsam train: a checkpoint): resume to
// continue. EX_TEMPFAIL of <sysexits.h> ("try again later"). Not 0, so that `train && eval` and Slurm's
// afterok do not go on with an unfinished model; not 1, so that a script can tell it from a failure.
inline constexpr int kExitStopped = 75;

// Subcommands that do not exist yet say so plainly.
class NotImplementedError : public Error {
 public:
  using Error::Error;
};

}  // namespace medsam
