#pragma once
/// \file
/// MIAdam (multiple-integral Adam) of any order n ≥ 1; MIAdam1/2/3 are n = 1, 2, 3.
/// Jin, Nong, Chen, Su (AAAI 2025, arXiv 2412.12473), Algorithm 1, Eqs. (6), (12).
/// Default semantics = the official code (LongJin-lab/MIAdam@ffbb8d4): step multiplier lr^(n+1),
/// ε outside the root, coupled L2 weight decay, bias correction 1/(1−β1^t) on the buffer only,
/// MI phase while epoch < switch_epoch (1-based epochs), buffers frozen after the switch.
/// The update rule itself is in optim/rules/miadam_rule.h. Choices: docs/deviations.md#miadam.
///
/// | option          | symbol | constraint        | default | source of the default                  |
/// |-----------------|--------|-------------------|---------|----------------------------------------|
/// | lr              | α      | ≥ 0, finite       | 1e-3    | official constructor, README recipe    |
/// | betas           | β1, β2 | [0, 1)            | .9,.999 | official constructor                   |
/// | eps             | ε      | ≥ 0               | 1e-8    | official constructor                   |
/// | weight_decay    | —      | ≥ 0 (coupled L2)  | 0       | official constructor (scripts: 5e-5)   |
/// | amsgrad         | —      |                   | false   | official constructor                   |
/// | kappa           | κ      | (0, 1]            | 0.98    | official README (`-kappa 0.98`)        |
/// | order           | n      | ≥ 1               | 1       | class MIAdam1                           |
/// | switch_epoch    | ζ      | ≥ 0 (MI while epoch < ζ) | 20 | official README (`--sub_epoch 20`)  |
/// | switch_step     | ζ      | −1 (off) or ≥ 0 (MI while t < ζ) | −1 | Algorithm 1 l.6 reading     |
/// | alpha_power     | —      | official: α^(n+1); algorithm1: α^n | official | code vs Alg. 1 l.11 |
/// | eps_inside_sqrt | —      | false: √v̂+ε; true: √(v̂+ε) | false | code/Alg. 1 vs Eq. (6)       |
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "optim/optimizer_base.h"

namespace flatmin::optim {

/// Exponent of α in the MI phase.
enum class AlphaPower : int64_t {
  kOfficial = 0,    ///< α^(n+1): official code (MIAdamK uses lr^(K+1)); agrees with Eq. (12)
  kAlgorithm1 = 1,  ///< α^n: literal Algorithm 1 line 11
};

struct MIAdamOptions : public torch::optim::OptimizerCloneableOptions<MIAdamOptions> {
  static constexpr const char* kName = "miadam";
  MIAdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: one-double constructor required by LibTorch
  using betas_t = std::tuple<double, double>;
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0.0;
  TORCH_ARG(bool, amsgrad) = false;
  TORCH_ARG(double, kappa) = 0.98;
  TORCH_ARG(int64_t, order) = 1;
  TORCH_ARG(int64_t, switch_epoch) = 20;
  TORCH_ARG(int64_t, switch_step) = -1;
  TORCH_ARG(AlphaPower, alpha_power) = AlphaPower::kOfficial;
  TORCH_ARG(bool, eps_inside_sqrt) = false;

 public:
  /// Throws flatmin::common::InputError naming the option and the violated constraint.
  void validate() const;
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

struct MIAdamParamState : public torch::optim::OptimizerCloneableParamState<MIAdamParamState> {
  TORCH_ARG(int64_t, step) = 0;                 ///< t (per tensor, counts all steps)
  TORCH_ARG(torch::Tensor, exp_avg);            ///< m_t
  TORCH_ARG(torch::Tensor, exp_avg_sq);         ///< v_t
  TORCH_ARG(torch::Tensor, max_exp_avg_sq);     ///< amsgrad max of v (undefined otherwise)
  TORCH_ARG(std::vector<torch::Tensor>, bufs);  ///< m̄^(1..n): κ-accumulators (created at the first MI step)

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  /// Moves loaded tensors to p's device and checks shapes/dtypes (InputError on mismatch).
  void adopt(const torch::Tensor& p);
};

class MIAdam : public OptimizerWith<MIAdam, MIAdamOptions, MIAdamParamState> {
 public:
  using OptimizerWith::OptimizerWith;

  torch::Tensor step(LossClosure closure = nullptr) override;

  /// Whether a tensor at per-tensor step t (1-based) takes the MI branch under `options`.
  bool in_mi_phase(const MIAdamOptions& options, int64_t t) const;
};

}  // namespace flatmin::optim
