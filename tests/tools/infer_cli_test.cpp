// `medsam infer` end to end on the sam_tiny fixture: files in, files out, compared with the reference.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "medsam/io/image.h"
#include "medsam/io/volume.h"
#include "medsam/io/npy.h"
#include "tests/io/dicom_series.h"
#include "tests/io/nifti_header.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"
#include "tests/support/tiny_sam.h"

using namespace medsam;
using test::run_medsam;

namespace {
}

TEST_CASE("medsam infer writes the reference mask, logits and embedding for a box", "[infer][cli]") {
  const auto out = test::temp_dir("infer_cli");
  const std::string dir = test::tiny_dir() + "/case_z70";
  auto r = run_medsam("infer --checkpoint " + test::tiny_dir() + "/weights.pth --image " + dir +
                      "/image.png --box 46.67,50.73,86.28,89.66 --output " + out + "/mask.png --save-logits " + out +
                      "/logits.npy --save-embedding " + out + "/emb.npy --overlay " + out + "/overlay.png");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // The label map is MedSAM's mask (sigmoid at low resolution, bilinear to 256², > 0.5) of the
  // reference logits, computed here independently; label 1 for the one box.
  namespace F = torch::nn::functional;
  const at::Tensor prob = F::interpolate(torch::sigmoid(read_npy(dir + "/lowres_logits.npy")),
                                         F::InterpolateFuncOptions().size(std::vector<int64_t>{256, 256})
                                             .mode(torch::kBilinear).align_corners(false))[0][0];
  const at::Tensor mask = io::read_image(out + "/mask.png").squeeze(-1);
  const at::Tensor decided = (prob - 0.5).abs() > 1e-3;
  CHECK(torch::equal(mask.masked_select(decided), (prob > 0.5).to(at::kByte).masked_select(decided)));
  CHECK(mask.max().item<int>() == 1);
  CHECK((read_npy(out + "/logits.npy") - read_npy(dir + "/lowres_logits.npy")).abs().max().item<double>() < 1e-4);
  CHECK((read_npy(out + "/emb.npy") - read_npy(dir + "/embedding.npy")).abs().max().item<double>() < 1e-4);
  const at::Tensor overlay = io::read_image(out + "/overlay.png");
  CHECK(overlay.sizes() == at::IntArrayRef({256, 256, 3}));

  // The saved embedding replaces the encoder and gives the same logits.
  auto again = run_medsam("infer --checkpoint " + test::tiny_dir() + "/weights.pth --image " + dir + "/image.png --embedding " +
                          out + "/emb.npy --box 46.67,50.73,86.28,89.66 --save-logits " + out + "/logits2.npy");
  REQUIRE(again.exit_code == 0);
  CHECK(torch::allclose(read_npy(out + "/logits2.npy"), read_npy(out + "/logits.npy"), 0, 1e-6));
}

TEST_CASE("medsam infer --multimask writes the mask of highest predicted IoU, not the first", "[infer][cli]") {
  const auto out = test::temp_dir("infer_cli_multimask");
  const std::string dir = test::tiny_dir() + "/case_z70";
  // A box whose best mask is not the first (found with the library, which the CLI must agree with).
  auto predictor = test::tiny_predictor();
  predictor.set_image(io::read_image(dir + "/image.png"));
  std::string box;
  int64_t best = 0;
  for (int x = 10; x < 200 && box.empty(); x += 30)
    for (int w = 20; w < 120 && box.empty(); w += 25) {
      infer::ImagePrompts p;
      p.boxes = torch::tensor({{float(x), 40.f, float(x + w), 120.f}});
      best = predictor.predict(p, /*multimask=*/true).iou.argmax(1)[0].item<int64_t>();
      if (best != 0) box = fmt::format("{},40,{},120", x, x + w);
    }
  REQUIRE_FALSE(box.empty());
  const auto r = run_medsam("infer --checkpoint " + test::tiny_dir() + "/weights.pth --image " + dir +
                            "/image.png --multimask --box " + box + " --output " + out + "/mask.png --save-prob " +
                            out + "/prob.npy");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains(fmt::format("mask {} of 3 written", best + 1)));
  const at::Tensor prob = read_npy(out + "/prob.npy")[0][best];  // (H, W) of the chosen mask
  const at::Tensor mask = io::read_image(out + "/mask.png").squeeze(-1);
  const at::Tensor decided = (prob - 0.5).abs() > 1e-3;
  CHECK(torch::equal(mask.masked_select(decided), (prob > 0.5).to(at::kByte).masked_select(decided)));
}

TEST_CASE("medsam infer rejects malformed and out-of-image boxes with exit 2", "[infer][cli]") {
  const auto out = test::temp_dir("infer_cli_bad");
  const std::string base = "infer --checkpoint " + test::tiny_dir() + "/weights.pth --image " + test::tiny_dir() +
                           "/case_z70/image.png --output " + out + "/m.png ";
  auto malformed = run_medsam(base + "--box 1,2,3");
  CHECK(malformed.exit_code == 2);
  CHECK_THAT(malformed.err, Catch::Contains("--box '1,2,3': expected 4"));
  auto lossy = run_medsam("infer --checkpoint " + test::tiny_dir() + "/weights.pth --image " + test::tiny_dir() +
                          "/case_z70/image.png --box 46,50,86,90 --output " + out + "/m.jpg");
  CHECK(lossy.exit_code == 2);
  CHECK_THAT(lossy.err, Catch::Contains("m.jpg': a label map needs a lossless format"));
  auto not_finite = run_medsam(base + "--box 1,2,nan,4");
  CHECK(not_finite.exit_code == 2);
  CHECK_THAT(not_finite.err, Catch::Contains("'nan' is not a number"));
  auto outside = run_medsam(base + "--box 10,10,300,40");
  CHECK(outside.exit_code == 2);
  CHECK_THAT(outside.err, Catch::Contains("outside the 256x256 image"));
  auto missing = run_medsam("infer --checkpoint /no/such.pth --image " + test::tiny_dir() + "/case_z70/image.png --box 1,1,5,5 --output " + out + "/m.png");
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("/no/such.pth"));
}

TEST_CASE("medsam infer writes none of its outputs when one of their folders is missing", "[infer][cli]") {
  const auto out = test::temp_dir("infer_cli_missing_folder");
  const std::string base = "infer --checkpoint " + test::tiny_dir() + "/weights.pth --image " + test::tiny_dir() +
                           "/case_z70/image.png --box 46,50,86,90 ";
  // --output's folder exists, --overlay's does not: checked before the model runs, so m3.png is not written.
  auto overlay = run_medsam(base + "--output " + out + "/m3.png --overlay " + out + "/no/dir/o.png");
  CHECK(overlay.exit_code == 1);
  CHECK_THAT(overlay.err, Catch::Contains("--overlay " + out + "/no/dir/o.png: cannot write it: folder " + out + "/no/dir"));
  CHECK_FALSE(std::filesystem::exists(out + "/m3.png"));
  auto logits = run_medsam(base + "--output " + out + "/m4.png --save-logits " + out + "/none/l.npy");
  CHECK(logits.exit_code == 1);
  CHECK_THAT(logits.err, Catch::Contains("--save-logits " + out + "/none/l.npy"));
  CHECK_FALSE(std::filesystem::exists(out + "/m4.png"));
}

TEST_CASE("medsam infer --encode-batch 0 is refused with exit 2, saying it must be at least 1", "[infer][cli]") {
  const auto out = test::temp_dir("infer_cli_encode_batch");
  auto r = run_medsam("infer --checkpoint " + test::tiny_dir() + "/weights.pth --image " + test::tiny_dir() +
                      "/case_z70/image.png --box 46,50,86,90 --output " + out + "/m.png --encode-batch 0");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--encode-batch: 0: must be at least 1"));
  CHECK_THAT(r.err, !Catch::Contains("1.79769e+308"));
  CHECK_FALSE(std::filesystem::exists(out + "/m.png"));
}

namespace {
const std::string kColin = "/usr/share/mricron/templates/ch2.nii.gz";

// 5 slices of the fixture brain image, each shifted, as (5, 256, 256) uint8.
at::Tensor small_volume() {
  const at::Tensor a = io::read_image(test::tiny_dir() + "/case_z70/image.png").select(2, 0);
  std::vector<at::Tensor> slices;
  for (int z = 0; z < 5; ++z) slices.push_back(torch::roll(a, {z, -z}, {0, 1}));
  return torch::stack(slices).contiguous();
}
}  // namespace

TEST_CASE("medsam infer --box3d on Colin27 writes a label volume with the input's size, spacing, origin, direction",
          "[infer][cli]") {
  MEDSAM_NEEDS_ITK("NIfTI");
  REQUIRE(std::ifstream(kColin).good());  // mricron-data (scripts/setup-deps installs it)
  const auto out = test::temp_dir("infer_cli_colin");
  // ch2.nii.gz is 181 x 217 x 181 (x, y, z); the box covers central slices 88..91 of the brain.
  const std::string base = "infer --checkpoint " + test::tiny_dir() + "/weights.pth --image " + kColin +
                           " --modality mr --box3d 50,60,88,130,160,91 ";
  auto r = run_medsam(base + "--output " + out + "/seg.nii.gz --overlay " + out + "/mid.png");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const io::Volume in = io::read_volume(kColin);
  const io::Volume seg = io::read_volume(out + "/seg.nii.gz");
  CHECK(seg.data.sizes() == in.data.sizes());
  CHECK(seg.data.sizes() == at::IntArrayRef({181, 217, 181}));
  for (int i = 0; i < 3; ++i) {
    CHECK(seg.geometry.spacing[i] == Approx(in.geometry.spacing[i]).margin(1e-5));
    CHECK(seg.geometry.origin[i] == Approx(in.geometry.origin[i]).margin(1e-4));
  }
  for (int i = 0; i < 9; ++i) CHECK(seg.geometry.direction[i] == Approx(in.geometry.direction[i]).margin(1e-5));
  // Same space in viewers: the header keeps Colin27's xform codes (qform 0, sform 4 = MNI), read here
  // from the bytes, not through ITK.
  const auto in_codes = test::read_nifti_xform_codes(kColin);
  const auto seg_codes = test::read_nifti_xform_codes(out + "/seg.nii.gz");
  CHECK(seg_codes.qform_code == in_codes.qform_code);
  CHECK(seg_codes.sform_code == in_codes.sform_code);
  CHECK(seg_codes.sform_code == 4);
  // Only slices 88..91 may hold foreground; the overlay is the middle slice (89) at 217 x 181.
  const auto per_slice = seg.data.to(at::kLong).sum({1, 2});
  CHECK(per_slice.slice(0, 0, 88).sum().item<int64_t>() == 0);
  CHECK(per_slice.slice(0, 92).sum().item<int64_t>() == 0);
  CHECK(per_slice.slice(0, 88, 92).sum().item<int64_t>() > 0);
  CHECK(io::read_image(out + "/mid.png").sizes() == at::IntArrayRef({217, 181, 3}));

  // Batched slice encoding (3 slices per encoder call) writes the same labels.
  auto batched = run_medsam(base + "--encode-batch 3 --output " + out + "/seg3.nii.gz");
  REQUIRE(batched.exit_code == 0);
  CHECK(torch::equal(io::read_volume(out + "/seg3.nii.gz").data, seg.data));
  // The same as .npz: segs (z, y, x).
  auto npz = run_medsam(base + "--output " + out + "/seg.npz");
  REQUIRE(npz.exit_code == 0);
  const auto arrays = read_npz(out + "/seg.npz");
  REQUIRE(arrays.size() == 1);
  CHECK(arrays[0].first == "segs");
  CHECK(torch::equal(arrays[0].second, seg.data));
}

TEST_CASE("medsam infer --box3d on a DICOM series folder writes a NIfTI label volume with the series' geometry",
          "[infer][cli][dicom]") {
  MEDSAM_NEEDS_ITK("DICOM series (GDCM) and NIfTI");
  const auto& series = test::dicom_series();
  if (!series.error.empty()) FAIL(series.error);
  if (series.dir.empty()) MEDSAM_SKIP("needs python3 with pydicom and numpy (scripts/setup-deps)");
  const auto out = test::temp_dir("infer_cli_dicom");
  // The series is 32 x 24 x 10 (x, y, z); the box covers slices 3..6.
  auto r = run_medsam("infer --checkpoint " + test::tiny_dir() + "/weights.pth --image " + series.dir +
                      " --modality ct --window soft-tissue --box3d 6,4,3,26,20,6 --output " + out + "/seg.nii.gz");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const io::Volume in = io::read_volume(series.dir);
  const io::Volume seg = io::read_volume(out + "/seg.nii.gz");
  CHECK(seg.data.scalar_type() == at::kByte);
  REQUIRE(seg.data.sizes() == at::IntArrayRef({10, 24, 32}));
  for (int i = 0; i < 3; ++i) {
    CHECK(seg.geometry.spacing[i] == Approx(in.geometry.spacing[i]).margin(1e-5));
    CHECK(seg.geometry.origin[i] == Approx(in.geometry.origin[i]).margin(1e-4));
  }
  for (int i = 0; i < 9; ++i) CHECK(seg.geometry.direction[i] == Approx(in.geometry.direction[i]).margin(1e-5));
  const auto per_slice = seg.data.to(at::kLong).sum({1, 2});
  CHECK(per_slice.slice(0, 0, 3).sum().item<int64_t>() == 0);
  CHECK(per_slice.slice(0, 7).sum().item<int64_t>() == 0);
}

TEST_CASE("medsam infer answers MedSAM/CVPR .npz cases with segs, 2D and 3D, as the other inputs do", "[infer][cli]") {
  MEDSAM_NEEDS_ITK("NIfTI");
  const auto out = test::temp_dir("infer_cli_npz");
  const std::string ckpt = "infer --checkpoint " + test::tiny_dir() + "/weights.pth ";

  // 2D: imgs (256, 256, 3) uint8 + one box; segs equal the PNG path's label map for that box.
  const at::Tensor rgb = io::read_image(test::tiny_dir() + "/case_z70/image.png");
  write_npz(out + "/case2d.npz", {{"imgs", rgb}, {"boxes", torch::tensor({{46.0, 50.0, 86.0, 90.0}})}});
  auto r2 = run_medsam(ckpt + "--image " + out + "/case2d.npz --output " + out + "/case2d_segs.npz");
  INFO(r2.err);
  REQUIRE(r2.exit_code == 0);
  auto png = run_medsam(ckpt + "--image " + test::tiny_dir() + "/case_z70/image.png --box 46,50,86,90 --output " + out + "/m.png");
  REQUIRE(png.exit_code == 0);
  const auto segs2d = read_npz(out + "/case2d_segs.npz");
  REQUIRE(segs2d.size() == 1);
  CHECK(segs2d[0].first == "segs");
  CHECK(segs2d[0].second.sizes() == at::IntArrayRef({256, 256}));
  CHECK(segs2d[0].second.sum().item<int64_t>() > 0);
  CHECK(torch::equal(segs2d[0].second, io::read_image(out + "/m.png").squeeze(-1)));

  // 3D: imgs (5, 256, 256) + boxes (1, 6) x0,y0,z0,x1,y1,z1; segs equal --box3d on the same volume as NIfTI.
  const at::Tensor vol = small_volume();
  write_npz(out + "/case3d.npz", {{"imgs", vol}, {"boxes", torch::tensor({{46.0, 50.0, 1.0, 86.0, 90.0, 3.0}})}});
  auto r3 = run_medsam(ckpt + "--image " + out + "/case3d.npz --output " + out + "/case3d_segs.npz --encode-batch 2");
  INFO(r3.err);
  REQUIRE(r3.exit_code == 0);
  io::write_volume(out + "/vol.nii.gz", io::Volume{vol, {}});
  auto nii = run_medsam(ckpt + "--image " + out + "/vol.nii.gz --box3d 46,50,1,86,90,3 --output " + out + "/vol_seg.nii.gz");
  REQUIRE(nii.exit_code == 0);
  const at::Tensor segs3d = read_npz(out + "/case3d_segs.npz")[0].second;
  CHECK(segs3d.sizes() == at::IntArrayRef({5, 256, 256}));
  CHECK(torch::equal(segs3d, io::read_volume(out + "/vol_seg.nii.gz").data));
  CHECK(segs3d[0].sum().item<int64_t>() == 0);
  CHECK(segs3d[4].sum().item<int64_t>() == 0);

  // Box-per-slice file on the NIfTI: labels from the file.
  std::ofstream(out + "/slices.csv") << "slice,x0,y0,x1,y1,label\n2,46,50,86,90,5\n";
  auto sb = run_medsam(ckpt + "--image " + out + "/vol.nii.gz --slice-boxes " + out + "/slices.csv --output " + out +
                       "/sb.nii.gz");
  INFO(sb.err);
  REQUIRE(sb.exit_code == 0);
  const at::Tensor sbv = io::read_volume(out + "/sb.nii.gz").data;
  CHECK(sbv.max().item<int64_t>() == 5);
  CHECK((sbv > 0).sum().item<int64_t>() == (sbv[2] > 0).sum().item<int64_t>());

  // Errors: a missing key, boxes of the wrong width, a non-.npz answer.
  write_npz(out + "/noboxes.npz", {{"imgs", rgb}});
  auto nb = run_medsam(ckpt + "--image " + out + "/noboxes.npz --output " + out + "/x.npz");
  CHECK(nb.exit_code == 2);
  CHECK_THAT(nb.err, Catch::Contains("noboxes.npz: no 'boxes' array"));
  write_npz(out + "/badboxes.npz", {{"imgs", rgb}, {"boxes", torch::ones({2, 5})}});
  auto bb = run_medsam(ckpt + "--image " + out + "/badboxes.npz --output " + out + "/x.npz");
  CHECK(bb.exit_code == 2);
  CHECK_THAT(bb.err, Catch::Contains("'boxes' has shape [2, 5]"));
  auto ext = run_medsam(ckpt + "--image " + out + "/case2d.npz --output " + out + "/x.png");
  CHECK(ext.exit_code == 2);
  CHECK_THAT(ext.err, Catch::Contains("answered with an .npz holding 'segs'"));
}

TEST_CASE("medsam infer --precision bf16 on CPU: the encoder in bf16 gives the fp32 run's mask", "[infer][cli]") {
  const auto out = test::temp_dir("infer_cli_bf16");
  const std::string args = "infer --checkpoint " + test::tiny_dir() + "/weights.pth --image " + test::tiny_dir() +
                           "/case_z70/image.png --box 46,50,86,90 ";
  for (const char* precision : {"fp32", "bf16"}) {
    auto r = run_medsam(args + "--precision " + precision + " --output " + out + "/" + precision + ".png --save-logits " +
                        out + "/" + precision + ".npy");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  const at::Tensor l32 = read_npy(out + "/fp32.npy"), l16 = read_npy(out + "/bf16.npy");
  const double rel = ((l16 - l32).norm() / l32.norm()).item<double>();
  INFO("relative L2 of the bf16 run's logits: " << rel);
  CHECK(rel > 0);  // bf16 really ran
  CHECK(rel < 0.15);
  const at::Tensor m32 = io::read_image(out + "/fp32.png") > 0, m16 = io::read_image(out + "/bf16.png") > 0;
  const double inter = (m32 & m16).sum().item<double>(), uni = (m32 | m16).sum().item<double>();
  INFO("mask IoU fp32 vs bf16: " << inter / uni << " over " << uni << " pixels");
  CHECK(uni > 100);
  CHECK(inter / uni > 0.9);
  auto bad = run_medsam(args + "--precision fp16 --output " + out + "/x.png");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("use fp32, bf16 or bf16-autocast"));
}

TEST_CASE("medsam infer --input-dir answers every .npz case of a folder, records a failing one and goes on, "
          "and resumes without redoing answers", "[infer][cli]") {
  const auto dir = test::temp_dir("infer_cli_folder");
  const std::string cases = dir + "/cases", answers = dir + "/answers";
  std::filesystem::create_directories(cases);
  const std::string ckpt = "infer --checkpoint " + test::tiny_dir() + "/weights.pth ";
  const at::Tensor rgb = io::read_image(test::tiny_dir() + "/case_z70/image.png");
  write_npz(cases + "/a.npz", {{"imgs", rgb}, {"boxes", torch::tensor({{46.0, 50.0, 86.0, 90.0}})}});
  write_npz(cases + "/b.npz", {{"imgs", small_volume()}, {"boxes", torch::tensor({{46.0, 50.0, 1.0, 86.0, 90.0, 3.0}})}});
  write_npz(cases + "/c.npz", {{"imgs", rgb}});  // no boxes: this case fails
  std::ofstream(cases + "/notes.txt") << "not a case\n";
  const std::string folder = ckpt + "--input-dir " + cases + " --output-dir " + answers + " --encode-batch 2";

  // Each answer equals the one-case command's.
  REQUIRE(run_medsam(ckpt + "--image " + cases + "/a.npz --output " + dir + "/a_single.npz").exit_code == 0);
  REQUIRE(run_medsam(ckpt + "--image " + cases + "/b.npz --output " + dir + "/b_single.npz").exit_code == 0);
  const auto first = run_medsam(folder);
  INFO(first.err);
  CHECK(first.exit_code == 1);
  CHECK_THAT(first.err, Catch::Contains("c.npz: failed") && Catch::Contains("no 'boxes' array") &&
                            Catch::Contains("1 of 3 case(s) failed"));
  for (const char* name : {"a", "b"}) {
    INFO(name);
    const auto got = read_npz(answers + "/" + name + ".npz"), want = read_npz(dir + "/" + name + "_single.npz");
    REQUIRE(got.size() == 1);
    CHECK(got[0].first == "segs");
    CHECK(torch::equal(got[0].second, want[0].second));
    CHECK(got[0].second.sum().item<int64_t>() > 0);
  }
  CHECK_FALSE(std::filesystem::exists(answers + "/c.npz"));
  CHECK_FALSE(std::filesystem::exists(answers + "/notes.txt"));
  auto csv_lines = [&] {
    std::ifstream in(answers + "/cases.csv");
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  };
  auto lines = csv_lines();
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "case,status,kind,boxes,seconds,message");
  CHECK_THAT(lines[1], Catch::StartsWith("a.npz,answered,2D,1,"));
  CHECK_THAT(lines[2], Catch::StartsWith("b.npz,answered,3D,1,"));
  CHECK_THAT(lines[3], Catch::StartsWith("c.npz,failed,,0,") && Catch::Contains("no 'boxes' array"));

  // The case fixed, a second run answers only it; the others' answers are kept as they are.
  const auto a_time = std::filesystem::last_write_time(answers + "/a.npz");
  write_npz(cases + "/c.npz", {{"imgs", rgb}, {"boxes", torch::tensor({{10.0, 10.0, 120.0, 120.0}})}});
  const auto second = run_medsam(folder);
  INFO(second.err);
  CHECK(second.exit_code == 0);
  lines = csv_lines();
  REQUIRE(lines.size() == 4);
  CHECK_THAT(lines[1], Catch::StartsWith("a.npz,kept,"));
  CHECK_THAT(lines[2], Catch::StartsWith("b.npz,kept,"));
  CHECK_THAT(lines[3], Catch::StartsWith("c.npz,answered,2D,1,"));
  CHECK(std::filesystem::last_write_time(answers + "/a.npz") == a_time);
  CHECK(run_medsam(folder + " --overwrite").exit_code == 0);
  CHECK_THAT(csv_lines()[1], Catch::StartsWith("a.npz,answered,"));

  // An answer cut short (an interrupted copy, not our atomic write) is answered again, not kept.
  std::ofstream(answers + "/a.npz", std::ios::trunc).flush();
  const auto third = run_medsam(folder);
  INFO(third.err);
  CHECK(third.exit_code == 0);
  CHECK_THAT(csv_lines()[1], Catch::StartsWith("a.npz,answered,"));
  CHECK_THAT(csv_lines()[2], Catch::StartsWith("b.npz,kept,"));
  CHECK_THAT(third.err, Catch::Contains("a.npz: the existing answer is answered again"));
  CHECK(torch::equal(read_npz(answers + "/a.npz")[0].second, read_npz(dir + "/a_single.npz")[0].second));

  // Usage errors (exit 2), each naming the problem.
  const auto with_box = run_medsam(folder + " --box 1,2,3,4");
  CHECK(with_box.exit_code == 2);
  CHECK_THAT(with_box.err, Catch::Contains("carry their own boxes"));
  CHECK(run_medsam(ckpt + "--output-dir " + answers).exit_code == 2);
  const auto same = run_medsam(ckpt + "--input-dir " + cases + " --output-dir " + cases);
  CHECK(same.exit_code == 2);
  CHECK_THAT(same.err, Catch::Contains("is the input folder"));
  std::filesystem::create_directories(dir + "/empty");
  const auto empty = run_medsam(ckpt + "--input-dir " + dir + "/empty --output-dir " + answers);
  CHECK(empty.exit_code == 2);
  CHECK_THAT(empty.err, Catch::Contains("holds no .npz case"));
  CHECK(run_medsam(ckpt + "--input-dir " + cases + " --output-dir " + answers + " --output x.npz").exit_code == 2);
}
