#!/usr/bin/env python3
"""Timings of the Python reference (facebookresearch/segment-anything's modules, MedSAM's training step)
on the GPU, for comparison with `medsam bench` in the same run (scripts/gpu/run-checks).

Not part of the product and never needed by it: a benchmark harness only. The segment_anything package
is not in this repository; pass the folder that holds it (--ref), e.g. an export of the upstream repo.

ref: MedSAM train_one_gpu.py (MedSAM.forward, DiceLoss(sigmoid, squared_pred) + BCEWithLogitsLoss, AdamW
over image_encoder + mask_decoder, prompt encoder frozen under no_grad); segment_anything build_sam.py.
"""
import argparse
import sys
import time

import torch
import torch.nn.functional as F


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--ref", required=True, help="folder containing segment_anything/")
    p.add_argument("--what", default="parity,encoder,train", help="comma list: parity, encoder, train")
    p.add_argument("--fixtures", default="tests/fixtures/sam_tiny", help="sam_tiny fixture folder (parity)")
    p.add_argument("--encoder-batches", default="1,16")
    p.add_argument("--train-batch", type=int, default=8)
    p.add_argument("--precisions", default="bf16,fp32")
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--device", default="cuda", help="cuda, or cpu to check the script (parity, fp32 only)")
    p.add_argument("--warmup", type=int, default=2)
    return p.parse_args()


def timed(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return sum(times) / len(times), min(times)


def autocast(precision):
    import contextlib
    if precision != "bf16":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=torch.bfloat16)


def dice_loss(logits, target, smooth=1e-5):
    # monai DiceLoss(sigmoid=True, squared_pred=True, reduction="mean"): per sample and channel.
    p = torch.sigmoid(logits.float())
    t = target.float()
    dims = (2, 3)
    inter = (p * t).sum(dims)
    denom = (p * p).sum(dims) + (t * t).sum(dims)
    return (1.0 - (2.0 * inter + smooth) / (denom + smooth)).mean()


def parity(a, dev, ImageEncoderViT, MaskDecoder, PromptEncoder, TwoWayTransformer):
    """The reference's own error on the sam_tiny fixture in fp32 and bf16 autocast on this GPU: the yardstick
    for the tolerances of tests/model/cuda_parity_test.cpp (same measures: relative L2, flipped mask pixels)."""
    import json
    from functools import partial

    import numpy as np

    enc = ImageEncoderViT(img_size=256, patch_size=16, embed_dim=96, depth=4, num_heads=4, mlp_ratio=4,
                          window_size=14, global_attn_indexes=[1, 3], qkv_bias=True, use_rel_pos=True,
                          norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), out_chans=32)
    pe = PromptEncoder(embed_dim=32, image_embedding_size=(16, 16), input_image_size=(256, 256), mask_in_chans=16)
    dec = MaskDecoder(num_multimask_outputs=3,
                      transformer=TwoWayTransformer(depth=2, embedding_dim=32, mlp_dim=64, num_heads=8),
                      transformer_dim=32, iou_head_depth=3, iou_head_hidden_dim=32)
    state = torch.load(a.fixtures + "/weights.pth", map_location="cpu")
    for prefix, module in (("image_encoder.", enc), ("prompt_encoder.", pe), ("mask_decoder.", dec)):
        module.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}, strict=True)
        module.to(dev).eval()
    for case in ("case_z70", "case_z90"):
        d = f"{a.fixtures}/{case}"
        img = torch.from_numpy(np.load(d + "/image.npy")).float()
        img = (img - img.min()) / torch.clamp(img.max() - img.min(), min=1e-8)
        x = img.permute(2, 0, 1)[None].to(dev)
        box = torch.tensor(json.load(open(d + "/prompt.json"))["box"], dtype=torch.float32, device=dev)[None, None]
        emb_ref = torch.from_numpy(np.load(d + "/embedding.npy")).float()
        log_ref = torch.from_numpy(np.load(d + "/lowres_logits.npy")).float()
        for precision in ("fp32", "bf16") if dev.type == "cuda" else ("fp32",):
            with torch.inference_mode(), autocast(precision):
                emb = enc(x)
                sparse, dense = pe(points=None, boxes=box, masks=None)
                low, _ = dec(image_embeddings=emb, image_pe=pe.get_dense_pe(), sparse_prompt_embeddings=sparse,
                             dense_prompt_embeddings=dense, multimask_output=False)
            emb, low = emb.float().cpu(), low.float().cpu()
            e_emb = ((emb - emb_ref).norm() / emb_ref.norm()).item()
            e_log = ((low - log_ref).norm() / log_ref.norm()).item()
            flips = ((low > 0) != (log_ref > 0)).sum().item()
            print(f"reference parity {case} precision={precision}: relative L2 embedding {e_emb:.3g}, lowres_logits "
                  f"{e_log:.3g} (max abs {(low - log_ref).abs().max().item():.3g}); low-res mask pixels flipped "
                  f"{flips} of {log_ref.numel()}", flush=True)


def main():
    a = parse()
    # Import the modeling package directly (its package __init__ pulls in the automatic mask generator).
    sys.path.insert(0, a.ref + "/segment_anything")
    from modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, TwoWayTransformer  # noqa: E402
    from functools import partial

    dev = torch.device(a.device)
    name = torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu"
    print(f"reference: torch {torch.__version__}, {name}", flush=True)

    def vit_b():
        return ImageEncoderViT(depth=12, embed_dim=768, img_size=1024, mlp_ratio=4,
                               norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=12, patch_size=16,
                               qkv_bias=True, use_rel_pos=True, global_attn_indexes=[2, 5, 8, 11], window_size=14,
                               out_chans=256)

    whats = a.what.split(",")
    precisions = a.precisions.split(",")
    if "parity" in whats:
        parity(a, dev, ImageEncoderViT, MaskDecoder, PromptEncoder, TwoWayTransformer)
    if "encoder" in whats:
        torch.manual_seed(0)
        enc = vit_b().to(dev).eval()
        for precision in precisions:
            for b in [int(x) for x in a.encoder_batches.split(",")]:
                x = torch.rand(b, 3, 1024, 1024, device=dev)
                torch.cuda.reset_peak_memory_stats()
                with torch.inference_mode(), autocast(precision):
                    mean, best = timed(lambda: enc(x), a.warmup, a.iters)
                peak = torch.cuda.max_memory_allocated() / 2**20
                print(f"reference encoder vit_b precision={precision} batch={b}: mean {mean:.4f} s/batch = "
                      f"{b / mean:.2f} images/s, min {best:.4f} s; peak CUDA allocated {peak:.0f} MiB", flush=True)
        del enc
        torch.cuda.empty_cache()

    if "train" in whats:
        # MedSAM's copy of the mask decoder takes a batch of images with one box each: it repeats the image
        # embeddings per prompt only when their counts differ (ref: MedSAM segment_anything/modeling/
        # mask_decoder.py predict_masks). Upstream always repeats, so emulate MedSAM's rule here.
        import modeling.mask_decoder as md

        class _MedsamRepeat:
            def __getattr__(self, name):
                return getattr(torch, name)

            @staticmethod
            def repeat_interleave(x, repeats, dim=0):
                if repeats > 1 and x.shape[dim] == repeats:
                    return x
                return torch.repeat_interleave(x, repeats, dim=dim)

        md.torch = _MedsamRepeat()
        for precision in precisions:
            torch.manual_seed(0)
            enc = vit_b().to(dev).train()
            pe = PromptEncoder(embed_dim=256, image_embedding_size=(64, 64), input_image_size=(1024, 1024),
                               mask_in_chans=16).to(dev)
            dec = MaskDecoder(num_multimask_outputs=3,
                              transformer=TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8),
                              transformer_dim=256, iou_head_depth=3, iou_head_hidden_dim=256).to(dev).train()
            for p in pe.parameters():
                p.requires_grad = False
            params = list(enc.parameters()) + list(dec.parameters())
            opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
            b = a.train_batch
            g = torch.Generator(device="cpu").manual_seed(0)
            images = torch.rand(b, 3, 1024, 1024, generator=g).to(dev)
            xy = torch.rand(b, 2, generator=g) * 512
            boxes = torch.cat([xy, xy + 256], 1).to(dev)
            masks = (torch.rand(b, 1, 1024, 1024, generator=g) > 0.5).float().to(dev)

            def step():
                with autocast(precision):
                    emb = enc(images)
                    with torch.no_grad():
                        sparse, dense = pe(points=None, boxes=boxes[:, None, :], masks=None)
                    low, _ = dec(image_embeddings=emb, image_pe=pe.get_dense_pe(), sparse_prompt_embeddings=sparse,
                                 dense_prompt_embeddings=dense, multimask_output=False)
                    logits = F.interpolate(low, size=(1024, 1024), mode="bilinear", align_corners=False)
                loss = dice_loss(logits, masks) + F.binary_cross_entropy_with_logits(logits.float(), masks)
                opt.zero_grad()
                loss.backward()
                opt.step()

            torch.cuda.reset_peak_memory_stats()
            mean, best = timed(step, a.warmup, a.iters)
            peak = torch.cuda.max_memory_allocated() / 2**20
            print(f"reference train-step vit_b precision={precision} batch={b}: mean {mean:.4f} s/step = "
                  f"{b / mean:.3f} samples/s, min {best:.4f} s; peak CUDA allocated {peak:.0f} MiB", flush=True)
            del enc, pe, dec, opt, params
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
