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
/// The rule is in rules/ndadam_rule.h. Choices: docs/deviations.md#ndadam.

#include <cstdint>
#include <tuple>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "optim/optimizer_base.h"
#include "optim/options_schema.h"
#include "optim/param_state.h"

namespace flatmin::optim {

#define FLATMIN_NDADAM_FIELDS(X)                                                                      \
  X(double, lr, 1e-3, at_least(0), "official", "learning rate")                                       \
  X(Betas, betas, Betas(0.9, 0.999), unit_interval(), "official", "β1, β2")                          \
  X(double, eps, 1e-8, at_least(0), "official", "ε")                                                  \
  X(double, weight_decay, 0.0, at_least(0), "official", "weight decay")                               \
  X(std::vector<int64_t>, vec_axes, std::vector<int64_t>(), any(), "flatmin (null: per tensor rule)", "axes of the vectors ND-Adam normalises (null: the default per-tensor choice)")

struct NDAdamOptions : OptionsBase<NDAdamOptions> {
  FLATMIN_OPTIONS(NDAdamOptions, "ndadam", FLATMIN_NDADAM_FIELDS)
  /// vec_axes must be distinct.
  void check(const std::string& who) const;
};

#define FLATMIN_NDADAM_STATE(X)                                                                   \
  X(int64_t, step, as_is)                /* t (per tensor) */                                       \
  X(torch::Tensor, exp_avg, like_param)  /* m, one per element */                                   \
  X(torch::Tensor, exp_avg_sq, as_is)    /* v: one per element, or one per vector (size 1 on vec_axes) */

struct NDAdamParamState : public torch::optim::OptimizerCloneableParamState<NDAdamParamState> {
  FLATMIN_STATE_FIELDS(FLATMIN_NDADAM_STATE)
  FLATMIN_STATE_SERIALIZE()
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
