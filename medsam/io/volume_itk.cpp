// 3D volume I/O through ITK. IO factories are registered explicitly (we do not use ITK_USE_FILE, so
// ITK's auto-registration manager is not generated for us).
#include "medsam/io/volume.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <itkGDCMImageIO.h>
#include <itkGDCMImageIOFactory.h>
#include <itkGDCMSeriesFileNames.h>
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkImageIOFactory.h>
#include <itkImageSeriesReader.h>
#include <itkMetaDataObject.h>
#include <itkMetaImageIO.h>
#include <itkMetaImageIOFactory.h>
#include <itkNiftiImageIO.h>
#include <itkNiftiImageIOFactory.h>
#include <itkNrrdImageIOFactory.h>
#include <itkPNGImageIOFactory.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>

#include <unistd.h>  // getpid

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/io/atomic_file.h"
#include "medsam/io/file_name.h"
#include "medsam/io/nifti_xform.h"
#include "medsam/io/volume_data_check.h"

namespace medsam::io {
namespace {

void register_factories() {
  static std::once_flag once;
  std::call_once(once, [] {
    itk::NiftiImageIOFactory::RegisterOneFactory();
    itk::MetaImageIOFactory::RegisterOneFactory();
    itk::NrrdImageIOFactory::RegisterOneFactory();
    itk::GDCMImageIOFactory::RegisterOneFactory();
    itk::PNGImageIOFactory::RegisterOneFactory();
  });
}

template <class Pixel>
using Image3 = itk::Image<Pixel, 3>;

template <class Pixel>
VolumeGeometry geometry_of(const Image3<Pixel>* image) {
  VolumeGeometry g;
  for (int i = 0; i < 3; ++i) {
    g.spacing[i] = image->GetSpacing()[i];
    g.origin[i] = image->GetOrigin()[i];
    for (int j = 0; j < 3; ++j) g.direction[i * 3 + j] = image->GetDirection()[i][j];
  }
  return g;
}

// Copies an ITK image (x fastest) into a (z, y, x) tensor of `dtype` (same bit pattern as Pixel).
template <class Pixel>
Volume to_volume(const Image3<Pixel>* image, at::ScalarType dtype) {
  const auto size = image->GetLargestPossibleRegion().GetSize();
  auto t = torch::empty({static_cast<int64_t>(size[2]), static_cast<int64_t>(size[1]), static_cast<int64_t>(size[0])},
                        torch::TensorOptions().dtype(dtype));
  std::memcpy(t.data_ptr(), image->GetBufferPointer(), t.numel() * sizeof(Pixel));
  return {t, geometry_of(image)};
}

// NiftiImageIO puts each header field in the image's MetaDataDictionary as a decimal string
// ("qform_code", "sform_code"); -1 when absent or not a defined code (0..5), so a malformed input
// header does not make its labels unwritable. ref: ITK NiftiImageIO::SetImageIOMetadataFromNIfTI
int xform_code(const itk::MetaDataDictionary& dict, const char* key) {
  std::string text;
  if (!itk::ExposeMetaData<std::string>(dict, key, text)) return -1;
  try {
    const int code = std::stoi(text);
    return code >= 0 && code <= 5 ? code : -1;
  } catch (const std::exception&) {
    return -1;
  }
}

// The NIfTI-1 header's own spatial fields (nifti_xform.h), kept with the geometry ITK made of them so
// that write_volume can tell whether the geometry was changed since. Only when the header's codes are
// the ones ITK gave (so a code outside 0..5 leaves the volume on the codes-only path, as before).
std::optional<NiftiSpatial> nifti_spatial_of(const std::string& path, const VolumeGeometry& g) {
  auto spatial = read_nifti_spatial(path);
  if (!spatial || spatial->qform_code != g.nifti_qform_code || spatial->sform_code != g.nifti_sform_code)
    return std::nullopt;
  spatial->read_spacing = g.spacing;
  spatial->read_origin = g.origin;
  spatial->read_direction = g.direction;
  return spatial;
}

template <class Pixel>
Volume read_as(const std::string& path, at::ScalarType dtype, bool nifti) {
  auto reader = itk::ImageFileReader<Image3<Pixel>>::New();
  reader->SetFileName(path);
  reader->Update();
  Volume v = to_volume<Pixel>(reader->GetOutput(), dtype);
  if (nifti) {
    const auto& dict = reader->GetOutput()->GetMetaDataDictionary();
    v.geometry.nifti_qform_code = xform_code(dict, "qform_code");
    v.geometry.nifti_sform_code = xform_code(dict, "sform_code");
    v.geometry.nifti_spatial = nifti_spatial_of(path, v.geometry);
  }
  return v;
}

// The folder's largest series. Two of the largest size (a soft-tissue and a bone reconstruction of one scan)
// are refused: which one is meant is the user's to say, by giving each its own folder.
std::vector<std::string> dicom_series_files(const std::string& dir) {
  auto names = itk::GDCMSeriesFileNames::New();
  names->SetUseSeriesDetails(true);
  names->SetDirectory(dir);
  std::vector<std::string> best;
  std::string best_uid, tied_uid;
  for (const auto& uid : names->GetSeriesUIDs()) {
    auto files = names->GetFileNames(uid);
    if (files.size() > best.size()) {
      best = files;
      best_uid = uid;
      tied_uid.clear();
    } else if (!files.empty() && files.size() == best.size()) {
      tied_uid = uid;
    }
  }
  if (!tied_uid.empty())
    throw Error(fmt::format("{}: holds several DICOM series of {} files ({} and {}); give each series its own folder",
                            dir, best.size(), best_uid, tied_uid));
  if (names->GetSeriesUIDs().size() > 1)
    log_info("{}: {} DICOM series; reading the largest, {} ({} files)", dir, names->GetSeriesUIDs().size(), best_uid,
             best.size());
  return best;
}

Volume read_dicom_series(const std::string& dir) {
  const auto files = dicom_series_files(dir);
  if (files.empty()) throw Error(fmt::format("{}: folder holds no DICOM series", dir));
  auto reader = itk::ImageSeriesReader<Image3<float>>::New();
  reader->SetImageIO(itk::GDCMImageIO::New());  // applies rescale slope/intercept (CT -> HU)
  reader->SetFileNames(files);
  reader->Update();
  // ITK spaces the slices evenly from the first to the last position and records how far any slice is off:
  // a missing slice (an incomplete export) would put every slice after the gap in the wrong place.
  double deviation = 0;
  const double z_spacing = reader->GetOutput()->GetSpacing()[2];
  if (itk::ExposeMetaData<double>(reader->GetOutput()->GetMetaDataDictionary(), "ITK_non_uniform_sampling_deviation",
                                  deviation) &&
      deviation > 0.01 * z_spacing)
    throw Error(fmt::format("{}: the {} slices are not evenly spaced (a slice off by {:.3g} mm at a spacing of {:.3g} "
                            "mm): a missing slice or a mixed series; export the complete series",
                            dir, files.size(), deviation, z_spacing));
  return to_volume<float>(reader->GetOutput(), at::kFloat);
}

Volume read_file(const std::string& path) {
  // ITK fills the voxels missing from a file that was cut short with zeros and reads on: refuse it first.
  // NIfTI before ITK looks at the file (for a small .nii.gz with a bad CRC it would only say that no
  // reader recognises it); MetaImage once ITK has the voxel count and type.
  check_nifti_data_complete(path);
  auto io = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::FileModeEnum::ReadMode);
  if (!io) throw Error(fmt::format("{}: no ITK reader recognises this file (NIfTI, MHA/MHD, NRRD, DICOM)", path));
  io->SetFileName(path);
  io->ReadImageInformation();
  // ITK reads a 4D file's first volume and, past 3 dimensions, drops its direction cosines: refuse it.
  for (unsigned d = 3; d < io->GetNumberOfDimensions(); ++d)
    if (io->GetDimensions(d) > 1)
      throw Error(fmt::format("{}: a {}-D image ({} volumes along dimension {}); medsam reads 3D volumes: split it "
                              "first, one file per sequence or time point", path, io->GetNumberOfDimensions(),
                              io->GetDimensions(d), d + 1));
  if (io->GetNumberOfComponents() != 1)
    throw Error(fmt::format("{}: {} components per voxel; only scalar volumes are supported", path,
                            io->GetNumberOfComponents()));
  if (dynamic_cast<itk::MetaImageIO*>(io.GetPointer()))
    check_metaimage_data_complete(path, io->GetImageSizeInBytes());
  const bool nifti = dynamic_cast<itk::NiftiImageIO*>(io.GetPointer()) != nullptr;
  using C = itk::IOComponentEnum;
  switch (io->GetComponentType()) {
    case C::UCHAR: return read_as<std::uint8_t>(path, at::kByte, nifti);
    case C::CHAR: return read_as<std::int8_t>(path, at::kChar, nifti);
    case C::SHORT: return read_as<std::int16_t>(path, at::kShort, nifti);
    case C::USHORT: return read_as<std::int32_t>(path, at::kInt, nifti);  // no uint16 in LibTorch 1.13: widen
    case C::INT: return read_as<std::int32_t>(path, at::kInt, nifti);
    case C::UINT: return read_as<std::int64_t>(path, at::kLong, nifti);
    case C::LONG: case C::LONGLONG: return read_as<std::int64_t>(path, at::kLong, nifti);
    case C::ULONG: case C::ULONGLONG: return read_as<std::int64_t>(path, at::kLong, nifti);
    case C::FLOAT: return read_as<float>(path, at::kFloat, nifti);
    case C::DOUBLE: return read_as<double>(path, at::kDouble, nifti);
    default:
      throw Error(fmt::format("{}: voxel type {} is not supported", path,
                              itk::ImageIOBase::GetComponentTypeAsString(io->GetComponentType())));
  }
}

template <class Pixel>
void write_as(const std::string& path, const at::Tensor& data, const VolumeGeometry& g) {
  auto image = Image3<Pixel>::New();
  typename Image3<Pixel>::RegionType region;
  typename Image3<Pixel>::SizeType size;
  size[0] = data.size(2);
  size[1] = data.size(1);
  size[2] = data.size(0);
  region.SetSize(size);
  image->SetRegions(region);
  typename Image3<Pixel>::SpacingType spacing;
  typename Image3<Pixel>::PointType origin;
  typename Image3<Pixel>::DirectionType direction;
  for (int i = 0; i < 3; ++i) {
    spacing[i] = g.spacing[i];
    origin[i] = g.origin[i];
    for (int j = 0; j < 3; ++j) direction[i][j] = g.direction[i * 3 + j];
  }
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  image->SetDirection(direction);
  image->Allocate();
  std::memcpy(image->GetBufferPointer(), data.data_ptr(), data.numel() * sizeof(Pixel));
  auto writer = itk::ImageFileWriter<Image3<Pixel>>::New();
  writer->SetFileName(path);
  writer->SetInput(image);
  writer->SetUseCompression(true);
  writer->Update();
}

void write_any(const std::string& path, const at::Tensor& data, const VolumeGeometry& g) {
  switch (data.scalar_type()) {
    case at::kBool: write_as<std::uint8_t>(path, data.to(at::kByte), g); break;
    case at::kByte: write_as<std::uint8_t>(path, data, g); break;
    case at::kChar: write_as<std::int8_t>(path, data, g); break;
    case at::kShort: write_as<std::int16_t>(path, data, g); break;
    case at::kInt: write_as<std::int32_t>(path, data, g); break;
    case at::kLong: write_as<std::int64_t>(path, data, g); break;
    case at::kFloat: write_as<float>(path, data, g); break;
    case at::kDouble: write_as<double>(path, data, g); break;
    default:
      throw Error(fmt::format("{}: cannot write dtype {}", path, c10::toString(data.scalar_type())));
  }
}

// ITK writes qform_code = sform_code = 1 (scanner) whatever it is told, and the one transform it read
// (sform or qform) into both the quaternion and srow_* fields, as mm; it reads spacing converted to mm but
// the origin in the file's units, and a 2D file at z = 0 with a z spacing of 1 (nifti_xform.h). That
// would move an MNI or Talairach input (sform_code 4 / 3) into another space in viewers, give an input
// whose qform and sform differ one of them twice, put a micron or meter input's origin 1000x off and a
// 2D input's slice at z = 0.
// So for a NIfTI input ITK writes a plain .nii beside `path` and `copy` (nifti_xform.h) puts the input's
// header fields in: all its spatial fields when the volume still has the input's grid (nifti_header_kept),
// else just its codes.
void write_nifti_staged(const std::string& path, const at::Tensor& data, const VolumeGeometry& g,
                        const std::function<void(const std::string& staged)>& copy) {
  const std::string staged = fmt::format("{}.tmp.{}.nii", path, ::getpid());
  try {
    write_any(staged, data, g);
    copy(staged);
  } catch (...) {
    std::remove(staged.c_str());
    throw;
  }
  std::remove(staged.c_str());
}

// Whether the input NIfTI-1 header read with `g` describes `data` as written: the labels are in the
// input's voxel order (ITK does not reorient on read), so the same x, y, z size and a geometry unchanged
// since the read mean the input's spatial fields are the output's, verbatim.
bool nifti_header_kept(const at::Tensor& data, const VolumeGeometry& g) {
  if (!g.nifti_spatial) return false;
  const NiftiSpatial& s = *g.nifti_spatial;
  return data.size(2) == s.dim[0] && data.size(1) == s.dim[1] && data.size(0) == s.dim[2] &&
         g.spacing == s.read_spacing && g.origin == s.read_origin && g.direction == s.read_direction &&
         g.nifti_qform_code == s.qform_code && g.nifti_sform_code == s.sform_code;
}

}  // namespace

Volume read_volume(const std::string& path) {
  register_factories();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(fmt::format("{}: no such file or folder", path));
  try {
    if (std::filesystem::is_directory(path, ec)) return read_dicom_series(path);
    return read_file(path);
  } catch (const itk::ExceptionObject& e) {
    throw Error(fmt::format("{}: cannot read volume: {}", path, e.GetDescription()));
  }
}

void write_volume(const std::string& path, const Volume& volume) {
  register_factories();
  auto data = volume.data.cpu().contiguous();
  if (data.dim() != 3) throw Error(fmt::format("{}: volume must be (z, y, x), got {} dims", path, data.dim()));
  const auto& g = volume.geometry;
  const bool codes_known = g.nifti_qform_code >= 0 && g.nifti_sform_code >= 0;
  const bool itk_codes = g.nifti_qform_code == 1 && g.nifti_sform_code == 1;  // what ITK writes anyway
  const bool nifti = has_extension(path, {".nii", ".nii.gz"});
  try {
    if (nifti && nifti_header_kept(data, g))
      write_nifti_staged(path, data, g, [&](const std::string& staged) {
        copy_nifti_with_spatial(staged, path, *g.nifti_spatial);
      });
    else if (nifti && codes_known && !itk_codes)
      write_nifti_staged(path, data, g, [&](const std::string& staged) {
        copy_nifti_with_xform_codes(staged, path, g.nifti_qform_code, g.nifti_sform_code);
      });
    // Two-file formats (a header naming its data file) are staged as a set; the rest atomically.
    else if (has_extension(path, {".mhd", ".hdr", ".nhdr"}))
      write_atomically_as_file_set(path, [&](const std::string& tmp) { write_any(tmp, data, g); });
    else write_atomically_keeping_extension(path, [&](const std::string& tmp) { write_any(tmp, data, g); });
  } catch (const itk::ExceptionObject& e) {
    throw Error(fmt::format("{}: cannot write volume: {}", path, e.GetDescription()));
  }
}

std::optional<std::int64_t> read_volume_voxel_count(const std::string& path) {
  register_factories();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return std::nullopt;
  try {
    auto io = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::FileModeEnum::ReadMode);
    if (!io) return std::nullopt;
    io->SetFileName(path);
    io->ReadImageInformation();
    return static_cast<std::int64_t>(io->GetImageSizeInPixels());
  } catch (const itk::ExceptionObject&) {
    return std::nullopt;  // the real read reports it, naming the file
  }
}

bool volume_io_available() { return true; }

}  // namespace medsam::io
