// `medsam serve` in a build without cpp-httplib: the command exists and says what the build lacks.
#include <CLI/CLI.hpp>

#include "medsam/core/error.h"
#include "tools/command.h"

namespace medsam::tools {

RunFn add_serve_command(CLI::App& app) {
  auto* sub = app.add_subcommand("serve", "Serve the model over HTTP (this build has no HTTP server)");
  sub->allow_extras();
  return []() -> int {
    throw Error(
        "this medsam was built without cpp-httplib, so it cannot serve: install libcpp-httplib-dev and libssl-dev "
        "(scripts/setup-deps does) and rebuild, or configure with -DMEDSAM_WITH_HTTP=ON to make that an error");
  };
}

}  // namespace medsam::tools
