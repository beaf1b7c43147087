// 3D volumes in and out (NIfTI .nii/.nii.gz, MetaImage .mha/.mhd, NRRD .nrrd/.nhdr, DICOM file or
// series folder) with their geometry. Backed by ITK (volume_itk.cpp); no ITK in this header.
#pragma once

#include <ATen/Tensor.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace medsam::io {

// The spatial fields of a NIfTI-1 header as stored in the file (byte order decoded; nothing converted:
// lengths in the file's xyzt_units, RAS, both transforms as they are). ITK reads one transform of the
// two and converts spacing, not origin, to mm, so a NIfTI output of a NIfTI input takes these instead
// (write_volume). dim[i] past the file's dim[0] is 1: a 2D (dim[0] = 2) file has dim[3] = 1.
struct NiftiSpatial {
  std::array<std::int64_t, 3> dim{1, 1, 1};  // dim[1..3]: x, y, z voxels
  std::array<float, 4> pixdim{1, 1, 1, 1};   // pixdim[0] = qfac (-1 or 1), pixdim[1..3] voxel sizes
  std::uint8_t xyzt_units = 0;
  std::int16_t qform_code = 0;
  std::int16_t sform_code = 0;
  float quatern_b = 0, quatern_c = 0, quatern_d = 0;
  float qoffset_x = 0, qoffset_y = 0, qoffset_z = 0;
  std::array<float, 4> srow_x{0, 0, 0, 0};
  std::array<float, 4> srow_y{0, 0, 0, 0};
  std::array<float, 4> srow_z{0, 0, 0, 0};
  // VolumeGeometry's spacing, origin and direction as read with this header: write_volume uses the
  // header only while the geometry it writes still equals them (a changed geometry is written as given).
  std::array<double, 3> read_spacing{1.0, 1.0, 1.0};
  std::array<double, 3> read_origin{0.0, 0.0, 0.0};
  std::array<double, 9> read_direction{1, 0, 0, 0, 1, 0, 0, 0, 1};
};

// Physical placement of the voxel grid, in ITK's (LPS, x-first) convention.
struct VolumeGeometry {
  std::array<double, 3> spacing{1.0, 1.0, 1.0};  // (x, y, z) in mm, as ITK gives it
  std::array<double, 3> origin{0.0, 0.0, 0.0};   // (x, y, z) of voxel (0,0,0)
  std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};  // row-major 3×3, columns = axis directions
  // NIfTI qform_code/sform_code of the file read (e.g. 4 = MNI for Colin27), written back to NIfTI
  // outputs so viewers place them in the same space; -1 = not from a NIfTI file (ITK's defaults apply).
  int nifti_qform_code = -1;
  int nifti_sform_code = -1;
  // The header's spatial fields when read from a single-file NIfTI-1 .nii/.nii.gz (either byte order)
  // whose codes are the two above; nullopt otherwise (NIfTI-2, .hdr/.img, other formats). write_volume
  // puts them verbatim into a .nii/.nii.gz output of the same x, y, z size, as nibabel's
  // Nifti1Image(labels, img.affine, img.header) would.
  std::optional<NiftiSpatial> nifti_spatial;
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
