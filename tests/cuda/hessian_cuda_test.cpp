// Issue 13 item 3 (label `cuda`): float64 Hessian-vector products, block products and the gradient of
// HessianOperator on the test device (CUDA) equal the CPU's to 1e-10 relative — one cached graph
// (PyHessian's single batch) and ragged batches without the cache. Skipped without a CUDA device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include <torch/torch.h>

#include "hessian/hessian_operator.h"
#include "tests/cuda/test_device.h"

namespace fh = flatmin::hessian;

namespace {

/// max|a − b| / max|b| over n-vectors.
double rel(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0, m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d = std::max(d, std::abs(a[i] - b[i]));
    m = std::max(m, std::abs(b[i]));
  }
  return d / m;
}

fh::HessianOperator make(const std::string& device, int64_t batch_size) {
  fh::OperatorOptions o;
  o.dtype = "float64";
  o.device = device;
  o.batch_size = batch_size;
  return fh::HessianOperator(fh::load_torchscript(flatmin::test::pyhessian_fixture("mlp_bn.pt")),
                             fh::load_dataset(flatmin::test::pyhessian_fixture("mlp_bn_data.pt")), o);
}

}  // namespace

TEST(CudaHessian, Float64HvpsOnDeviceEqualCpu) {
  FLATMIN_TEST_DEVICE_OR_SKIP(dev);
  for (int64_t batch_size : {int64_t{0}, int64_t{7}}) {  // one cached graph; ragged batches, no cache
    SCOPED_TRACE("batch_size " + std::to_string(batch_size));
    auto cpu = make("cpu", batch_size);
    auto on_dev = make(dev.str(), batch_size);
    ASSERT_EQ(cpu.n(), on_dev.n());
    EXPECT_EQ(cpu.graph_cached(), on_dev.graph_cached());
    const auto n = static_cast<size_t>(cpu.n());
    torch::manual_seed(9);
    constexpr int k = 3;
    const auto xs = torch::randn({k, static_cast<int64_t>(n)}, torch::kFloat64).contiguous();
    const double* x = xs.data_ptr<double>();
    for (int j = 0; j < k; ++j) {
      std::vector<double> yc(n), yd(n);
      cpu.apply(x + j * n, yc.data());
      on_dev.apply(x + j * n, yd.data());
      EXPECT_LE(rel(yd, yc), flatmin::test::kRelTolHvpDevice) << "HVP " << j << " on " << dev;
    }
    std::vector<double> bc(n * k), bd(n * k);
    cpu.apply_block(x, bc.data(), k);
    on_dev.apply_block(x, bd.data(), k);
    EXPECT_LE(rel(bd, bc), flatmin::test::kRelTolHvpDevice) << "block of " << k << " on " << dev;
    std::vector<double> gc(n), gd(n);
    const double lc = cpu.loss_and_gradient(gc.data()), ld = on_dev.loss_and_gradient(gd.data());
    EXPECT_NEAR(ld, lc, flatmin::test::kRelTolHvpDevice * std::abs(lc));
    EXPECT_LE(rel(gd, gc), flatmin::test::kRelTolHvpDevice);
    EXPECT_EQ(cpu.products(), on_dev.products());
  }
}
