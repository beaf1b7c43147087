// How much memory this process may still use: the kernel's MemAvailable, lowered to the room left under
// the process's cgroup limit (a Slurm job's or a container's), which MemAvailable does not see.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace medsam {

// Bytes, or nullopt when neither /proc/meminfo nor a cgroup limit can be read (not Linux).
std::optional<std::uint64_t> available_memory_bytes();

// The parts, for tests: "MemAvailable:  123 kB" from /proc/meminfo text; a cgroup v2 memory.max /
// v1 limit_in_bytes value ("max" or a huge v1 value: no limit) minus usage.
std::optional<std::uint64_t> parse_mem_available(const std::string& meminfo);
std::optional<std::uint64_t> cgroup_room(const std::string& limit_text, const std::string& usage_text);

}  // namespace medsam
