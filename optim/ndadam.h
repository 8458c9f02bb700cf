#pragma once
/// \file
/// ND-Adam (normalized direction-preserving Adam). Zhang (2017/2018, arXiv 1709.04546).
/// Default semantics = the official PyTorch port (zj10/ND-Adam@b4a9d59 pytorch/ndadam.py, spec
/// optimizers.md §7). A param group WITH vec_axes holds "vector" tensors: every slice over
/// vec_axes (for a conv kernel [out,in,k,k] with vec_axes [1,2,3]: the incoming weights of one
/// output unit) is a vector w; its gradient loses the radial component (g − (g·w)w), m is kept per
/// element, ONE v per vector (v ← β2 v + (1−β2)‖g‖²), the step has the efficient-form ε, and every
/// vector is renormalised to unit length after the step. A group WITHOUT vec_axes (empty list) is
/// plain Adam with efficient-form ε and coupled L2 — which is how the MIAdam baselines use it
/// (`NDAdam(net.parameters(), lr, betas)`, spec §7 "Deviation in the MIAdam baseline").
/// vec_axes may be negative (counted from the end, as Python); a tensor whose dim does not have
/// those axes is an error naming the parameter (the port raises IndexError there).
/// The rule is in optim/rules/ndadam_rule.h. Choices: docs/deviations.md#ndadam.
///
/// | option       | symbol | constraint                    | default | source of the default             |
/// |--------------|--------|-------------------------------|---------|-----------------------------------|
/// | lr           | α      | ≥ 0, finite                   | 1e-3    | port's class (its main.py: 0.04)  |
/// | betas        | β1, β2 | [0, 1)                        | .9,.999 | port's class (its main.py: .9,.99)|
/// | eps          | ε      | ≥ 0                           | 1e-8    | port's class                      |
/// | weight_decay | —      | ≥ 0 (coupled L2)              | 0       | port's class (main.py scalars 5e-6) |
/// | vec_axes     | —      | distinct ints; [] = no vectors | []     | port's class (None)               |
#include <cstdint>
#include <tuple>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "optim/optimizer_base.h"

namespace flatmin::optim {

struct NDAdamOptions : public torch::optim::OptimizerCloneableOptions<NDAdamOptions> {
  static constexpr const char* kName = "ndadam";
  NDAdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: one-double constructor required by LibTorch
  using betas_t = std::tuple<double, double>;
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0.0;
  TORCH_ARG(std::vector<int64_t>, vec_axes);

 public:
  void validate() const;
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

struct NDAdamParamState : public torch::optim::OptimizerCloneableParamState<NDAdamParamState> {
  TORCH_ARG(int64_t, step) = 0;          ///< t (per tensor)
  TORCH_ARG(torch::Tensor, exp_avg);     ///< m, one per element
  TORCH_ARG(torch::Tensor, exp_avg_sq);  ///< v: one per element, or one per vector (size 1 on vec_axes)

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  void adopt(const torch::Tensor& p);
};

/// vec_axes normalised for a tensor of `dim` dimensions (negative axes counted from the end),
/// sorted; throws InputError naming group `group` / parameter `param` when they do not fit.
std::vector<int64_t> ndadam_vector_dims(const std::vector<int64_t>& vec_axes, const torch::Tensor& p, size_t group,
                                        size_t param);

class NDAdam : public OptimizerWith<NDAdam, NDAdamOptions, NDAdamParamState> {
 public:
  using OptimizerWith::OptimizerWith;
  /// Per-group set-up before validation (called by OptimizerWith's constructor).
  static void prepare_group(NDAdamOptions& o, const std::vector<torch::Tensor>& params, size_t group);

  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace flatmin::optim
