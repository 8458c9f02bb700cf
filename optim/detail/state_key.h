#pragma once
/// \file
/// The ONLY place that knows how LibTorch keys `Optimizer::state_`.
/// LibTorch 1.13–2.1: `std::string` = to_string(TensorImpl*); 2.2+: `void*` = TensorImpl*.
/// The key type is read off the map type, so both compile; the static_assert makes an
/// unexpected third scheme fail loudly at compile time instead of silently.
#include <string>
#include <type_traits>

#include <torch/optim/optimizer.h>

#include "common/torch_compat.h"

namespace flatmin::optim::detail {

using StateMap = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>;
using StateKey = typename StateMap::key_type;
static_assert(std::is_same_v<StateKey, std::string> || std::is_same_v<StateKey, void*>,
              "unknown LibTorch Optimizer::state_ key type: update optim/detail/state_key.h");

/// Key of parameter `p` in `Optimizer::state()`.
template <class Key = StateKey>
inline Key state_key(const torch::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    return compat::address_text(p.unsafeGetTensorImpl());  // = c10::guts::to_string of the TensorImpl*
  } else {
    return static_cast<void*>(p.unsafeGetTensorImpl());
  }
}

}  // namespace flatmin::optim::detail
