// `medsam infer`: flags -> medsam::infer::InferJob (medsam/infer/infer_job.h), nothing else.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "medsam/core/error.h"
#include "medsam/infer/infer_folder.h"
#include "medsam/infer/infer_job.h"
#include "medsam/infer/prompt_file.h"
#include "tools/cli_checks.h"
#include "tools/command.h"

namespace medsam::tools {

namespace {
struct InferFlags {
  infer::InferJob job;
  std::vector<std::string> boxes, points;
  std::string boxes_file, box3d, slice_boxes_file;
  std::string input_dir, output_dir;
  bool overwrite = false;
};
}  // namespace

RunFn add_infer_command(CLI::App& app) {
  auto* sub = app.add_subcommand("infer", "Segment a 2D image or 3D volume from box/point prompts");
  sub->footer(
      "Coordinates are the input image's own pixels (x right, y down); 3D boxes add slice indices z0..z1.\n"
      "Examples:\n"
      "  medsam infer --checkpoint medsam_vit_b.pth --image slice.png --box 40,50,90,95 --output mask.png\n"
      "  medsam infer --checkpoint medsam_vit_b.pth --image ct.nii.gz --modality ct --window soft-tissue \\\n"
      "      --box3d 100,120,40,180,200,60 --output liver.nii.gz\n"
      "  medsam infer --checkpoint medsam_vit_b.pth --image case.npz --output case_segs.npz   (imgs + boxes inside)\n"
      "  medsam infer --checkpoint medsam_vit_b.pth --input-dir imgs/ --output-dir segs/   (every .npz case; "
      "resumable)");
  auto f = std::make_shared<InferFlags>();
  auto& j = f->job;
  sub->add_option("--checkpoint", j.checkpoint, "SAM/MedSAM weights (.pth or .safetensors)")->required();
  sub->add_option("--arch", j.arch, "auto (from the checkpoint's shapes), tiny, vit_b, vit_l or vit_h")
      ->capture_default_str();
  sub->add_option("--image", j.image,
                  "2D image (PNG/JPEG/BMP/TIFF, NIfTI/DICOM slice), a volume (with --box3d or --slice-boxes), or a "
                  "MedSAM/CVPR .npz case (imgs + boxes)");
  sub->add_option("--input-dir", f->input_dir,
                  "instead of --image: every MedSAM/CVPR .npz case of this folder, the model loaded once; a case "
                  "that fails is logged and the run goes on");
  sub->add_option("--output-dir", f->output_dir,
                  "with --input-dir: <name>.npz answers (segs) and cases.csv; existing answers are kept");
  sub->add_flag("--overwrite", f->overwrite, "with --input-dir: answer cases again even where an answer exists");
  sub->add_option("--box", f->boxes,
                  "box x0,y0,x1,y1 in decimal (repeatable: one mask per box; where boxes overlap the most probable "
                  "box takes the pixel, unlike .npz cases, where the later box does)");
  sub->add_option("--boxes", f->boxes_file,
                  "JSON or CSV file of boxes, optionally with a label each (overlaps: the most probable box, as --box)");
  sub->add_option("--point", f->points, "point x,y,label (1 foreground, 0 background; repeatable)");
  sub->add_option("--mask-input", j.mask_input, "low-res logits .npy of an earlier prediction, to refine (one map, or one per box as --save-logits writes)");
  sub->add_option("--box3d", f->box3d, "3D box x0,y0,z0,x1,y1,z1 (z inclusive): slice propagation");
  sub->add_option("--slice-boxes", f->slice_boxes_file,
                  "volumes: CSV (slice,x0,y0,x1,y1[,label]) or JSON ([{\"slice\":z,\"box\":[...],\"label\":k}]) of "
                  "boxes on given slices");
  sub->add_option("--margin", j.propagation.margin, "3D: px a neighbour's mask box grows by, in the encoder's input (1024²) as MedSAM's 3D script")->capture_default_str();
  sub->add_option("--embedding-cache-mib", j.propagation.embedding_cache_mib,
                  "3D .npz cases: MiB of slice embeddings kept across the case's boxes (0: re-encode per box)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_option("--encode-batch", j.propagation.encode_batch, "3D: slices per encoder call (same masks for any value)")
      ->check(at_least_one())
      ->capture_default_str();
  sub->add_option("--modality", j.intensity.modality,
                  "auto, ct, mr, pet, us, xray, endoscopy, ... (intensity mapping shared with medsam prep)")
      ->capture_default_str();
  sub->add_option("--window", j.intensity.window, "CT window L,W or preset: soft-tissue, lung, brain, bone, ...");
  sub->add_flag("--multimask", j.multimask, "three masks per prompt (SAM's multimask output); the one of highest predicted IoU is written");
  sub->add_option("--device", j.device, "cpu or cuda[:N]")->capture_default_str();
  sub->add_option("--precision", j.precision, "fp32, bf16 (autocast: the whole model on CUDA, the image encoder on the CPU, where it pays on CPUs with AVX512-BF16/AMX; the encoder's residual stream in bf16) or bf16-autocast (that stream in fp32: exactly torch.autocast, a little slower)")
      ->capture_default_str();
  sub->add_option("--output", j.output,
                  "label map: 1..N per box (or the box's label); 2D: .png, .tif or .tiff (one-slice volume inputs also "
                  "a volume format); volumes: a volume format keeping the input geometry, or .npz; .npz cases: .npz");
  sub->add_option("--overlay", j.overlay, "PNG of image, masks and boxes");
  sub->add_option("--save-embedding", j.save_embedding, "write the image embedding (.npy)");
  sub->add_option("--embedding", j.embedding, "use this embedding (.npy) instead of running the encoder");
  sub->add_option("--save-logits", j.save_logits, "write N x 1 x 256 x 256 low-res logits (.npy), before any resize");
  sub->add_option("--save-prob", j.save_prob, "write N x H x W probabilities (.npy)");

  return [f]() {
    auto& job = f->job;
    if (!f->input_dir.empty() || !f->output_dir.empty()) {
      if (f->input_dir.empty()) throw UsageError("--output-dir goes with --input-dir");
      if (!f->boxes.empty() || !f->boxes_file.empty() || !f->points.empty() || !f->box3d.empty() ||
          !f->slice_boxes_file.empty())
        throw UsageError("--input-dir cases carry their own boxes; drop --box/--boxes/--point/--box3d/--slice-boxes");
      const infer::FolderResult r = infer::run_infer_folder({job, f->input_dir, f->output_dir, f->overwrite});
      if (r.failed > 0)
        throw Error(fmt::format("{} of {} case(s) failed (named above and in {}/cases.csv)", r.failed,
                                r.answered + r.kept + r.failed, f->output_dir));
      return 0;
    }
    if (f->overwrite) throw UsageError("--overwrite goes with --input-dir");
    if (job.image.empty()) throw UsageError("--image is required (or --input-dir for a folder of .npz cases)");
    for (const auto& text : f->boxes) {
      const auto v = infer::parse_number_list(text, 4, "--box");
      job.boxes.push_back({v[0], v[1], v[2], v[3]});
    }
    if (!f->boxes_file.empty())
      for (const auto& b : infer::read_box_file(f->boxes_file)) job.boxes.push_back(b);
    for (const auto& text : f->points) {
      const auto v = infer::parse_number_list(text, 3, "--point");
      job.points.push_back({v[0], v[1], v[2]});
    }
    if (!f->slice_boxes_file.empty()) job.slice_boxes = infer::read_slice_box_file(f->slice_boxes_file);
    if (!f->box3d.empty()) {
      const auto v = infer::parse_number_list(f->box3d, 6, "--box3d");
      job.box3d = infer::Box3d{v[0], v[1], v[2], v[3], v[4], v[5]};
    }
    infer::run_infer_job(job);
    return 0;
  };
}

}  // namespace medsam::tools
