// Is a volume file's voxel data all there? ITK reads a NIfTI or MetaImage file that was cut short (an
// interrupted copy or download) without an error and leaves the missing voxels zero (MetaIO only prints
// "data not read completely" to std::cerr), so read_volume checks before ITK reads. NRRD and DICOM
// readers already fail on short data. No ITK in here: the headers are read directly (zlib for .gz).
#pragma once

#include <cstdint>
#include <string>

namespace medsam::io {

// NIfTI-1/NIfTI-2 single files (.nii, .nii.gz): the voxel count and bytes per voxel come from the
// header. A .nii must hold vox_offset + that many bytes; a .nii.gz is inflated whole (every gzip member,
// CRCs checked) and must end cleanly after as many. Throws Error naming `path` and the byte counts.
// A header this cannot interpret (ITK has accepted it, so never in practice) passes unchecked.
void check_nifti_data_complete(const std::string& path);

// NaN and infinite voxels of a float32/float64 .nii or .nii.gz, counted in the file: NIfTI's reader
// (niftilib, under ITK) turns them into 0, so read_volume's data cannot show them. 0 for other files and
// types. Reads the whole file again; for label files, where a NaN read as 0 would be background.
std::int64_t nifti_non_finite_count(const std::string& path);

// MetaImage (.mha, or .mhd with its data file): `data_bytes` = voxels x bytes per voxel (ITK's reading
// of the header). Raw data must be at least that long; zlib-compressed data (CompressedData = True) is
// inflated whole and must end cleanly after as many bytes. Data split over several files (ElementDataFile
// LIST or a file pattern) passes unchecked. Throws Error naming the file and the byte counts.
void check_metaimage_data_complete(const std::string& path, std::uint64_t data_bytes);

// What a zlib or gzip stream starting at byte `offset` of `path` inflates to: every stream that follows
// directly (a multi-member .gz) is inflated too; other trailing bytes are ignored, as gzip does.
struct InflatedSize {
  std::uint64_t bytes = 0;  // inflated bytes, up to where the data ended or went wrong
  std::string head;         // the first head_bytes of them
  std::string problem;      // "" when the last stream ended cleanly; else what went wrong
};
InflatedSize inflated_size(const std::string& path, std::uint64_t offset, std::size_t head_bytes = 0);

}  // namespace medsam::io
