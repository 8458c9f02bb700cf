#include "optim/probes.h"

#include <torch/torch.h>

#include "common/error.h"
#include "optim/optimizer_base.h"
#include "optim/registry.h"

namespace flatmin::optim {

std::vector<double> constant_gradient_displacements(const std::string& name, const nlohmann::json& options,
                                                    double g, int64_t steps, int64_t steps_per_epoch) {
  FLATMIN_CHECK(steps >= 1 && steps_per_epoch >= 1, "constant_gradient_displacements: steps and steps_per_epoch must be >= 1");
  auto theta = torch::zeros({1}, torch::kFloat64);
  auto opt = make_optimizer(name, options, std::vector<torch::Tensor>{theta});
  std::vector<double> out;
  out.reserve(static_cast<size_t>(steps));
  double prev = 0.0;
  for (int64_t t = 1; t <= steps; ++t) {
    set_epoch(*opt, 1 + (t - 1) / steps_per_epoch);
    theta.mutable_grad() = torch::full({1}, g, torch::kFloat64);
    opt->step();
    const double now = theta.data_ptr<double>()[0];
    out.push_back(now - prev);
    prev = now;
  }
  return out;
}

}  // namespace flatmin::optim
