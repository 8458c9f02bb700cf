#include "experiments/simulations/escape.h"

#include <cmath>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "common/error.h"
#include "common/format.h"
#include "common/progress.h"
#include "common/status.h"
#include "optim/optimizer_base.h"
#include "optim/registry.h"
#include "theory/landscape.h"
#include "theory/quadrature.h"

namespace flatmin::simulations {

double first_passage_time(const std::function<double(double)>& F, const std::function<double(double)>& D,
                          double theta0, double c, double left, int64_t intervals) {
  FLATMIN_CHECK(left < theta0 && theta0 < c, "first_passage_time: need left < theta0 < c");
  FLATMIN_CHECK(intervals >= 100 && intervals <= 100000000,
                "first_passage_time: intervals = " << intervals << " must be in [100, 1e8]");
  return theory::first_passage_time(F, D, left, theta0, c, static_cast<int>(intervals));  // theory.md §5
}

// theory.md §5 worked example, sharpness family: L_k and h_k live in theory::DoubleWell1D (theory/landscape.h).
double DoubleWell::loss_grad(double theta) const { return theory::DoubleWell1D{delta_L, k, {}, 0, 0}.grad(theta); }

double DoubleWell::noise_var(double theta) const { return theory::DoubleWell1D{delta_L, k, {}, 0, 0}.h_sgd(theta) / B; }

namespace {
constexpr int64_t kOracleIntervals = 40000;  // theory.md §8: 40,000 intervals, left boundary −3/√k
void check_well(const DoubleWell& w) {
  FLATMIN_CHECK(std::isfinite(w.delta_L) && w.delta_L > 0, "double well: delta_L = " << w.delta_L << " must be > 0");
  FLATMIN_CHECK(std::isfinite(w.k) && w.k > 0, "double well: k = " << w.k << " must be > 0");
  FLATMIN_CHECK(std::isfinite(w.B) && w.B > 0, "double well: B = " << w.B << " must be > 0");
  FLATMIN_CHECK(std::isfinite(w.start) && std::isfinite(w.absorb) && -3 < w.start && w.start < w.absorb,
                "double well: need -3 < start < absorb (got " << w.start << ", " << w.absorb << ")");
}
}  // namespace

double sgd_oracle_iterations(const DoubleWell& w, double eta) {
  check_well(w);
  FLATMIN_CHECK(eta > 0 && std::isfinite(eta), "oracle: lr = " << eta << " must be > 0");
  const double s = std::sqrt(w.k);
  // D = η·Var(ĝ)/2 = η h_k/(2B) (theory.md §1, §5); one iteration = time η.
  const double tau = first_passage_time([&](double t) { return w.loss_grad(t); },
                                        [&](double t) { return 0.5 * eta * w.noise_var(t); }, w.start / s,
                                        w.absorb / s, -3.0 / s, kOracleIntervals);
  return tau / eta;
}

double adam_like_oracle_iterations(const DoubleWell& w, double eta) {
  check_well(w);
  FLATMIN_CHECK(eta > 0 && std::isfinite(eta), "oracle: lr = " << eta << " must be > 0");
  const double s = std::sqrt(w.k);
  // theory.md §8(e): F = sqrt(B/h)·L' = L'/sqrt(Var), D = η/2.
  const double tau = first_passage_time([&](double t) { return w.loss_grad(t) / std::sqrt(w.noise_var(t)); },
                                        [&](double) { return 0.5 * eta; }, w.start / s, w.absorb / s, -3.0 / s,
                                        kOracleIntervals);
  return tau / eta;
}

EscapeResult run_escape(const OptimizerSpec& optimizer, const EscapeSpec& spec, const std::string& label) {
  check_well(spec.well);
  FLATMIN_CHECK(spec.paths >= 2, "escape: paths = " << spec.paths << " must be >= 2");
  FLATMIN_CHECK(spec.max_steps >= 1, "escape: max_steps = " << spec.max_steps << " must be >= 1");
  FLATMIN_CHECK(spec.steps_per_epoch >= 1, "escape: steps_per_epoch must be >= 1");
  const int64_t n = spec.paths;
  const double s = std::sqrt(spec.well.k);
  const double c = spec.well.absorb / s;
  const torch::Device device(spec.device);
  const bool cpu = device.is_cpu();
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  auto theta = torch::full({n}, spec.well.start / s, f64).to(device).set_requires_grad(true);
  auto g = torch::zeros({n}, f64);
  theta.mutable_grad() = cpu ? g : g.to(device);
  RunSpec rs;
  rs.steps = spec.max_steps;
  rs.steps_per_epoch = spec.steps_per_epoch;
  auto opt = optim::make_optimizer(optimizer.name, simulation_options(optimizer, rs), std::vector<torch::Tensor>{theta});
  EscapeResult res;
  res.options = optim::resolved_options(optimizer.name, *opt);
  res.steps.assign(size_t(n), -1);
  std::vector<char> alive(size_t(n), 1);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(spec.seed);
  common::Progress progress(label, n);
  for (int64_t t = 0; t < spec.max_steps && res.escaped < n; ++t) {
    optim::set_epoch(*opt, 1 + t / spec.steps_per_epoch);
    auto z = spec.rademacher ? at::bernoulli(torch::full({n}, 0.5, f64), gen).mul_(2.0).sub_(1.0)
                             : at::normal(0.0, 1.0, {n}, gen, f64);
    const auto host = cpu ? theta.detach() : theta.detach().cpu();
    const double* pt = host.data_ptr<double>();
    const double* pz = z.data_ptr<double>();
    double* pg = g.data_ptr<double>();
    for (int64_t i = 0; i < n; ++i) {
      // the minibatch gradient: ĝ = L_k'(θ) + sqrt(h_k(θ)/B)·z (theory.md §5 worked example)
      pg[i] = alive[size_t(i)] ? spec.well.loss_grad(pt[i]) + std::sqrt(spec.well.noise_var(pt[i])) * pz[i] : 0.0;
    }
    if (!cpu) theta.mutable_grad().copy_(g);
    opt->step();
    const auto after = cpu ? theta.detach() : theta.detach().cpu();
    const double* pa = after.data_ptr<double>();
    for (int64_t i = 0; i < n; ++i) {
      if (alive[size_t(i)] && !(pa[i] < c)) {  // NaN counts as escaped-by-divergence: recorded, then checked below
        alive[size_t(i)] = 0;
        res.steps[size_t(i)] = t + 1;
        ++res.escaped;
        if (!std::isfinite(pa[i]))  // an outcome of the run, not bad input: exit 1, manifest status "diverged"
          throw common::DivergedError(label + ": path " + std::to_string(i) + " at step " + std::to_string(t + 1) +
                                      ": non-finite parameter (lower the lr)");
      }
    }
    progress.update(res.escaped);
  }
  progress.finish();
  double sum = 0;
  for (auto v : res.steps) sum += v > 0 ? double(v) : 0.0;
  if (res.escaped > 0) {
    res.mean = sum / double(res.escaped);
    double ss = 0;
    for (auto v : res.steps) {
      if (v > 0) ss += (double(v) - res.mean) * (double(v) - res.mean);
    }
    res.stderr_ = res.escaped > 1 ? std::sqrt(ss / double(res.escaped - 1) / double(res.escaped)) : 0.0;
  }
  return res;
}

RegretResult run_regret(const OptimizerSpec& optimizer, const RegretSpec& spec) {
  FLATMIN_CHECK(spec.T >= 1, "regret: T = " << spec.T << " must be >= 1");
  FLATMIN_CHECK(std::isfinite(spec.alpha0) && spec.alpha0 > 0, "regret: alpha0 must be > 0");
  FLATMIN_CHECK(std::isfinite(spec.power) && spec.power >= 0, "regret: power must be >= 0");
  FLATMIN_CHECK(std::isfinite(spec.theta0) && std::isfinite(spec.target), "regret: theta0 and target must be finite");
  for (auto c : spec.checkpoints) FLATMIN_CHECK(c >= 1 && c <= spec.T, "regret: checkpoint " << c << " not in [1, T]");
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  auto theta = torch::full({1}, spec.theta0, f64).set_requires_grad(true);
  auto g = torch::zeros({1}, f64);
  theta.mutable_grad() = g;
  RunSpec rs;
  rs.steps = spec.T;
  rs.steps_per_epoch = spec.T;  // one epoch: no switch unless the options set one
  auto opt = optim::make_optimizer(optimizer.name, simulation_options(optimizer, rs), std::vector<torch::Tensor>{theta});
  RegretResult res;
  res.options = optim::resolved_options(optimizer.name, *opt);
  auto& group_options = opt->param_groups()[0].options();
  double* pt = theta.detach().data_ptr<double>();
  double* pg = g.data_ptr<double>();
  std::vector<char> want(size_t(spec.T + 1), 0);
  for (auto c : spec.checkpoints) want[size_t(c)] = 1;
  double regret = 0;  // min_θ Σ f_t = 0 at θ = target
  for (int64_t t = 1; t <= spec.T; ++t) {
    const double d = *pt - spec.target;
    regret += 0.5 * d * d;  // f_t(θ_t), MIAdam Eq. (16)
    if (want[size_t(t)]) {
      res.t.push_back(t);
      res.regret_over_t.push_back(regret / double(t));
    }
    if (!std::isfinite(regret))  // θ left the finite numbers: an outcome (exit 1), not inf rows with exit 0
      throw common::DivergedError("step " + std::to_string(t) + ": theta = " + common::format_double(*pt) +
                                  ", regret non-finite (lower alpha0)");
    *pg = d;
    group_options.set_lr(spec.alpha0 / std::pow(double(t), spec.power));  // α_t = α/t^h (Theorem 2)
    opt->step();
  }
  return res;
}

}  // namespace flatmin::simulations
