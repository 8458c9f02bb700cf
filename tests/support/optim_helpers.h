#pragma once
// Helpers shared by the optimizer tests: checkpoint round trips through bytes, trajectory
// comparison, and "this throws an InputError that names X".
#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/optimizer_base.h"

namespace flatmin::test {

inline std::string save_to_string(const torch::optim::Optimizer& opt) {
  torch::serialize::OutputArchive archive;
  opt.save(archive);
  std::ostringstream os;
  archive.save_to(os);
  return os.str();
}

inline void load_from_string(torch::optim::Optimizer& opt, const std::string& bytes) {
  torch::serialize::InputArchive archive;
  std::istringstream is(bytes);
  archive.load_from(is);
  opt.load(archive);
}

/// Trajectories (rows = steps) agree to rtol·max(1, |b|) element by element.
inline void expect_close(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b,
                         double rtol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t t = 0; t < a.size(); ++t) {
    ASSERT_EQ(a[t].size(), b[t].size());
    for (size_t i = 0; i < a[t].size(); ++i) {
      EXPECT_NEAR(a[t][i], b[t][i], rtol * std::max(1.0, std::abs(b[t][i]))) << "step " << t << " element " << i;
    }
  }
}

/// f() throws flatmin::common::InputError whose message contains `needle`.
inline void expect_input_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected InputError mentioning '" << needle << "'";
  } catch (const common::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

/// Constructing Opt over `params` with `options` throws an InputError naming `needle`.
template <class Opt, class Params, class Options>
void expect_rejected(Params& params, const Options& options, const std::string& needle) {
  expect_input_error([&] { Opt opt(params, options); }, needle);
}

/// Steps `fused` on the fused CPU kernels (KernelPath::kAuto) and `tensor` on the device-generic path
/// (KernelPath::kTensor) for t = 1..steps; `before(t)` gives both the same gradients (and epoch)
/// first, `after(t)` (optional) checks. The process-wide kernel path is kAuto again afterwards.
inline void step_fused_and_tensor(torch::optim::Optimizer& fused, torch::optim::Optimizer& tensor, int64_t steps,
                                  const std::function<void(int64_t)>& before,
                                  const std::function<void(int64_t)>& after = {}) {
  for (int64_t t = 1; t <= steps; ++t) {
    before(t);
    optim::set_kernel_path(optim::KernelPath::kAuto);
    fused.step();
    optim::set_kernel_path(optim::KernelPath::kTensor);
    tensor.step();
    optim::set_kernel_path(optim::KernelPath::kAuto);
    if (after) after(t);
  }
}

/// max over elements of |a − b| / (|b| + 1).
inline double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs() / (b.abs() + 1)).max().item<double>();
}

/// A named case of a reference-trajectory test (TEST_P over RefCase<Ref>): `name` labels the instance.
template <class Ref>
struct RefCase {
  const char* name;
  Ref c;
};
template <class Ref>
void PrintTo(const RefCase<Ref>& c, std::ostream* os) {
  *os << c.name;
}

}  // namespace flatmin::test
