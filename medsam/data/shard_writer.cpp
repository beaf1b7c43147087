#include "medsam/data/shard_writer.h"

#include <fmt/format.h>

#include <cstdio>

#include "medsam/core/error.h"
#include "medsam/io/atomic_file.h"
#include "medsam/data/checksum.h"
#include "medsam/data/shard_index.h"
#include "medsam/io/tar_writer.h"

namespace medsam::data {


std::uint64_t EncodedSample::tar_bytes() const {
  return 3 * 512 + io::tar_padded(img_png.size()) + io::tar_padded(seg_png.size()) + io::tar_padded(json.size());
}

ShardWriter::ShardWriter(const std::string& dir, const std::string& name, Split split)
    : dir_(dir), name_(name), split_(split) {
  tar_ = std::make_unique<io::TarWriter>(dir_ + "/" + name_ + ".tar.tmp");
}

ShardWriter::~ShardWriter() {
  if (finished_) return;
  tar_.reset();
  std::remove((dir_ + "/" + name_ + ".tar.tmp").c_str());
  std::remove((dir_ + "/" + name_ + ".idx.tmp").c_str());
}

std::uint64_t ShardWriter::bytes() const { return tar_->bytes(); }

void ShardWriter::add(const EncodedSample& s) {
  if (finished_) throw Error(fmt::format("shard {}: add after finish", name_));
  if (s.key.find('.') != std::string::npos)
    throw Error(fmt::format("shard {}: sample key '{}' contains '.', which WebDataset reads as an extension", name_,
                            s.key));
  if (s.objects.size() > 65535) throw Error(fmt::format("shard {}: sample {} has too many objects", name_, s.key));
  SampleRecord r{};
  r.img_offset = tar_->append(s.key + ".img.png", s.img_png.data(), s.img_png.size());
  tar_->append(s.key + ".seg.png", s.seg_png.data(), s.seg_png.size());
  tar_->append(s.key + ".json", s.json.data(), s.json.size());
  r.img_bytes = static_cast<std::uint32_t>(s.img_png.size());
  r.seg_bytes = static_cast<std::uint32_t>(s.seg_png.size());
  r.json_bytes = static_cast<std::uint32_t>(s.json.size());
  if (s.case_name != last_case_ || index_.strings.empty()) {  // samples of a case are consecutive
    last_case_offset_ = static_cast<std::uint32_t>(index_.strings.size());
    index_.strings += s.case_name;
    index_.strings += '\0';
    last_case_ = s.case_name;
  }
  r.case_name = last_case_offset_;
  r.slice = s.slice;
  r.first_object = static_cast<std::uint32_t>(index_.objects.size());
  r.object_count = static_cast<std::uint16_t>(s.objects.size());
  r.height = s.height;
  r.width = s.width;
  r.dataset = s.dataset;
  r.modality = static_cast<std::uint8_t>(s.modality);
  r.split = static_cast<std::uint8_t>(s.split);
  r.axis = s.axis;
  r.channels = s.channels;
  index_.samples.push_back(r);
  for (const auto& o : s.objects) {
    ObjectRecord orec{};
    orec.label = o.label;
    orec.x0 = o.x0;
    orec.y0 = o.y0;
    orec.x1 = o.x1;
    orec.y1 = o.y1;
    orec.pixels = o.pixels;
    index_.objects.push_back(orec);
  }
}

ShardInfo ShardWriter::finish() {
  const std::string tar_path = dir_ + "/" + name_ + ".tar";
  tar_->finish();
  ShardIndex idx;
  idx.samples = std::move(index_.samples);
  idx.objects = std::move(index_.objects);
  idx.strings = std::move(index_.strings);
  idx.header.tar_bytes = tar_->bytes();
  idx.header.tar_crc32 = crc32_file(tar_path + ".tmp");
  const std::string bytes = idx.serialize();
  // The tar lands first, then its index; the manifest (written by the caller) lists the shard last.
  commit_file(tar_path + ".tmp", tar_path);
  write_file_atomically(dir_ + "/" + name_ + ".idx", bytes);
  finished_ = true;
  ShardInfo info;
  info.name = name_;
  info.split = split_;
  info.samples = idx.samples.size();
  info.objects = idx.objects.size();
  info.tar_bytes = idx.header.tar_bytes;
  info.index_bytes = bytes.size();
  info.crc32 = idx.header.tar_crc32;
  return info;
}

}  // namespace medsam::data
