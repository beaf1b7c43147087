// ProcessGroupGloo: collectives between CPU processes over TCP.
#include "medsam/dist/c10d_internal.h"

#if MEDSAM_HAVE_GLOO && defined(USE_C10D_GLOO)
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#define MEDSAM_DIST_GLOO 1
#else
#define MEDSAM_DIST_GLOO 0
#endif

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

#include "medsam/core/error.h"

namespace medsam::dist::detail {

BackendPtr create_gloo_backend(const StorePtr& store, int rank, int size, std::chrono::milliseconds timeout) {
#if MEDSAM_DIST_GLOO
  // ref: torch/csrc/distributed/c10d/init.cpp ProcessGroupGloo.__init__: one device per interface named
  // in GLOO_SOCKET_IFNAME (comma-separated), else the address this host's name resolves to (loopback
  // if it does not resolve); two worker threads per device.
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  const char* ifnames = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifnames != nullptr && std::strlen(ifnames) > 1) {
    std::string list = ifnames;
    size_t pos = 0;
    while (pos <= list.size()) {
      size_t end = list.find(',', pos);
      if (end == std::string::npos) end = list.size();
      const std::string iface = list.substr(pos, end - pos);
      if (!iface.empty()) {
        try {
          options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
        } catch (const std::exception& e) {
          throw Error(fmt::format("GLOO_SOCKET_IFNAME={}: cannot use interface '{}': {}", list, iface,
                                  short_message(e)));
        }
      }
      pos = end + 1;
    }
  } else {
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  options->threads = static_cast<int>(options->devices.size()) * 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
#else
  (void)store, (void)rank, (void)size, (void)timeout;
  throw Error("this medsam was built without Gloo (install libgloo-dev and reconfigure): no CPU distributed training");
#endif
}

}  // namespace medsam::dist::detail
