// Internal to medsam/dist: the reducer for world size > 1 (gradient_reducer.h is the public face).
#pragma once

#include "medsam/dist/gradient_reducer.h"

namespace medsam::dist::detail {

std::unique_ptr<GradientReducer> make_bucketed_reducer(std::shared_ptr<ProcessGroup> group,
                                                       std::vector<at::Tensor> parameters,
                                                       const ReducerOptions& options);

}  // namespace medsam::dist::detail
