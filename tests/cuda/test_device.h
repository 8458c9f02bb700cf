#pragma once
// The device of the `cuda`-labelled tests (issue 13): FLATMIN_TEST_DEVICE, default "cuda". Without a
// visible CUDA device each test skips with "no CUDA device" (so CI and this CPU machine never fail on
// them). FLATMIN_TEST_DEVICE=cpu runs the SAME comparisons with the "device" side on the CPU through the
// tensor-op path (KernelPath::kTensor) — the proof, on a machine without a GPU, that the comparison code
// itself works (ctest entry cuda_suite_on_cpu).
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/types.h>

namespace flatmin::test {

/// Tolerances of the device comparisons (issue 13): a device's tensor path vs the fused CPU kernel over a
/// whole run, relative as max_rel_diff (float32 / float64); float64 Hessian-vector products on a device
/// vs CPU, relative to max|Hv|; float64 spectra (top eigenvalues, trace, density) of a Hessian run.
inline constexpr double kRelTolFloatDevice = 1e-6;
inline constexpr double kRelTolDoubleDevice = 1e-12;
inline constexpr double kRelTolHvpDevice = 1e-10;
inline constexpr double kRelTolSpectrumDevice = 1e-8;

/// A file of the committed PyHessian fixture (tests/data/pyhessian; tests/tools/make_pyhessian_fixtures.py).
inline std::string pyhessian_fixture(const std::string& file) {
  return std::string(FLATMIN_TEST_DATA_DIR) + "/pyhessian/" + file;
}

/// FLATMIN_TEST_DEVICE, or "cuda".
inline std::string test_device_name() {
  const char* e = std::getenv("FLATMIN_TEST_DEVICE");
  return e != nullptr && *e != '\0' ? std::string(e) : std::string("cuda");
}

/// The test device as tensors report it: an index-less "cuda" is cuda:0 (so `t.device() == dev` holds).
inline torch::Device test_device() {
  torch::Device d(test_device_name());
  if (d.is_cuda() && !d.has_index()) d = torch::Device(torch::kCUDA, 0);
  return d;
}

/// True when the tests' device cannot be had here (a CUDA device requested, none visible).
inline bool test_device_missing() { return torch::Device(test_device_name()).is_cuda() && !torch::cuda::is_available(); }

}  // namespace flatmin::test

/// Declares `dev` (the test device) or skips the test when it is a CUDA device and none is visible.
#define FLATMIN_TEST_DEVICE_OR_SKIP(dev)                                                                        \
  if (::flatmin::test::test_device_missing())                                                                   \
    GTEST_SKIP() << "no CUDA device (FLATMIN_TEST_DEVICE=" << ::flatmin::test::test_device_name()               \
                 << "; FLATMIN_TEST_DEVICE=cpu runs these comparisons on the CPU)";                              \
  const torch::Device dev = ::flatmin::test::test_device()
