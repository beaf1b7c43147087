// Activation checkpointing of the ViT blocks (DESIGN decision 7): each block keeps only its input in
// forward and recomputes its activations in backward, trading one extra block forward per step for
// most of the encoder's activation memory. LibTorch's C++ API has no torch.utils.checkpoint.
#pragma once

#include <ATen/Tensor.h>

namespace medsam {
struct BlockImpl;
struct ImageEncoderViTImpl;
}  // namespace medsam

namespace medsam::train {

// ref: torch/utils/checkpoint.py CheckpointFunction (reentrant variant). y = block(x) without keeping
// the graph; backward recomputes block(x) under grad mode (with the autocast state of the forward) and
// back-propagates into the block's parameters (accumulated into their .grad) and x. SAM's blocks
// have no dropout, so no RNG state needs restoring. When x does not require grad the block's
// parameters get no gradient (only use it where the encoder's stem trains).
at::Tensor checkpointed_block(BlockImpl& block, const at::Tensor& x);

// ref: segment_anything/modeling/image_encoder.py ImageEncoderViT.forward, with every block checkpointed.
at::Tensor encode_with_checkpointing(ImageEncoderViTImpl& encoder, const at::Tensor& images);

}  // namespace medsam::train
