// 3D volumes in and out (NIfTI .nii/.nii.gz, MetaImage .mha/.mhd, NRRD .nrrd/.nhdr, DICOM file or
// series folder) with their geometry. Backed by ITK (volume_itk.cpp); no ITK in this header.
#pragma once

#include <ATen/Tensor.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace medsam::io {

// Physical placement of the voxel grid, in ITK's (LPS, x-first) convention.
struct VolumeGeometry {
  std::array<double, 3> spacing{1.0, 1.0, 1.0};  // (x, y, z) in mm, as ITK gives it
  std::array<double, 3> origin{0.0, 0.0, 0.0};   // (x, y, z) of voxel (0,0,0)
  std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};  // row-major 3×3, columns = axis directions
  // NIfTI qform_code/sform_code of the file read (e.g. 4 = MNI for Colin27), written back to NIfTI
  // outputs so viewers place them in the same space; -1 = not from a NIfTI file (ITK's defaults apply).
  int nifti_qform_code = -1;
  int nifti_sform_code = -1;
};

struct Volume {
  at::Tensor data;  // (z, y, x); dtype as stored (uint8, int8, int16, int32, int64, float32, float64;
                    // uint16 is widened to int32, uint32 to int64; DICOM series are float32 after rescale)
  VolumeGeometry geometry;
};

// Reads a volume file, or a folder holding one DICOM series (the series with the most files when
// several). 2D files come back with z = 1. Throws Error naming the path on any failure.
Volume read_volume(const std::string& path);

// Writes `volume` (dtype uint8, int8, int16, int32, int64, float32, float64 or bool) keeping its
// geometry; the format follows the extension; .nii.gz/.mha/.nrrd are compressed.
void write_volume(const std::string& path, const Volume& volume);

// True for names ITK-backed volume reading recognises by extension (.nii, .nii.gz, .mha, .mhd,
// .nrrd, .nhdr, .dcm) — used to route files; folders are checked by read_volume itself.
bool looks_like_volume_file(const std::string& path);

// Voxels of a volume file from its header alone (no data read): nullopt for a folder (DICOM series), a
// file no reader recognises, or a build without ITK. For sizing work before reading (prep's workers).
std::optional<std::int64_t> read_volume_voxel_count(const std::string& path);

// True when this build can read and write volumes (built with ITK).
bool volume_io_available();

}  // namespace medsam::io
