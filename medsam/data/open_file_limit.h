// Shards stay open for a whole run (one descriptor each, read with pread from every loader thread):
// MedSAM's 1.57M slices are ~1000 shards per split, past the 1024 descriptors many clusters give a
// process by default. The soft limit is raised towards the hard one as far as the shards need.
#pragma once

#include <cstdint>
#include <string>

namespace medsam::data {

// Makes room for `more` descriptors on top of those open now (plus a margin for logs, checkpoints and
// sockets): raises the soft RLIMIT_NOFILE up to the hard limit. Throws Error naming `what`, the count
// and the limit when the hard limit is too low.
void reserve_open_files(std::int64_t more, const std::string& what);

// Descriptors this process has open now (/proc/self/fd), for the check above and for tests.
std::int64_t open_file_count();

}  // namespace medsam::data
