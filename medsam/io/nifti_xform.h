// Setting a NIfTI-1 file's qform_code/sform_code, which ITK's writer cannot do: ITK 5.x reads the codes
// into the MetaDataDictionary but NiftiImageIO::SetNIfTIOrientationFromImageIO ends by setting both to
// NIFTI_XFORM_SCANNER_ANAT whatever the dictionary says (ref: ITK Modules/IO/NIFTI/src/itkNiftiImageIO.cxx).
// Internal to io (volume_itk.cpp); no ITK here.
#pragma once

#include <string>

namespace medsam::io {

// Copies the uncompressed single-file NIfTI-1 `staged` (.nii, as ITK wrote it) to `path` with the two
// codes replaced, gzip-compressed when `path` ends in .gz, atomically (a temporary beside `path`, then
// rename). Only those 4 header bytes change; the quaternion and srow_* fields ITK wrote from the same
// geometry stay, so whichever transform the codes select is the volume's geometry. Throws Error naming
// the file when `staged` is not a little-endian NIfTI-1 file or a code is outside 0..5.
void copy_nifti_with_xform_codes(const std::string& staged, const std::string& path, int qform_code, int sform_code);

}  // namespace medsam::io
