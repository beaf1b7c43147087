// The key-value store the backends rendezvous through: TCPStore hosted by rank 0, or torchrun's agent store.
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <fmt/format.h>

#include "medsam/core/error.h"
#include "medsam/dist/c10d_internal.h"

namespace medsam::dist::detail {

StorePtr create_store(const Rendezvous& r, std::chrono::milliseconds timeout) {
  StorePtr base;
  if (!r.distributed() && !r.agent_store) {
    base = c10::make_intrusive<c10d::HashStore>();  // a world of one needs no network
  } else {
    // ref: torch/distributed/rendezvous.py _create_c10d_store
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(r.master_port);
    options.numWorkers = static_cast<std::size_t>(r.world_size);
    options.timeout = timeout;
    if (r.agent_store) {
      options.isServer = false;  // torchrun's agent hosts it; every rank is a client
    } else {
      options.isServer = r.rank == 0;
      options.waitWorkers = true;
      options.multiTenant = true;
    }
    const double seconds = std::chrono::duration<double>(timeout).count();
    try {
      StorePtr tcp = c10::make_intrusive<c10d::TCPStore>(r.master_addr, options);
      base = r.agent_store ? StorePtr(c10::make_intrusive<c10d::PrefixStore>(r.store_prefix(), tcp)) : tcp;
    } catch (const std::exception& e) {
      if (options.isServer)
        throw Error(fmt::format("rank 0 could not host the store on {}:{} or not all {} ranks joined within {:g} s: {}",
                                r.master_addr, r.master_port, r.world_size, seconds, short_message(e)));
      throw Error(fmt::format("rank {} could not reach the store at {}:{} within {:g} s (is rank 0 running, and "
                              "MASTER_ADDR reachable from this node?): {}",
                              r.rank, r.master_addr, r.master_port, seconds, short_message(e)));
    }
  }
  // ref: torch/distributed/distributed_c10d.py init_process_group: keys of the default group live under
  // "default_pg" so that other users of a shared (multi-tenant) store do not collide with them.
  return c10::make_intrusive<c10d::PrefixStore>("default_pg", base);
}

namespace {
std::string job_text(const std::string& job, int world_size) {
  return fmt::format("{}, world size {}", job.empty() ? std::string("a job no launcher named") : job, world_size);
}
}  // namespace

void check_same_job(c10d::Store& store, const Rendezvous& r) {
  const std::string key = "medsam_job";
  const std::string mine = job_text(r.job, r.world_size);
  try {
    if (r.rank == 0) {
      store.set(key, std::vector<std::uint8_t>(mine.begin(), mine.end()));
      return;
    }
    const std::vector<std::uint8_t> value = store.get(key);  // waits for rank 0, up to the store's timeout
    const std::string theirs(value.begin(), value.end());
    if (theirs == mine) return;
    throw Error(fmt::format(
        "rank {}: the store at {}:{} belongs to another job ({}); this process is {}. Two jobs share that "
        "host and port: give each its own MASTER_PORT (or --master-port), and start every node with the same "
        "world size (docs/distributed.md)",
        r.rank, r.master_addr, r.master_port, theirs, mine));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(fmt::format("rank {}: checking the job at the store {}:{} failed: {}", r.rank, r.master_addr,
                            r.master_port, short_message(e)));
  }
}

std::string short_message(const std::exception& e) {
  std::string text;
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    text = c10_error->what_without_backtrace();
  } else {
    text = e.what();
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace medsam::dist::detail
