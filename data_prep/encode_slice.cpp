// One slice -> one shard sample (image PNG, 16-bit label PNG, JSON metadata, object table).
#include <fmt/format.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "data_prep/convert_case.h"
#include "data_prep/prep_config.h"
#include "medsam/data/modality.h"
#include "medsam/data/resize.h"
#include "medsam/core/error.h"
#include "medsam/io/image.h"
#include "medsam/io/tar_writer.h"

namespace medsam::prep {

data::EncodedSample encode_slice(const at::Tensor& image, const at::Tensor& labels, const SliceMeta& meta,
                                 const CaseContext& ctx) {
  const auto& cfg = *ctx.config;
  const int size = cfg.output.image_size;
  // ref: MedSAM pre_CT_MR.py transform.resize(img, (1024, 1024), order=3) / resize(gt, order=0)
  const auto img = data::resize_image(image, size, size);
  const auto lab = data::resize_labels(labels, size, size);

  data::EncodedSample s;
  s.case_name = meta.case_name;
  s.key = meta.axis == '2' ? fmt::format("{}/{}", cfg.dataset.name, meta.case_name)
                           : fmt::format("{}/{}/{}{:04d}", cfg.dataset.name, meta.case_name, meta.axis, meta.slice);
  // Checked here, in the worker, so that a long case name skips its case (logged) rather than failing the
  // shard writer and with it the whole run, at the same case on every resume.
  if (const char* problem = io::ustar_name_problem(s.key + ".img.png"))
    throw Error(fmt::format("sample key '{}' (dataset.name/case/slice) {}: shorten the case's file name or "
                            "dataset.name", s.key, problem));
  s.objects = data::describe_objects(lab);
  s.img_png = io::encode_png(img, cfg.output.png_compression);
  s.seg_png = io::encode_png(lab, cfg.output.png_compression);
  s.slice = meta.slice;
  s.height = s.width = static_cast<std::uint16_t>(size);
  s.dataset = ctx.dataset_id;
  s.modality = data::parse_modality(cfg.dataset.modality);
  s.split = meta.split;
  s.axis = meta.axis == 'z' ? 0 : meta.axis == 'y' ? 1 : meta.axis == 'x' ? 2 : data::kAxis2dImage;
  s.channels = static_cast<std::uint8_t>(img.dim() == 3 ? img.size(2) : 1);

  nlohmann::ordered_json j;
  j["key"] = s.key;
  j["dataset"] = cfg.dataset.name;
  j["case"] = meta.case_name;
  j["source"] = {{"image", meta.image_path}, {"labels", meta.label_path}};
  j["modality"] = data::modality_name(s.modality);
  j["anatomy"] = cfg.dataset.anatomy;
  j["split"] = data::split_name(meta.split);
  if (meta.axis != '2') {
    j["axis"] = std::string(1, meta.axis);
    j["slice"] = meta.slice;
    j["slice_count"] = meta.slice_count;
  }
  if (meta.spacing) j["spacing"] = *meta.spacing;
  j["original_size"] = {labels.size(0), labels.size(1)};
  j["image_size"] = {size, size};
  j["intensity"] = meta.intensity;
  auto objects = nlohmann::ordered_json::array();
  for (const auto& o : s.objects) {
    const auto it = ctx.label_names->find(o.label);
    objects.push_back({{"label", o.label},
                       {"name", it == ctx.label_names->end() ? "" : it->second},
                       {"pixels", o.pixels},
                       {"box", {o.x0, o.y0, o.x1, o.y1}}});
  }
  j["objects"] = objects;
  s.json = j.dump();
  return s;
}

}  // namespace medsam::prep
