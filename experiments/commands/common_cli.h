#pragma once
/// \file
/// Helpers shared by the LibTorch-side subcommands: thread setup, device parsing, manifests.
#include <string>
#include <vector>

#include <torch/types.h>

#include "common/manifest.h"

namespace flatmin::experiments {

/// Sets LibTorch's intra-op thread count (Debian's LibTorch starts with 1); 0 = all cores. Also
/// applies common::tune_allocator() (glibc malloc settings for tensor temporaries).
void setup_threads(int threads);

/// Parses --device ("cpu", "cuda", "cuda:N"); InputError when CUDA is requested but unavailable.
torch::Device parse_device(const std::string& name);

/// A manifest with the LibTorch version and thread count filled in.
common::Manifest make_manifest(const std::string& command, const std::vector<std::string>& argv);

}  // namespace flatmin::experiments
