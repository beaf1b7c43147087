// What `medsam prep` reads: one YAML per dataset (configs/prep/*.yaml). Every field is listed once in
// visit(); unknown keys and wrong types are errors naming file, line and key.
#pragma once

#include <string>
#include <vector>

#include "medsam/core/config.h"
#include "medsam/data/normalize.h"

namespace medsam {
class ConfigVisitor;
}

namespace medsam::prep {

struct DatasetSection {
  std::string name;              // required; becomes part of every sample key (letters, digits, _ and -)
  // volume (3D files or DICOM folders) | images_2d (image + mask files) | npy (MedSAM's npy folders:
  // images = the imgs/ folder, labels = the gts/ folder, one slice per file) | npz (MedSAM/CVPR .npz
  // files holding imgs and gts, 2D or 3D; labels is not used)
  std::string kind = "volume";
  std::string modality = "other";  // ct, mr, pet, us, xray, endoscopy, dermoscopy, fundus, pathology, oct, ...
  std::string anatomy;
  std::string images;            // a file, a folder or a glob; relative paths start at the YAML's folder
  std::string labels;            // same form as images; paired by file name (see suffixes)
  std::string image_suffix;      // stripped from image names before pairing, e.g. "_0000"
  std::string label_suffix;      // stripped from label names before pairing, e.g. "_seg"
  std::string label_names_file;  // lines "<id> <name> [...]" (mricron) or ITK-SNAP's `<id> R G B A V M "name"`; '#' comments
  std::vector<std::string> label_names;   // "id:name" entries (added to / override the file)
  std::vector<int> keep_labels;            // empty: keep all
  std::vector<int> drop_labels;            // set to background (MedSAM drops e.g. the duodenum)
  std::vector<std::string> merge_labels;   // "from:to" entries, applied before keep/drop
  bool binary_masks = false;               // images_2d: any non-zero mask pixel becomes label 1
  // Labels whose connected components become labels of their own (lesions: one box per lesion), after
  // merge/keep/drop: MedSAM's `tumor_id` (pre_CT_MR.py), each id in turn.
  std::vector<int> instance_labels;

  void visit(ConfigVisitor& v);
};

struct IntensitySection {
  // auto (CT -> window, everything else -> percentile; 2D images -> rescale only above 255),
  // window, percentile, none (volume must already be 0..255)
  std::string mode = "auto";
  std::string window = "soft_tissue";  // CT preset name, or "custom" for level/width below
  double level = 40;
  double width = 400;
  double percentile_low = 0.5;
  double percentile_high = 99.5;
  void visit(ConfigVisitor& v);
};

// Defaults follow MedSAM's scripts for each kind: volumes 1000 and 100 (pre_CT_MR.py), 2D images none
// (pre_grey_rgb.py removes nothing), npy/npz none (already MedSAM-preprocessed). -1 = that default,
// resolved by load_prep_config (so prep_config.yaml and the config hash hold the number used).
struct CleanupSection {
  long long min_component_3d = -1;  // voxels, 26-connected; 0 disables
  long long min_component_2d = -1;  // pixels per slice (or per 2D image), 8-connected; 0 disables
  void visit(ConfigVisitor& v);
};

struct SlicingSection {
  std::string axis = "z";  // z (axial), y (coronal), x (sagittal): array axes of the (z, y, x) volume
  void visit(ConfigVisitor& v);
};

struct OutputSection {
  int image_size = 1024;               // stored square size (MedSAM: 1024; the tiny demo model: 256)
  long long shard_bytes = 300000000;   // a shard is closed once it passes this size
  int png_compression = 3;             // zlib level 0..9 (lossless at every level)
  void visit(ConfigVisitor& v);
};

struct SplitSection {
  // case: whole cases go to train/val/test (ordered by a hash of their name);
  // slice: slices of each case by position, in blocks, with a gap (for single-volume datasets);
  // none: everything is train.
  std::string mode = "case";
  std::vector<double> fractions{0.8, 0.1, 0.1};  // train, val, test
  int block = 8;  // slice mode: consecutive slices that share a split
  int gap = 2;    // slice mode: slices dropped at the start of a block whose split differs from the previous
  void visit(ConfigVisitor& v);
};

struct PrepConfig {
  DatasetSection dataset;
  IntensitySection intensity;
  CleanupSection cleanup;
  SlicingSection slicing;
  OutputSection output;
  SplitSection split;
  std::string source_dir;  // folder of the YAML file (not a config key)

  void visit(ConfigVisitor& v);
  // Checks values; throws ConfigError naming the key and where it was set (`origins`: "file:line" or the
  // "--set ..." that gave it), or `source` for a key nobody set.
  void validate(const std::string& source, const ConfigOrigins* origins = nullptr) const;
  // The intensity rule for data::normalize_for (medsam/data/normalize.h), shared with `medsam infer`:
  // mode and percentiles as configured, modality from the dataset, the window only for CT or mode window.
  data::IntensitySpec intensity_spec() const;
  // Resolves a configured path against source_dir.
  std::string resolve(const std::string& path) const;
};

// Loads a dataset YAML, applies `--set` overrides, validates. Throws ConfigError.
PrepConfig load_prep_config(const std::string& path, const std::vector<std::string>& overrides);

// The resolved config as YAML (part of the resume hash and written next to the shards).
std::string prep_config_yaml(PrepConfig& config);

}  // namespace medsam::prep
