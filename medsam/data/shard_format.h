// The on-disk shard format, version 1 (docs/data_format.md describes it byte by byte).
//
// A prepared dataset is a folder: manifest.json + per shard `<split>-<NNNNNN>.tar` (WebDataset-style
// POSIX tar: `<key>.img.png`, `<key>.seg.png`, `<key>.json` per sample, in that order) and
// `<split>-<NNNNNN>.idx` (the binary index below, little-endian). The index is loaded whole into
// memory: 48 bytes per sample + 16 bytes per object + the case-name table.
#pragma once

#include <cstdint>

namespace medsam::data {

constexpr char kIndexMagic[8] = {'M', 'S', 'A', 'M', 'I', 'D', 'X', '1'};
constexpr std::uint32_t kShardFormatVersion = 1;

// File header (64 bytes).
struct IndexHeader {
  char magic[8];                 // "MSAMIDX1"
  std::uint32_t version;         // kShardFormatVersion
  std::uint32_t header_bytes;    // sizeof(IndexHeader) = 64
  std::uint64_t sample_count;
  std::uint64_t object_count;
  std::uint64_t string_bytes;    // size of the case-name table at the end
  std::uint64_t tar_bytes;       // size of the matching .tar file
  std::uint32_t tar_crc32;       // CRC-32 (zlib polynomial) of the whole .tar file
  std::uint32_t sample_bytes;    // sizeof(SampleRecord) = 48, object records follow at 16
  std::uint64_t reserved;
};
static_assert(sizeof(IndexHeader) == 64, "index header layout");

// One sample (48 bytes). Member data offsets in the tar follow from img_offset and the sizes:
// seg data at img_offset + pad512(img_bytes) + 512, json data at seg + pad512(seg_bytes) + 512.
// SampleRecord::axis of a sample that is a 2D image of its own (not a slice of a volume).
constexpr std::uint8_t kAxis2dImage = 255;

struct SampleRecord {
  std::uint64_t img_offset;      // byte offset of the <key>.img.png data in the .tar
  std::uint32_t img_bytes;
  std::uint32_t seg_bytes;
  std::uint32_t json_bytes;
  std::uint32_t case_name;       // byte offset of the NUL-terminated case name in the string table
  std::uint32_t slice;           // slice index along `axis` in the source volume (0 for 2D images)
  std::uint32_t first_object;    // index of the first ObjectRecord of this sample
  std::uint16_t object_count;
  std::uint16_t height;          // stored image size in pixels
  std::uint16_t width;
  std::uint16_t dataset;         // index into manifest "datasets"
  std::uint8_t modality;         // Modality id (medsam/data/modality.h)
  std::uint8_t split;            // 0 train, 1 val, 2 test
  std::uint8_t axis;             // 0 z (axial), 1 y (coronal), 2 x (sagittal), kAxis2dImage = 2D image
  std::uint8_t channels;         // 1 grey or 3 RGB in img.png
  std::uint32_t reserved;
};
static_assert(sizeof(SampleRecord) == 48, "sample record layout");

// One object of a sample (16 bytes): a label id present in the stored label map.
struct ObjectRecord {
  std::uint16_t label;
  std::uint16_t x0, y0, x1, y1;  // tight box, inclusive, in stored pixels
  std::uint16_t reserved;
  std::uint32_t pixels;          // pixel count in the stored label map
};
static_assert(sizeof(ObjectRecord) == 16, "object record layout");

enum class Split : std::uint8_t { kTrain = 0, kVal = 1, kTest = 2 };
const char* split_name(Split s);

}  // namespace medsam::data
