#pragma once
/// \file
/// glibc malloc settings for tensor workloads. LibTorch's CPU ops allocate and free many
/// megabyte-sized temporaries per step; with glibc's defaults each such block above the dynamic
/// mmap threshold is mapped, touched page by page (minor faults) and unmapped again. On the 2-core
/// dev VM that made torch::optim::Adam ~10× slower (docs/benchmarks.md: 13.7 k faults per step).
/// tune_allocator() keeps freed blocks in the process: M_MMAP_THRESHOLD 32 MiB (glibc's maximum),
/// M_TRIM_THRESHOLD 4 GiB, M_TOP_PAD 256 MiB. Set FLATMIN_MALLOC_TUNING=0 to keep glibc's defaults.
/// Results do not depend on it (allocation placement only); memory held is at most the peak.
#include <string>

namespace flatmin::common {

/// Applies the settings once (idempotent). Returns a description for manifests, e.g.
/// "glibc: mmap_threshold=33554432 trim_threshold=4294967296 top_pad=268435456", or why not.
std::string tune_allocator();

}  // namespace flatmin::common
