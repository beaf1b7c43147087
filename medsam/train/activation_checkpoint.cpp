#include "medsam/train/activation_checkpoint.h"

#include <torch/torch.h>

#include "medsam/core/torch_compat.h"
#include "medsam/model/image_encoder.h"

namespace medsam::train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct BlockCheckpointFunction : public torch::autograd::Function<BlockCheckpointFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, BlockImpl* block) {
    // Grad mode is off here (Function::apply); autocast, if on, applies as in the plain path.
    ctx->save_for_backward({x});
    ctx->saved_data["block"] = static_cast<int64_t>(reinterpret_cast<intptr_t>(block));
    // The recomputation in backward runs under the autocast state of x's device that this forward saw.
    const c10::DeviceType device = x.device().type();
    ctx->saved_data["autocast_device"] = static_cast<int64_t>(device);
    ctx->saved_data["autocast"] = compat::autocast_enabled(device);
    ctx->saved_data["autocast_dtype"] = static_cast<int64_t>(compat::autocast_dtype(device));
    return block->forward(x);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    auto* block = reinterpret_cast<BlockImpl*>(static_cast<intptr_t>(ctx->saved_data["block"].toInt()));
    const auto device = static_cast<c10::DeviceType>(ctx->saved_data["autocast_device"].toInt());
    const bool autocast = ctx->saved_data["autocast"].toBool();
    const auto dtype = static_cast<at::ScalarType>(ctx->saved_data["autocast_dtype"].toInt());
    at::Tensor input = x.detach().requires_grad_(x.requires_grad());
    at::Tensor y;
    {
      torch::AutoGradMode grad_on(true);
      compat::AutocastScope scope(device, dtype, autocast);
      y = block->forward(input);
    }
    // Re-entrant backward: accumulates into the block's parameters and into input.grad().
    torch::autograd::backward({y}, {grad_outputs[0]});
    return {input.requires_grad() ? input.grad() : at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor checkpointed_block(BlockImpl& block, const at::Tensor& x) {
  if (!torch::GradMode::is_enabled() || !x.requires_grad()) return block.forward(x);
  return BlockCheckpointFunction::apply(x, &block);
}

at::Tensor encode_with_checkpointing(ImageEncoderViTImpl& encoder, const at::Tensor& images) {
  at::Tensor h = (encoder.patch_embed(images) + encoder.pos_embed).contiguous();  // (B, S/p, S/p, C)
  for (auto& b : *encoder.blocks) h = checkpointed_block(*b->as<Block>(), h);
  return encoder.neck->forward(h.permute({0, 3, 1, 2})).contiguous();  // (B, H, W, C) -> (B, out, H, W)
}

}  // namespace medsam::train
