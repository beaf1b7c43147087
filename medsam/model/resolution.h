// Another input resolution than the checkpoint's: users fine-tune and serve SAM/MedSAM at 512² or 256²
// for speed (4x and 16x fewer tokens). Two tensors depend on the input size: the absolute position
// embedding (1, g, g, C) over the g×g token grid, and the rel-pos tables (2g-1, head_dim) of the
// global-attention blocks; windowed blocks and the decoder do not. Everything else loads as it is.
#pragma once

#include <string>
#include <vector>

#include "medsam/core/config_model.h"
#include "medsam/model/weights.h"

namespace medsam {

// `config` at img_size × img_size input: the encoder's img_size and the prompt encoder's
// input_image_size and image_embedding_size (img_size / patch). Throws UsageError when img_size is
// not a positive multiple of the patch size.
ModelConfig at_input_size(ModelConfig config, int img_size);

// Resizes, in `tensors`, the resolution-dependent tensors whose shapes differ from `model_tensors`
// only in the token grid: image_encoder.pos_embed bicubically (align_corners false, antialiased when
// shrinking, as timm resamples ViT position embeddings), and the rel-pos tables of the global blocks
// linearly, exactly as SAM's get_rel_pos resizes a table at run time. Returns one line per tensor
// resized ("image_encoder.pos_embed 64x64 -> 32x32"); other tensors are left for the shape check.
std::vector<std::string> resize_to_model_resolution(NamedTensors& tensors, const NamedTensors& model_tensors);

}  // namespace medsam
