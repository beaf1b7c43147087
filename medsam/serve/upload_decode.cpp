#include "medsam/serve/upload_decode.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <cstdint>

#include "medsam/infer/preprocess.h"
#include "medsam/io/image.h"
#include "medsam/io/npy.h"
#include "medsam/serve/serve_errors.h"

namespace medsam::serve {

namespace {

bool starts_with(const std::string& s, std::string_view prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// "image/png", "application/x-npy", ... from the bytes' signature; "" when none matches.
std::string sniff_type(const std::string& b) {
  if (starts_with(b, "\x89PNG\r\n\x1a\n")) return "image/png";
  if (starts_with(b, "\xff\xd8\xff")) return "image/jpeg";
  if (starts_with(b, "II*") || starts_with(b, std::string("MM\0*", 4))) return "image/tiff";
  if (starts_with(b, "BM")) return "image/bmp";
  if (starts_with(b, "\x93NUMPY")) return "application/x-npy";
  return "";
}

// The media type without parameters, lowercased: "Image/PNG; q=1" -> "image/png".
std::string bare_type(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

bool generic_type(const std::string& t) { return t.empty() || t == "application/octet-stream"; }

}  // namespace

std::string upload_type(const std::string& bytes, const std::string& content_type) {
  if (bytes.empty()) throw UsageError("the request body is empty: send the image file's bytes");
  const std::string sniffed = sniff_type(bytes), declared = bare_type(content_type);
  if (sniffed.empty())
    throw UnsupportedMediaError(fmt::format(
        "the uploaded bytes are no PNG, JPEG, TIFF, BMP or NumPy .npy file (Content-Type '{}')", content_type));
  const bool npy_alias = sniffed == "application/x-npy" && declared == "application/npy";
  const bool jpg_alias = sniffed == "image/jpeg" && declared == "image/jpg";
  if (!generic_type(declared) && declared != sniffed && !npy_alias && !jpg_alias)
    throw UnsupportedMediaError(
        fmt::format("Content-Type says '{}' but the bytes are {}", content_type, sniffed));

  if (!io::image_io_available() && sniffed != "image/png" && sniffed != "application/x-npy")
    throw UnsupportedMediaError(fmt::format("this medsam was built without OpenCV and reads no {}: send PNG or .npy", sniffed));
  return sniffed;
}

at::Tensor decode_upload(const std::string& bytes, const std::string& content_type) {
  const std::string sniffed = upload_type(bytes, content_type);
  // A file that fails to decode is the client's fault (400), not the server's: io throws Error.
  at::Tensor a;
  try {
    // Alpha is no intensity: dropped here, before normalize_for, where an opaque 16-bit alpha (65535)
    // would set the percentile clip's top.
    if (sniffed != "application/x-npy")
      return infer::drop_alpha(
          io::decode_image(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "the uploaded " + sniffed));
    a = parse_npy(bytes, "the uploaded .npy");
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  const bool grey = a.dim() == 2, colour = a.dim() == 3 && (a.size(2) == 1 || a.size(2) == 3 || a.size(2) == 4);
  if (!grey && !colour)
    throw UsageError(fmt::format("the uploaded .npy has shape {}: expected H×W or H×W×C with C 1, 3 or 4", a.sizes()));
  if (a.size(0) < 1 || a.size(1) < 1) throw UsageError(fmt::format("the uploaded .npy has shape {}: an empty image", a.sizes()));
  return infer::drop_alpha(a);
}

}  // namespace medsam::serve
