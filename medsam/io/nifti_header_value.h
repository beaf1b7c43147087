// One field of a NIfTI header stored in the file's byte order: shared by the header readers of io
// (volume_data_check.cpp's data-length check, nifti_xform.cpp's spatial fields). Internal to io.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace medsam::io {

// The T at byte `offset` of `header`; `swap` when the file's byte order is not the host's.
template <class T>
T nifti_header_value(const unsigned char* header, std::size_t offset, bool swap) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, header + offset, sizeof(T));
  if (swap) std::reverse(b, b + sizeof(T));
  T v{};
  std::memcpy(&v, b, sizeof(T));
  return v;
}

}  // namespace medsam::io
