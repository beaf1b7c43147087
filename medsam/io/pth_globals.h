// What a torch.save pickle may name, and what calling it means: the global whitelist of our
// checkpoint reader. Internal to medsam/io (pth_read.cpp).
#pragma once

#include <c10/core/ScalarType.h>
#include <c10/core/Storage.h>

#include <functional>
#include <string>

#include "medsam/io/pickle_vm.h"

namespace medsam {

// Loads the bytes of storage `key` (zip record data/<key>) holding `numel` elements of `dtype`.
using StorageLoader = std::function<c10::Storage(const std::string& key, c10::ScalarType dtype, uint64_t numel)>;

// ref: torch/serialization.py _load (UnpicklerWrapper.find_class, persistent_load),
//      torch/_weights_only_unpickler.py (the same idea upstream: an allow-list of globals)
class TorchUnpicklerHooks final : public PickleHooks {
 public:
  explicit TorchUnpicklerHooks(StorageLoader loader) : loader_(std::move(loader)) {}
  PickleRef find_global(const std::string& module, const std::string& name) override;
  PickleRef call(const PickleValue& callable, const PickleValue& args) override;
  void build(PickleValue& object, const PickleRef& state) override;
  PickleRef persistent_load(const PickleRef& pid) override;

 private:
  StorageLoader loader_;
};

// The whitelist, for docs and `medsam info`: "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", ...
const std::vector<std::string>& allowed_pickle_globals();

}  // namespace medsam
