#include "data_prep/input_record.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "medsam/core/directory.h"
#include "medsam/core/error.h"
#include "medsam/data/checksum.h"

namespace medsam::prep {
namespace {

struct StatResult {
  bool ok = false, is_dir = false;
  std::uint64_t bytes = 0;
  std::int64_t mtime_ns = 0;
};

StatResult stat_path(const std::string& path) {
  struct stat st {};
  StatResult r;
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return r;
  r.ok = true;
  r.is_dir = S_ISDIR(st.st_mode);
  r.bytes = static_cast<std::uint64_t>(st.st_size);
  r.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  return r;
}

// Size and time only (`with_crc` false) or the whole stamp. A folder stamps its regular files.
FileStamp stamp(const std::string& path, bool with_crc) {
  FileStamp s;
  const auto st = stat_path(path);
  if (!st.ok) return s;
  try {
    if (!st.is_dir) {
      s.bytes = st.bytes;
      s.mtime_ns = st.mtime_ns;
      if (with_crc) s.crc32 = data::crc32_file(path);
    } else {
      for (const auto& e : list_directory(path)) {  // sorted by name
        if (!e.is_regular_file) continue;
        const auto f = stat_path(e.path);
        if (!f.ok) continue;
        s.bytes += f.bytes;
        s.mtime_ns = std::max(s.mtime_ns, f.mtime_ns);
        if (with_crc) {
          const std::uint32_t file_crc = data::crc32_file(e.path);
          s.crc32 = data::crc32_update(s.crc32, e.name.data(), e.name.size() + 1);  // with its '\0'
          s.crc32 = data::crc32_update(s.crc32, &file_crc, sizeof file_crc);
        }
      }
    }
  } catch (const std::exception&) {
    return FileStamp{};  // unreadable: recorded as absent
  }
  s.exists = true;
  return s;
}

std::uint32_t path_hash(const std::string& path) {
  return path.empty() ? 0 : data::crc32_update(0, path.data(), path.size());
}

std::string file_change(const char* what, const std::string& path, const FileStamp& was) {
  const auto now = stamp(path, false);
  if (!was.exists && !now.exists) return "";
  if (!now.exists) return fmt::format("{} {} cannot be read now", what, path);
  if (!was.exists) return fmt::format("{} {} can be read now (it could not before)", what, path);
  if (now.bytes != was.bytes) return fmt::format("{} {}: {} bytes, {} when converted", what, path, now.bytes, was.bytes);
  if (now.mtime_ns == was.mtime_ns) return "";
  const auto full = stamp(path, true);
  if (full.exists && full.crc32 == was.crc32) return "";  // touched or copied, same content
  return fmt::format("{} {}: same size, other content (CRC-32 {:08x}, {:08x} when converted)", what, path,
                     full.crc32, was.crc32);
}

std::string stamp_fields(const FileStamp& s) {
  if (!s.exists) return "-\t-\t-";
  return fmt::format("{}\t{}\t{:08x}", s.bytes, s.mtime_ns, s.crc32);
}

}  // namespace

CaseInputs stamp_case_inputs(const std::string& id, const std::string& image, const std::string& labels) {
  CaseInputs c;
  c.id = id;
  c.image = stamp(image, true);
  if (!labels.empty()) c.labels = labels == image ? c.image : stamp(labels, true);  // npz: one file holds both
  c.labels_path_hash = path_hash(labels);
  return c;
}

std::string describe_input_change(const CaseInputs& recorded, const std::string& image, const std::string& labels) {
  if (path_hash(labels) != recorded.labels_path_hash)
    return labels.empty() ? "no label file is paired with it now"
                          : fmt::format("its label file is now {} (another file, or none, when converted)", labels);
  auto why = file_change("image", image, recorded.image);
  if (why.empty() && !labels.empty() && labels != image) why = file_change("labels", labels, recorded.labels);
  return why;
}

std::string format_input_record(const CaseInputs& c) {
  if (c.id.find_first_of("\t\n\r") != std::string::npos)
    throw Error(fmt::format("case id '{}' holds a tab or a line break; it cannot be recorded in inputs.tsv", c.id));
  return fmt::format("{}\t{}\t{:08x}\t{}\n", c.id, stamp_fields(c.image), c.labels_path_hash, stamp_fields(c.labels));
}

std::map<std::string, CaseInputs> read_input_records(const std::string& path, std::uint64_t bytes) {
  std::map<std::string, CaseInputs> out;
  if (bytes == 0) return out;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open (manifest.json says {} bytes of input records are committed)", path, bytes));
  std::string text(bytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(bytes));
  if (static_cast<std::uint64_t>(in.gcount()) != bytes)
    throw Error(fmt::format("{}: {} bytes, shorter than the {} manifest.json says are committed", path, in.gcount(), bytes));
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    std::vector<std::string> f;
    std::size_t start = 0;
    for (;;) {
      const auto tab = line.find('\t', start);
      f.push_back(line.substr(start, tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    auto bad = [&](const std::string& why) {
      return Error(fmt::format("{}:{}: malformed input record ({})", path, number, why));
    };
    if (f.size() != 8) throw bad(fmt::format("{} fields, 8 expected", f.size()));
    auto parse_stamp = [&](std::size_t i) {
      FileStamp s;
      if (f[i] == "-") return s;
      try {
        std::size_t used = 0;
        s.bytes = std::stoull(f[i], &used);
        if (used != f[i].size()) throw std::invalid_argument("bytes");
        s.mtime_ns = std::stoll(f[i + 1], &used);
        if (used != f[i + 1].size()) throw std::invalid_argument("time");
        s.crc32 = static_cast<std::uint32_t>(std::stoul(f[i + 2], &used, 16));
        if (used != f[i + 2].size() || f[i + 2].size() != 8) throw std::invalid_argument("crc");
      } catch (const std::exception&) {
        throw bad(fmt::format("fields '{}' '{}' '{}' are not bytes, time and CRC", f[i], f[i + 1], f[i + 2]));
      }
      s.exists = true;
      return s;
    };
    CaseInputs c;
    c.id = f[0];
    c.image = parse_stamp(1);
    try {
      std::size_t used = 0;
      c.labels_path_hash = static_cast<std::uint32_t>(std::stoul(f[4], &used, 16));
      if (used != f[4].size()) throw std::invalid_argument("hash");
    } catch (const std::exception&) {
      throw bad(fmt::format("label path hash '{}'", f[4]));
    }
    c.labels = parse_stamp(5);
    out[c.id] = c;
  }
  return out;
}

std::uint64_t append_input_records(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(fmt::format("{}: cannot open for appending: {}", path, std::strerror(errno)));
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw Error(fmt::format("{}: write failed: {}", path, std::strerror(err)));
    }
    done += static_cast<std::size_t>(n);
  }
  struct stat st {};
  const bool ok = ::fsync(fd) == 0 && ::fstat(fd, &st) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) throw Error(fmt::format("{}: fsync failed: {}", path, std::strerror(err)));
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace medsam::prep
