// Internal to medsam/dist: the c10d types behind process_group.h. Only translation units of this folder
// include it (it pulls in the c10d headers through the compat header).
#pragma once

#define MEDSAM_COMPAT_C10D
#include "medsam/core/build_config.h"
#include "medsam/core/torch_compat.h"

#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <string>

#include "medsam/dist/process_group.h"

namespace medsam::dist::detail {

using BackendPtr = c10::intrusive_ptr<compat::CommBackend>;
using StorePtr = c10::intrusive_ptr<c10d::Store>;

// The store every rank of this job shares, already under the process group's key prefix.
StorePtr create_store(const Rendezvous& rendezvous, std::chrono::milliseconds timeout);

// Rank 0 writes who it is (Rendezvous::job and the world size) into the store; every other rank reads it
// and throws Error naming both when it differs: another job's rank reached this store through a shared
// MASTER_PORT (or a node was started with another world size), which would otherwise wait out the timeout
// or, worse, join the wrong job.
void check_same_job(c10d::Store& store, const Rendezvous& rendezvous);

// Backends (backend_gloo.cpp, backend_nccl.cpp). Each throws medsam::Error when this build lacks it.
BackendPtr create_gloo_backend(const StorePtr& store, int rank, int size, std::chrono::milliseconds timeout);
BackendPtr create_nccl_backend(const StorePtr& store, const Rendezvous& rendezvous,
                               std::chrono::milliseconds timeout, c10::Device* device_out);
bool nccl_available();

// c10::Error carries a C++ backtrace in what(); users need the first line.
std::string short_message(const std::exception& e);

}  // namespace medsam::dist::detail
