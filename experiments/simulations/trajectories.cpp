#include "experiments/simulations/trajectories.h"

#include <algorithm>
#include <cmath>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/optimizer_base.h"
#include "optim/registry.h"

namespace flatmin::simulations {

nlohmann::json simulation_options(const OptimizerSpec& spec, const RunSpec& run) {
  nlohmann::json o = spec.options.is_null() ? nlohmann::json::object() : spec.options;
  FLATMIN_CHECK(o.is_object(), spec.name << ": options must be an object");
  const bool mi = spec.name.rfind("miadam", 0) == 0;
  if (mi && !o.contains("switch_epoch") && !o.contains("switch_step")) {
    o["switch_epoch"] = run.steps / run.steps_per_epoch + 2;  // past the last epoch: no switch
  }
  return o;
}

void validate_optimizer(const OptimizerSpec& spec) {
  auto p = torch::zeros({1}, torch::kFloat64).set_requires_grad(true);
  RunSpec run;
  optim::make_optimizer(spec.name, simulation_options(spec, run), std::vector<torch::Tensor>{p});
}

RunResult run_2d(const Landscape& landscape, const OptimizerSpec& optimizer, const std::vector<double>& x0,
                 const std::vector<double>& y0, const RunSpec& run) {
  FLATMIN_CHECK(x0.size() == y0.size() && !x0.empty(), "run_2d: need equally many (>0) x and y start values");
  FLATMIN_CHECK(run.steps > 0, "steps = " << run.steps << " must be > 0");
  FLATMIN_CHECK(run.steps_per_epoch > 0, "steps_per_epoch = " << run.steps_per_epoch << " must be > 0");
  FLATMIN_CHECK(std::isfinite(run.noise_std) && run.noise_std >= 0, "noise_std = " << run.noise_std << " must be >= 0");
  FLATMIN_CHECK(run.tail >= 0 && run.tail <= run.steps, "tail = " << run.tail << " must be in [0, steps]");
  FLATMIN_CHECK(run.record_every >= 0, "record_every must be >= 0");
  const auto n = static_cast<int64_t>(x0.size());
  const torch::Device device(run.device);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  auto x = torch::from_blob(const_cast<double*>(x0.data()), {n}, f64).clone().to(device).set_requires_grad(true);
  auto y = torch::from_blob(const_cast<double*>(y0.data()), {n}, f64).clone().to(device).set_requires_grad(true);
  const bool cpu = device.is_cpu();
  auto gx = torch::zeros({n}, f64), gy = torch::zeros({n}, f64);  // CPU staging of the gradient
  x.mutable_grad() = cpu ? gx : gx.to(device);
  y.mutable_grad() = cpu ? gy : gy.to(device);
  const auto options = simulation_options(optimizer, run);
  auto opt = optim::make_optimizer(optimizer.name, options, std::vector<torch::Tensor>{x, y});

  RunResult res;
  res.resolved_options = optim::resolved_options(optimizer.name, *opt);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(run.seed);
  torch::Tensor nx, ny;
  std::vector<double> sx, sy, sq;
  if (run.tail > 0) {
    sx.assign(size_t(n), 0.0);
    sy.assign(size_t(n), 0.0);
    sq.assign(size_t(n), 0.0);
  }
  auto host = [&](const torch::Tensor& t) { return cpu ? t.detach() : t.detach().cpu(); };
  auto record = [&](int64_t step, const torch::Tensor& hx, const torch::Tensor& hy) {
    res.record_steps.push_back(step);
    const double* px = hx.data_ptr<double>();
    const double* py = hy.data_ptr<double>();
    res.path_x.emplace_back(px, px + n);
    res.path_y.emplace_back(py, py + n);
  };
  if (run.record_every > 0) record(0, host(x), host(y));
  for (int64_t t = 0; t < run.steps; ++t) {
    optim::set_epoch(*opt, 1 + t / run.steps_per_epoch);
    const auto hx = host(x), hy = host(y);
    const double* px = hx.data_ptr<double>();
    const double* py = hy.data_ptr<double>();
    double* pgx = gx.data_ptr<double>();
    double* pgy = gy.data_ptr<double>();
    for (int64_t i = 0; i < n; ++i) landscape.gradient(px[i], py[i], pgx[i], pgy[i]);
    if (run.noise_std > 0) {
      nx = at::normal(0.0, run.noise_std, {n}, gen, f64);
      ny = at::normal(0.0, run.noise_std, {n}, gen, f64);
      gx.add_(nx);
      gy.add_(ny);
    }
    if (!cpu) {
      x.mutable_grad().copy_(gx);
      y.mutable_grad().copy_(gy);
    }
    opt->step();
    const bool want_tail = run.tail > 0 && t >= run.steps - run.tail;
    const bool want_record = run.record_every > 0 && ((t + 1) % run.record_every == 0 || t + 1 == run.steps);
    if (want_tail || want_record) {
      const auto ax = host(x), ay = host(y);
      if (want_tail) {
        const double* qx = ax.data_ptr<double>();
        const double* qy = ay.data_ptr<double>();
        for (int64_t i = 0; i < n; ++i) {
          sx[size_t(i)] += qx[i];
          sy[size_t(i)] += qy[i];
          sq[size_t(i)] += qx[i] * qx[i] + qy[i] * qy[i];
        }
      }
      if (want_record) record(t + 1, ax, ay);
    }
  }
  const auto fx = host(x), fy = host(y);
  res.x.assign(fx.data_ptr<double>(), fx.data_ptr<double>() + n);
  res.y.assign(fy.data_ptr<double>(), fy.data_ptr<double>() + n);
  if (run.tail > 0) {
    res.tail_x.resize(size_t(n));
    res.tail_y.resize(size_t(n));
    res.tail_rms.resize(size_t(n));
    for (size_t i = 0; i < size_t(n); ++i) {
      res.tail_x[i] = sx[i] / double(run.tail);
      res.tail_y[i] = sy[i] / double(run.tail);
      const double ms = sq[i] / double(run.tail) - res.tail_x[i] * res.tail_x[i] - res.tail_y[i] * res.tail_y[i];
      res.tail_rms[i] = std::sqrt(std::max(0.0, ms));
    }
  }
  return res;
}

}  // namespace flatmin::simulations
