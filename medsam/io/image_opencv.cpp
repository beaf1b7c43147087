// 2D image I/O through OpenCV's imgcodecs. OpenCV keeps BGR(A) order; we convert at the boundary so
// every tensor in medsam is RGB(A).
#include "medsam/io/image.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "medsam/core/error.h"
#include "medsam/io/atomic_file.h"

namespace medsam::io {
namespace {

at::Tensor mat_to_tensor(const cv::Mat& decoded, const std::string& what) {
  if (decoded.empty()) throw Error(fmt::format("{}: cannot decode image (unsupported or corrupt file)", what));
  cv::Mat m;
  const int channels = decoded.channels();
  if (channels == 3) cv::cvtColor(decoded, m, cv::COLOR_BGR2RGB);
  else if (channels == 4) cv::cvtColor(decoded, m, cv::COLOR_BGRA2RGBA);
  else if (channels == 1) m = decoded;
  else throw Error(fmt::format("{}: {} channels are not supported (expected 1, 3 or 4)", what, channels));
  at::ScalarType dtype;
  switch (m.depth()) {
    case CV_8U: dtype = at::kByte; break;
    case CV_16U: dtype = at::kShort; break;  // reinterpreted as uint16 below (LibTorch 1.13 has no kUInt16)
    case CV_32F: dtype = at::kFloat; break;
    default: throw Error(fmt::format("{}: pixel depth {} is not supported (8/16-bit or float)", what, m.depth()));
  }
  if (!m.isContinuous()) m = m.clone();
  auto t = torch::from_blob(m.data, {m.rows, m.cols, channels}, dtype).clone();
  if (m.depth() == CV_16U) {
    // uint16 pixels are held in an int32 tensor (LibTorch 1.13 has no uint16 dtype): values 0..65535.
    t = t.to(at::kInt).bitwise_and(0xFFFF);
  }
  return t;
}

cv::Mat tensor_to_mat(const at::Tensor& image, const std::string& what) {
  auto t = image.cpu().contiguous();
  if (t.dim() == 2) t = t.unsqueeze(2);
  if (t.dim() != 3) throw Error(fmt::format("{}: image tensor must be H×W or H×W×C, got {} dims", what, t.dim()));
  const int c = static_cast<int>(t.size(2));
  if (c != 1 && c != 3 && c != 4) throw Error(fmt::format("{}: {} channels (expected 1, 3 or 4)", what, c));
  int depth;
  if (t.scalar_type() == at::kByte) {
    depth = CV_8U;
  } else if (t.scalar_type() == at::kInt || t.scalar_type() == at::kShort || t.scalar_type() == at::kLong) {
    // 16-bit: int tensors holding 0..65535.
    const auto lo = t.min().item<int64_t>(), hi = t.max().item<int64_t>();
    if (lo < 0 || hi > 65535)
      throw Error(fmt::format("{}: 16-bit image values must be 0..65535, got {}..{}", what, lo, hi));
    t = t.to(at::kInt).to(at::kShort).contiguous();  // bit pattern of uint16
    depth = CV_16U;
  } else {
    throw Error(fmt::format("{}: image dtype {} cannot be written (use uint8 or 16-bit integers)", what,
                            c10::toString(t.scalar_type())));
  }
  cv::Mat wrapped(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_MAKETYPE(depth, c), t.data_ptr());
  cv::Mat out;
  if (c == 3) cv::cvtColor(wrapped, out, cv::COLOR_RGB2BGR);
  else if (c == 4) cv::cvtColor(wrapped, out, cv::COLOR_RGBA2BGRA);
  else out = wrapped.clone();
  return out;
}

}  // namespace

at::Tensor read_image(const std::string& path) {
  cv::Mat m;
  try {
    m = cv::imread(path, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error(fmt::format("{}: cannot read image: {}", path, e.what()));
  }
  if (m.empty()) throw Error(fmt::format("{}: cannot read image (missing, unsupported or corrupt)", path));
  return mat_to_tensor(m, path);
}

void write_image(const std::string& path, const at::Tensor& image) {
  const cv::Mat m = tensor_to_mat(image, path);
  // Atomically: a kill or a full disk mid-write never leaves half a mask under the final name.
  write_atomically_keeping_extension(path, [&](const std::string& tmp) {
    bool ok = false;
    try {
      ok = cv::imwrite(tmp, m);
    } catch (const cv::Exception& e) {
      throw Error(fmt::format("{}: cannot write image: {}", path, e.what()));
    }
    if (!ok) throw Error(fmt::format("{}: cannot write image (bad extension or directory?)", path));
  });
}

std::vector<std::uint8_t> encode_png(const at::Tensor& image, int compression) {
  const cv::Mat m = tensor_to_mat(image, "png encoder");
  std::vector<std::uint8_t> out;
  const std::vector<int> params = {cv::IMWRITE_PNG_COMPRESSION, compression};
  if (!cv::imencode(".png", m, out, params)) throw Error("png encoder: OpenCV failed to encode the image");
  return out;
}

at::Tensor decode_image(const std::uint8_t* data, std::size_t size, const std::string& what) {
  const cv::Mat buf(1, static_cast<int>(size), CV_8U, const_cast<std::uint8_t*>(data));
  cv::Mat m;
  try {
    m = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error(fmt::format("{}: cannot decode image: {}", what, e.what()));
  }
  return mat_to_tensor(m, what);
}

bool image_io_available() { return true; }

}  // namespace medsam::io
