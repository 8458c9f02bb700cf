#pragma once
/// \file
/// The `--version` text of the executables (implemented with the manifest's provenance, common/manifest.cpp).
#include <string>

namespace flatmin::common {

/// "<program> <version>", then one line each for the git SHA of the source tree (as the manifest finds it, with
/// " (dirty)" when it has uncommitted changes), the LibTorch version (`libtorch`: TORCH_VERSION, or empty for a
/// LibTorch-free program: "not linked") and the build type.
std::string version_text(const std::string& program, const std::string& libtorch);

}  // namespace flatmin::common
