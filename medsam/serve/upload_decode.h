// The pixels of an uploaded image: PNG/JPEG/TIFF/BMP (through io::decode_image) or a NumPy .npy array
// (CT slices in Hounsfield units, float MR, ...). The format is recognised by its magic bytes; a
// Content-Type that names another format is an error, not something to guess around.
#pragma once

#include <ATen/Tensor.h>

#include <string>

namespace medsam::serve {

// The upload's media type from its magic bytes ("image/png", ..., "application/x-npy"), after checking
// it agrees with the Content-Type. Cheap: the service checks it before looking for a stored embedding.
// Throws UnsupportedMediaError or UsageError (an empty body).
std::string upload_type(const std::string& bytes, const std::string& content_type);

// -> H×W or H×W×C (C 1 or 3) raw pixels: a fourth channel (alpha) is dropped, so that it never enters
// intensity normalisation (infer::drop_alpha). Throws UnsupportedMediaError (unknown format, or a
// Content-Type that contradicts the bytes) or UsageError (a corrupt file, or an array of another shape).
at::Tensor decode_upload(const std::string& bytes, const std::string& content_type);

}  // namespace medsam::serve
