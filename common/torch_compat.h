#pragma once
/// \file
/// LibTorch 1.13 (Debian, this machine) vs 2.x (the pip wheels' LibTorch on CUDA machines): the version test
/// and the helpers whose spelling differs between them, in one place. docs/gpu.md lists every LibTorch API
/// flatmin uses that changed in 2.x, how each is handled, and which are verified only by reading the 2.x
/// headers (nothing is compiled against 2.x on the CPU machine). Include it only where LibTorch is included.
#include <ostream>
#include <sstream>
#include <string>

#include <torch/version.h>  // TORCH_VERSION_MAJOR / _MINOR (both series)

/// True when the LibTorch being compiled against is at least major.minor.
#define FLATMIN_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace flatmin::compat {

/// The text form of an object address that LibTorch 1.13–2.1 uses as `Optimizer::state_`'s key
/// (`c10::guts::to_string(p.unsafeGetTensorImpl())`, an ostream of the pointer: "0x55…"). Written without
/// c10::guts, whose to_string later 2.x releases no longer ship, so that the (discarded) 1.x branch of
/// optim/detail/state_key.h still compiles there; 2.2+ keys by the address itself.
inline std::string address_text(const void* p) {
  std::ostringstream s;
  s << p;
  return s.str();
}

}  // namespace flatmin::compat
