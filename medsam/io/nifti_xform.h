// NIfTI-1 header fields that ITK's writer cannot keep. ITK 5.x reads the codes into the
// MetaDataDictionary but NiftiImageIO::SetNIfTIOrientationFromImageIO ends by setting both to
// NIFTI_XFORM_SCANNER_ANAT whatever the dictionary says, and it writes the one transform it read (sform
// or qform) into both the quaternion and srow_* fields, with spacing in mm but the origin in the input's
// units (ref: ITK Modules/IO/NIFTI/src/itkNiftiImageIO.cxx). So volume_itk.cpp reads the input's spatial
// fields itself (read_nifti_spatial) and puts them into the .nii ITK wrote. Internal to io; no ITK here.
#pragma once

#include <optional>
#include <string>

#include "medsam/io/volume.h"

namespace medsam::io {

// The spatial fields of the single-file NIfTI-1 header of `path` (.nii or .nii.gz, read through zlib;
// sizeof_hdr 348 in either byte order, magic "n+1" or "ni1"). read_spacing/read_origin/read_direction
// are left at their defaults for the caller to fill. nullopt for any other file name, a NIfTI-2 or
// Analyze header, or a file that cannot be read (ITK reports that one).
std::optional<NiftiSpatial> read_nifti_spatial(const std::string& path);

// Copies the uncompressed single-file NIfTI-1 `staged` (.nii, as ITK wrote it) to `path`, gzip-compressed
// when `path` ends in .gz, atomically (a temporary beside `path`, then rename), with the header's spatial
// fields replaced by `spatial`'s: pixdim[0..3] (byte 76), xyzt_units (123), qform_code and sform_code
// (252, 254), quatern_b/c/d and qoffset_x/y/z (256..279), srow_x/y/z (280..327). The output's qform,
// sform, their codes, voxel sizes and units are then the input's own; nothing else changes (dim, datatype,
// vox_offset, the voxels). Throws Error naming the file when `staged` is not a little-endian NIfTI-1
// file, its dim[1..3] are not `spatial.dim`, or a code is outside 0..5.
void copy_nifti_with_spatial(const std::string& staged, const std::string& path, const NiftiSpatial& spatial);

// The same copy with only qform_code and sform_code replaced (4 header bytes), for a volume that has no
// NIfTI-1 header of its own to copy: the quaternion and srow_* fields ITK wrote from the same geometry
// stay, so whichever transform the codes select is the volume's geometry.
void copy_nifti_with_xform_codes(const std::string& staged, const std::string& path, int qform_code, int sform_code);

}  // namespace medsam::io
