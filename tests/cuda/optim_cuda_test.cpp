// Issue 13 item 3 (label `cuda`): every registry optimizer's tensor-op path on the test device (CUDA)
// equals the fused CPU kernel over 50 steps, for every option variant of its schema, in float32
// (≤ 1e-6 relative) and float64 (≤ 1e-12); and the c10d communicator of this build's GPU backend (NCCL)
// in a world of one process passes allreduce/broadcast/barrier. Skipped without a CUDA device.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/dist/communicator.h"
#include "optim/optimizer_base.h"
#include "optim/registry.h"
#include "tests/cuda/test_device.h"
#include "tests/support/optim_helpers.h"
#include "tests/support/optim_variants.h"
#include "tests/support/temp_dir.h"

namespace flatmin::test {
namespace {

constexpr int64_t kSteps = 50;

/// Parameters of several shapes (two span many CUDA blocks, one is a small matrix).
std::vector<torch::Tensor> make_params(torch::Dtype dtype) {
  torch::manual_seed(3);
  return {torch::randn({8193}, dtype), torch::randn({17, 3}, dtype), torch::randn({4099}, dtype)};
}

/// Gradient of step t for parameter i from θ, evaluated on the CPU for both runs (the device run's θ is
/// copied back), so both runs see gradients that differ only as much as their θ do.
torch::Tensor grad_of(const torch::Tensor& theta_cpu, size_t i, int64_t t) {
  return torch::sin(theta_cpu * (1.0 + 0.1 * double(i)) + 0.3 * double(t)) + 0.05 * theta_cpu;
}

class CudaOptim : public ::testing::TestWithParam<std::string> {
 protected:
  void TearDown() override { optim::set_kernel_path(optim::KernelPath::kAuto); }
};

TEST_P(CudaOptim, DeviceTensorPathEqualsFusedCpuOver50Steps) {
  FLATMIN_TEST_DEVICE_OR_SKIP(dev);
  const auto name = GetParam();
  for (const auto& options : variants(name)) {
    for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
      auto cpu = make_params(dtype);
      std::vector<torch::Tensor> on_dev;
      for (const auto& p : cpu) on_dev.push_back(p.detach().clone().to(dev));
      auto a = optim::make_optimizer(name, options, cpu);
      auto b = optim::make_optimizer(name, options, on_dev);
      step_fused_and_tensor(*a, *b, kSteps, [&](int64_t t) {
        optim::set_epoch(*a, 1 + (t - 1) / 4);  // epoch-based switches (MIAdam) happen mid-run
        optim::set_epoch(*b, 1 + (t - 1) / 4);
        for (size_t i = 0; i < cpu.size(); ++i) {
          cpu[i].mutable_grad() = grad_of(cpu[i].detach(), i, t);
          on_dev[i].mutable_grad() = grad_of(on_dev[i].detach().cpu(), i, t).to(dev);
        }
      });
      const double tol = dtype == torch::kFloat32 ? kRelTolFloatDevice : kRelTolDoubleDevice;
      const auto start = make_params(dtype);
      for (size_t i = 0; i < cpu.size(); ++i) {
        ASSERT_EQ(on_dev[i].device(), dev) << name << ": parameter " << i << " left the device";
        const auto d = max_rel_diff(on_dev[i].cpu(), cpu[i]);
        EXPECT_LE(d, tol) << name << " " << options.dump() << " " << dtype << " parameter " << i << " on " << dev;
        EXPECT_FALSE(torch::equal(cpu[i], start[i])) << name << " did not move";
      }
      // a checkpoint of the device run loads onto device parameters and continues bit-identically
      const std::string bytes = save_to_string(*b);
      std::vector<torch::Tensor> again;
      for (const auto& p : on_dev) again.push_back(p.detach().clone());
      auto c = optim::make_optimizer(name, options, again);
      load_from_string(*c, bytes);
      optim::set_kernel_path(optim::KernelPath::kTensor);
      for (auto* run : {&on_dev, &again}) {
        for (size_t i = 0; i < run->size(); ++i) (*run)[i].mutable_grad() = grad_of(cpu[i].detach(), i, kSteps + 1).to(dev);
      }
      b->step();
      c->step();
      optim::set_kernel_path(optim::KernelPath::kAuto);
      for (size_t i = 0; i < on_dev.size(); ++i) EXPECT_TRUE(torch::equal(on_dev[i], again[i])) << name << " resumed, parameter " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, CudaOptim, ::testing::ValuesIn(optim::registry_names()),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

// ---- c10d in a world of one process on the device ----------------------------------------------------

TEST(CudaDist, WorldOfOneProcessGroupSumsBroadcastsAndBarriers) {
  FLATMIN_TEST_DEVICE_OR_SKIP(dev);
  namespace fd = flatmin::dist;
  if (dev.is_cuda()) {
    ASSERT_TRUE(fd::nccl_built()) << "this flatmin was built without NCCL (FLATMIN_HAVE_NCCL): the GPU backend is untested";
  } else if (!fd::gloo_built()) {
    GTEST_SKIP() << "no c10d Gloo in this build (the CPU stand-in for NCCL)";
  }
  common::testing_support::TempDir tmp;
  fd::DistOptions o;
  o.world_size = 1;
  o.rank = 0;
  o.init = "file://" + (tmp / "store").string();
  o.backend = dev.is_cuda() ? "nccl" : "gloo";
  o.process_group_for_one = true;
  const torch::Device bound = fd::bind_device(o, dev);
  auto comm = fd::Communicator::create(o);
  ASSERT_EQ(comm->world_size(), 1);

  torch::manual_seed(5);
  const auto a = torch::randn({1000, 3}, torch::kFloat32), b = torch::randn({77}, torch::kFloat64),
             c = torch::randn({5}, torch::kFloat32);
  // mixed dtypes in one call (one packed collective per dtype), on the device and on the host
  std::vector<at::Tensor> ts{a.to(bound), b.to(bound), c.clone()};
  comm->allreduce_sum(ts);
  EXPECT_TRUE(torch::equal(ts[0].cpu(), a));
  EXPECT_TRUE(torch::equal(ts[1].cpu(), b));
  EXPECT_TRUE(torch::equal(ts[2], c));
  EXPECT_EQ(ts[0].device(), bound);
  std::vector<at::Tensor> bc{a.to(bound), b.clone()};
  comm->broadcast(bc, 0);
  EXPECT_TRUE(torch::equal(bc[0].cpu(), a));
  EXPECT_TRUE(torch::equal(bc[1], b));
  comm->barrier();
  // a sum of a world of one is the identity on integers too
  std::vector<at::Tensor> ints{torch::arange(10, torch::kInt64).to(bound)};
  comm->allreduce_sum(ints);
  EXPECT_TRUE(torch::equal(ints[0].cpu(), torch::arange(10, torch::kInt64)));
}

}  // namespace
}  // namespace flatmin::test
