#include "optim/replay.h"

#include <torch/torch.h>

#include "common/error.h"
#include "common/status.h"
#include "optim/optimizer_base.h"
#include "optim/registry.h"

namespace flatmin::optim {

namespace {

using nlohmann::json;

torch::Tensor tensor_of(const std::vector<double>& x) {
  return torch::tensor(x, torch::dtype(torch::kFloat64));
}

}  // namespace

ReplayResult replay(const json& spec) {
  const ReplaySpec s = parse_replay_spec(spec);  // everything but the optimizer's name and options
  const std::string& name = s.optimizer;
  const int64_t steps = s.steps, steps_per_epoch = s.steps_per_epoch;
  const bool has_grads = s.has_grads;
  std::vector<size_t> sizes;
  for (const auto& x : s.params) sizes.push_back(x.size());

  std::vector<torch::Tensor> params;
  for (const auto& x : s.params) params.push_back(tensor_of(x));

  std::vector<GroupSpec> groups;
  if (!s.groups.empty()) {
    for (const auto& sg : s.groups) {
      GroupSpec g;
      for (const auto i : sg.params) g.params.push_back(params[i]);
      g.options = sg.options;
      groups.push_back(std::move(g));
    }
  } else {
    groups.resize(1);
    groups[0].params = params;
  }

  auto optimizer = make_optimizer(name, s.options, std::move(groups));

  ReplayResult result;
  result.header.push_back("step");
  for (size_t i = 0; i < sizes.size(); ++i) {
    for (size_t j = 0; j < sizes[i]; ++j) result.header.push_back("p" + std::to_string(i) + "_" + std::to_string(j));
  }
  auto record = [&](int64_t t) {
    std::vector<double> row{static_cast<double>(t)};
    for (const auto& p : params) {
      const double* d = p.data_ptr<double>();
      row.insert(row.end(), d, d + p.numel());
    }
    result.rows.push_back(std::move(row));
  };
  record(0);
  for (int64_t t = 1; t <= steps; ++t) {
    set_epoch(*optimizer, 1 + (t - 1) / steps_per_epoch);  // contract: epoch = 1 + ⌊(t−1)/steps_per_epoch⌋
    for (size_t i = 0; i < params.size(); ++i) {
      torch::Tensor g = has_grads ? tensor_of(s.grads[static_cast<size_t>(t - 1)][i])
                                  : tensor_of(s.quad_a[i]) * (params[i].detach() - tensor_of(s.quad_c[i]));  // g = a ⊙ (θ − c)
      params[i].mutable_grad() = g;
    }
    optimizer->step();
    record(t);
    for (size_t i = 0; i < params.size(); ++i) {
      if (!torch::isfinite(params[i]).all().item<bool>()) {
        throw common::DivergedError("step " + std::to_string(t) + ": parameter " + std::to_string(i) +
                                    " is non-finite (" + name + ")");
      }
    }
  }
  result.resolved = spec;
  result.resolved["resolved_options"] = resolved_options(name, *optimizer);
  result.resolved["steps_per_epoch"] = steps_per_epoch;
  return result;
}

}  // namespace flatmin::optim
