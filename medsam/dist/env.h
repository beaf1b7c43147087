// Where rendezvous reads its variables from. Injectable so tests parse fake environments without
// touching the real one.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace medsam::dist {

// Returns the value of a variable, or nullopt when it is not set. An empty value counts as set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (getenv).
EnvLookup process_env();

// A fixed map (tests, or an environment prepared for a child process).
EnvLookup map_env(std::map<std::string, std::string> vars);

}  // namespace medsam::dist
