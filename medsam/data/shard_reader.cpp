#include "medsam/data/shard_reader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "medsam/core/error.h"
#include "medsam/data/checksum.h"
#include "medsam/io/image.h"

namespace medsam::data {

ShardReader::ShardReader(const std::string& stem) : tar_path_(stem + ".tar") {
  index_ = ShardIndex::load(stem + ".idx");
  fd_ = ::open(tar_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error(fmt::format("{}: cannot open shard: {}", tar_path_, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != index_.header.tar_bytes) {
    ::close(fd_);
    fd_ = -1;
    throw Error(fmt::format("{}: size {} does not match its index ({} bytes): incomplete or replaced shard",
                            tar_path_, static_cast<long long>(st.st_size), index_.header.tar_bytes));
  }
}

ShardReader::~ShardReader() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<std::uint8_t> ShardReader::read_bytes(std::uint64_t offset, std::uint32_t size) const {
  std::vector<std::uint8_t> out(size);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd_, out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(fmt::format("{}: short read at offset {}", tar_path_, offset + done));
    done += static_cast<std::size_t>(n);
  }
  return out;
}

namespace {
// The PNGs against what the index says of them: an image that is not 8-bit (a 16-bit img.png decodes to
// int32, which the resize would clamp to 0..255 without a word) or not of the recorded size is corrupt.
void check_decoded(const ShardSample& s, const SampleRecord& r, const std::string& what) {
  const auto& im = s.image;
  if (im.scalar_type() != at::kByte)
    throw Error(fmt::format("{} image: {} pixels, not 8-bit (prep writes img.png as 8-bit grey or RGB)", what,
                            c10::toString(im.scalar_type())));
  const std::int64_t c = im.size(2);
  if (im.size(0) != r.height || im.size(1) != r.width || (c != 1 && c != 3 && c != 4))
    throw Error(fmt::format("{} image: {}x{}x{}, the index records {}x{}x{}", what, im.size(0), im.size(1), c, r.height,
                            r.width, r.channels));
  if (s.labels.size(0) != r.height || s.labels.size(1) != r.width)
    throw Error(fmt::format("{} labels: {}x{}, the index records {}x{}", what, s.labels.size(0), s.labels.size(1),
                            r.height, r.width));
}
}  // namespace

ShardSample ShardReader::read(std::size_t i) const {
  if (i >= size()) throw Error(fmt::format("{}: sample {} out of range ({} samples)", tar_path_, i, size()));
  const auto& r = index_.samples[i];
  const auto what = fmt::format("{} sample {}", tar_path_, i);
  ShardSample s;
  const auto img = read_bytes(r.img_offset, r.img_bytes);
  s.image = io::decode_image(img.data(), img.size(), what + " image");
  const auto seg = read_bytes(ShardIndex::seg_offset(r), r.seg_bytes);
  s.labels = io::decode_image(seg.data(), seg.size(), what + " labels").select(2, 0);
  check_decoded(s, r, what);
  const auto js = read_bytes(ShardIndex::json_offset(r), r.json_bytes);
  s.json.assign(js.begin(), js.end());
  return s;
}

bool ShardReader::verify() const { return crc32_file(tar_path_) == index_.header.tar_crc32; }

}  // namespace medsam::data
