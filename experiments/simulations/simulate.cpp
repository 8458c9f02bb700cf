#include "experiments/simulations/simulate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "common/config.h"
#include "common/error.h"
#include "common/format.h"
#include "common/status.h"
#include "common/json_io.h"
#include "common/limits.h"
#include "common/nearest.h"
#include "common/progress.h"
#include "experiments/simulations/escape.h"
#include "experiments/simulations/landscapes.h"
#include "experiments/simulations/study.h"
#include "experiments/simulations/trajectories.h"

namespace flatmin::simulations {

namespace {

using nlohmann::json;

std::string num(double v) { return common::format_double(v); }
std::string num(int64_t v) { return std::to_string(v); }

/// The strict config reader (common/config.h): typed getters, resolved values for the manifest, and
/// finish() rejects keys that were never read, naming the nearest known one.
using Reader = common::ConfigReader;

void check_positive(const Reader& r, const std::string& key, double v) {
  FLATMIN_CHECK(std::isfinite(v) && v > 0, r.where() << ": " << key << " = " << v << " must be > 0");
}

struct NamedOptimizer {
  std::string label;
  OptimizerSpec spec;
};

std::vector<NamedOptimizer> read_optimizers(Reader& r, const json& def) {
  const json list = r.raw("optimizers", def);
  FLATMIN_CHECK(list.is_array() && !list.empty(), r.where() << ": 'optimizers' must be a non-empty array");
  std::vector<NamedOptimizer> out;
  json resolved = json::array();
  std::set<std::string> labels;
  for (size_t i = 0; i < list.size(); ++i) {
    Reader o(list[i], r.where() + ": optimizers[" + std::to_string(i) + "]");
    NamedOptimizer n;
    n.spec.name = o.string("name", "");
    FLATMIN_CHECK(!n.spec.name.empty(), o.where() << ": 'name' (a registry name) is required");
    n.label = o.string("label", n.spec.name);
    n.spec.options = o.raw("options", json::object());
    FLATMIN_CHECK(n.spec.options.is_object(), o.where() << ": 'options' must be an object");
    o.set("options", n.spec.options);
    FLATMIN_CHECK(labels.insert(n.label).second, r.where() << ": duplicate optimizer label '" << n.label
                                                           << "' (set 'label' to tell them apart)");
    resolved.push_back(o.finish());
    validate_optimizer(n.spec);
    out.push_back(std::move(n));
  }
  r.set("optimizers", resolved);
  return out;
}

json four_optimizers() {
  return json::array({{{"name", "adam"}}, {{"name", "miadam1"}}, {{"name", "miadam2"}}, {{"name", "miadam3"}}});
}

json minima_json(const std::vector<CriticalPoint>& pts) {
  json a = json::array();
  for (const auto& c : pts) {
    a.push_back({{"x", c.x}, {"y", c.y}, {"f", c.f}, {"eig", {c.eig[0], c.eig[1]}},
                 {"sum_abs_eig", std::abs(c.eig[0]) + std::abs(c.eig[1])}, {"type", c.type}});
  }
  return a;
}

Table critical_table(const std::vector<CriticalPoint>& pts) {
  Table t{"critical_points.csv", {"x", "y", "f", "eig1", "eig2", "sum_abs_eig", "type"}, {}};
  for (const auto& c : pts) {
    t.rows.push_back({num(c.x), num(c.y), num(c.f), num(c.eig[0]), num(c.eig[1]),
                      num(std::abs(c.eig[0]) + std::abs(c.eig[1])), c.type});
  }
  return t;
}

Table landscape_table(const Landscape& l, double lo, double hi, double step) {
  Table t{"landscape.csv", {"x", "y", "f"}, {}};
  const auto n = static_cast<int64_t>(std::floor((hi - lo) / step + 1e-9)) + 1;
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t i = 0; i < n; ++i) {
      const double x = lo + step * double(i), y = lo + step * double(j);
      t.rows.push_back({num(x), num(y), num(l.value(x, y))});
    }
  }
  return t;
}

std::unique_ptr<Landscape> read_landscape(Reader& r) {
  const json lj = r.raw("landscape", json{{"name", "yang"}});
  auto l = make_landscape(lj);
  r.set("landscape", l->describe());
  return l;
}

RunSpec read_run(Reader& r, const std::string& device, int64_t default_steps, int64_t default_tail) {
  RunSpec run;
  run.device = device;
  const std::string steps_bound = "in [1, " + common::format_count(common::limits::kSteps) + "]";
  run.steps = r.count("steps", default_steps);
  r.require(run.steps >= 1 && run.steps <= common::limits::kSteps, "steps", run.steps, steps_bound);
  run.steps_per_epoch = r.count("steps_per_epoch", 100);
  r.require(run.steps_per_epoch >= 1 && run.steps_per_epoch <= common::limits::kSteps, "steps_per_epoch", run.steps_per_epoch,
            steps_bound);
  run.noise_std = r.number("noise_std", 0.0);
  FLATMIN_CHECK(std::isfinite(run.noise_std) && run.noise_std >= 0, r.where() << ": noise_std must be >= 0");
  run.seed = static_cast<uint64_t>(r.integer("seed", 0));
  run.tail = r.count("tail", default_tail);
  FLATMIN_CHECK(run.tail >= 0 && run.tail <= run.steps, r.where() << ": tail = " << run.tail << " must be in [0, steps]");
  return run;
}

// ---- trajectories ----------------------------------------------------------------------------

SimOutput trajectories(const json& cfg, const std::string& device) {
  Reader r(cfg, "trajectories config");
  auto l = read_landscape(r);
  const json starts_j = r.raw("starts", json::array({{5.0, 5.0}}));
  FLATMIN_CHECK(starts_j.is_array() && !starts_j.empty(), r.where() << ": 'starts' must be a non-empty array of [x, y]");
  std::vector<double> x0, y0;
  for (const auto& s : starts_j) {
    FLATMIN_CHECK(s.is_array() && s.size() == 2 && s[0].is_number() && s[1].is_number(),
                  r.where() << ": each of 'starts' must be [x, y] (two numbers), not " << s.dump());
    x0.push_back(s[0].get<double>());
    y0.push_back(s[1].get<double>());
  }
  r.set("starts", starts_j);
  const auto lrs = r.numbers("lrs", {0.05, 0.1, 0.15});
  FLATMIN_CHECK(!lrs.empty(), r.where() << ": 'lrs' must not be empty");
  for (double lr : lrs) check_positive(r, "lrs", lr);
  const auto opts = read_optimizers(r, four_optimizers());
  RunSpec run = read_run(r, device, 3000, 100);
  run.record_every = r.count("record_every", 1);
  r.require(run.record_every >= 1 && run.record_every <= common::limits::kSteps, "record_every", run.record_every,
            "in [1, " + common::format_count(common::limits::kSteps) + "]");
  {  // every recorded iterate of every path is a row of paths.csv, held in memory first
    const double rows = (double(run.steps / run.record_every) + 2) * double(x0.size()) * double(lrs.size()) * double(opts.size());
    FLATMIN_CHECK(rows <= double(common::limits::kRecordedSteps),
                  r.where() << ": (steps / record_every + 2) x starts x lrs x optimizers = " << rows
                            << " recorded rows exceeds " << common::format_count(common::limits::kRecordedSteps)
                            << " (raise record_every)");
  }
  const double box_lo = r.number("box_lo", -6), box_hi = r.number("box_hi", 6);
  FLATMIN_CHECK(box_lo < box_hi, r.where() << ": need box_lo < box_hi");
  const double grid_step = r.number("landscape_grid_step", 0.1);
  check_positive(r, "landscape_grid_step", grid_step);
  const double radius = r.number("capture_radius", 0.25);
  check_positive(r, "capture_radius", radius);
  StudySpec cls_spec;
  cls_spec.flat_max = r.number("flat_max", 0);
  SimOutput out;
  out.resolved = r.finish();

  const auto crit = l->critical_points(box_lo, box_hi);
  const auto minima = landscape_minima(*l, box_lo, box_hi);
  const double flat_max = resolve_flat_max(cls_spec, minima);
  Table paths{"paths.csv", {"optimizer", "lr", "path", "step", "x", "y", "f"}, {}};
  json runs = json::array();
  common::Progress progress("simulate trajectories", int64_t(opts.size() * lrs.size()));
  int64_t done = 0;
  for (const auto& o : opts) {
    for (double lr : lrs) {
      OptimizerSpec spec = o.spec;
      spec.options["lr"] = lr;
      const auto res = run_2d(*l, spec, x0, y0, run);
      for (size_t p = 0; p < x0.size(); ++p) {  // a path that left the finite numbers: the run diverged (no inf rows)
        if (std::isfinite(res.x[p]) && std::isfinite(res.y[p])) continue;
        int64_t at = run.steps;
        for (size_t k = 0; k < res.record_steps.size(); ++k) {
          if (!std::isfinite(res.path_x[k][p]) || !std::isfinite(res.path_y[k][p])) {
            at = res.record_steps[k];
            break;
          }
        }
        throw common::DivergedError("simulate trajectories " + o.label + " lr " + common::format_double(lr) + ": path " +
                                    std::to_string(p) + " is non-finite " + (at < run.steps ? "at recorded step " : "by step ") +
                                    std::to_string(at) + " (lower the lr)");
      }
      for (size_t p = 0; p < x0.size(); ++p) {
        for (size_t k = 0; k < res.record_steps.size(); ++k) {
          const double x = res.path_x[k][p], y = res.path_y[k][p];
          paths.rows.push_back({o.label, num(lr), num(int64_t(p)), num(res.record_steps[k]), num(x), num(y),
                                num(l->value(x, y))});
        }
        const double ex = run.tail > 0 ? res.tail_x[p] : res.x[p], ey = run.tail > 0 ? res.tail_y[p] : res.y[p];
        int mi = -1;
        const auto c = classify_end_point(*l, minima, ex, ey, radius, flat_max, mi);
        json row = {{"optimizer", o.label}, {"lr", lr}, {"path", p}, {"start", {x0[p], y0[p]}},
                    {"last", {res.x[p], res.y[p]}}, {"last_f", l->value(res.x[p], res.y[p])},
                    {"end", {ex, ey}}, {"end_sum_abs_eig", l->hessian(ex, ey).sum_abs_eigenvalues()},
                    {"ends_in", end_class_name(c)}, {"options", res.resolved_options}};
        row["tail_rms"] = run.tail > 0 ? json(res.tail_rms[p]) : json(nullptr);
        row["minimum"] = mi >= 0 ? json{minima[size_t(mi)].x, minima[size_t(mi)].y} : json(nullptr);
        runs.push_back(row);
      }
      progress.update(++done);
    }
  }
  progress.finish();
  out.summary = {{"kind", "trajectories"}, {"landscape", l->describe()}, {"end_point", run.tail > 0 ? "mean of the last tail iterates" : "last iterate"},
                 {"flat_max", flat_max}, {"runs", runs}, {"critical_points", minima_json(crit)}};
  out.tables.push_back(std::move(paths));
  out.tables.push_back(critical_table(crit));
  out.tables.push_back(landscape_table(*l, box_lo, box_hi, grid_step));
  return out;
}

// ---- study -----------------------------------------------------------------------------------

SimOutput study(const json& cfg, const std::string& device) {
  Reader r(cfg, "study config");
  auto l = read_landscape(r);
  StudySpec spec;
  spec.lo = r.number("lo", -6);
  spec.hi = r.number("hi", 6);
  FLATMIN_CHECK(spec.lo < spec.hi, r.where() << ": need lo < hi");
  spec.n = r.count("n", 50);
  FLATMIN_CHECK(spec.n >= 1 && spec.n <= 2000, r.where() << ": n = " << spec.n << " must be in [1, 2000]");
  const json lr_j = r.raw("lr", nullptr);
  FLATMIN_CHECK(lr_j.is_null() || (lr_j.is_number() && lr_j.get<double>() > 0), r.where() << ": 'lr' must be a positive number");
  r.set("lr", lr_j);
  const auto opts = read_optimizers(r, four_optimizers());
  spec.run = read_run(r, device, 3000, 0);
  spec.capture_radius = r.number("capture_radius", 0.25);
  check_positive(r, "capture_radius", spec.capture_radius);
  spec.flat_max = r.number("flat_max", 0);
  FLATMIN_CHECK(spec.flat_max >= 0, r.where() << ": flat_max must be >= 0 (0 = auto)");
  const int64_t bins = r.count("hist_bins", 40);
  FLATMIN_CHECK(bins >= 1 && bins <= 10000, r.where() << ": hist_bins must be in [1, 10000]");
  SimOutput out;
  out.resolved = r.finish();

  const auto minima = landscape_minima(*l, spec.lo, spec.hi);
  const double flat_max = resolve_flat_max(spec, minima);
  std::vector<StudyResult> results;
  std::vector<std::string> labels;
  common::Progress progress("simulate study", int64_t(opts.size()));
  for (const auto& o : opts) {
    OptimizerSpec s = o.spec;
    if (!lr_j.is_null()) s.options["lr"] = lr_j;
    results.push_back(run_study(*l, s, spec, minima));
    labels.push_back(o.label);
    progress.update(int64_t(results.size()));
  }
  progress.finish();
  Table ends{"endpoints.csv", {"optimizer", "x0", "y0", "x", "y", "sum_abs_eig", "class", "minimum"}, {}};
  double mlo = std::numeric_limits<double>::infinity(), mhi = 0;
  for (const auto& res : results) {
    for (double m : res.metric) {
      if (std::isfinite(m) && m > 0) {
        mlo = std::min(mlo, m);
        mhi = std::max(mhi, m);
      }
    }
  }
  if (!std::isfinite(mlo)) mlo = mhi = 1;
  if (mhi <= mlo) mhi = mlo * 1.001;
  const double llo = std::log10(mlo), lhi = std::log10(mhi) + 1e-12;
  Table hist{"histogram.csv", {"optimizer", "bin_lo", "bin_hi", "count"}, {}};
  json per = json::array();
  const StudyResult* adam = nullptr;
  for (size_t k = 0; k < results.size(); ++k) {
    if (results[k].optimizer == "adam" && adam == nullptr) adam = &results[k];
  }
  for (size_t k = 0; k < results.size(); ++k) {
    const auto& res = results[k];
    std::vector<int64_t> counts(size_t(bins), 0);
    for (size_t i = 0; i < res.x.size(); ++i) {
      ends.rows.push_back({labels[k], num(res.x0[i]), num(res.y0[i]), num(res.x[i]), num(res.y[i]), num(res.metric[i]),
                           end_class_name(res.cls[i]), num(int64_t(res.minimum[i]))});
      const double m = res.metric[i];
      if (std::isfinite(m) && m > 0) {
        auto b = static_cast<int64_t>((std::log10(m) - llo) / (lhi - llo) * double(bins));
        counts[size_t(std::clamp<int64_t>(b, 0, bins - 1))]++;
      }
    }
    for (int64_t b = 0; b < bins; ++b) {
      hist.rows.push_back({labels[k], num(std::pow(10.0, llo + (lhi - llo) * double(b) / double(bins))),
                           num(std::pow(10.0, llo + (lhi - llo) * double(b + 1) / double(bins))), num(counts[size_t(b)])});
    }
    json row = {{"optimizer", labels[k]}, {"name", res.optimizer}, {"options", res.options},
                {"mean_sum_abs_eig", res.mean}, {"stderr_sum_abs_eig", res.stderr_},
                {"frac_flat", res.frac_flat}, {"frac_sharp", res.frac_sharp}, {"frac_none", res.frac_none},
                {"frac_diverged", res.frac_diverged}, {"starts", res.x.size()}};
    if (adam != nullptr && &res != adam) {
      const double d = res.mean - adam->mean;
      const double se = std::sqrt(res.stderr_ * res.stderr_ + adam->stderr_ * adam->stderr_);
      row["minus_adam"] = d;
      row["minus_adam_stderr"] = se;
      row["flatter_than_adam"] = d < -3 * se;
    }
    per.push_back(row);
  }
  out.summary = {{"kind", "study"}, {"landscape", l->describe()}, {"grid", {{"lo", spec.lo}, {"hi", spec.hi}, {"n", spec.n}}},
                 {"end_point", spec.run.tail > 0 ? "mean of the last tail iterates" : "last iterate"},
                 {"flat_max", flat_max}, {"minima", minima_json(minima)}, {"optimizers", per}};
  out.tables.push_back(std::move(ends));
  out.tables.push_back(std::move(hist));
  out.tables.push_back(critical_table(l->critical_points(spec.lo, spec.hi)));
  return out;
}

// ---- escape ----------------------------------------------------------------------------------

SimOutput escape(const json& cfg, const std::string& device) {
  Reader r(cfg, "escape config");
  EscapeSpec spec;
  spec.device = device;
  {
    const json well_j = r.raw("well", json::object());
    Reader w(well_j, "escape config: well");
    spec.well.delta_L = w.number("delta_L", 1.0);
    spec.well.k = w.number("k", 1.0);
    spec.well.B = w.number("B", 0.1);
    spec.well.start = w.number("start", -1.0);
    spec.well.absorb = w.number("absorb", 0.5);
    r.set("well", w.finish());
  }
  namespace lim = common::limits;
  spec.paths = r.count("paths", 2000);
  r.require(spec.paths >= 2 && spec.paths <= lim::kPaths, "paths", spec.paths, "in [2, " + common::format_count(lim::kPaths) + "]");
  spec.max_steps = r.count("max_steps", 1000000);
  r.require(spec.max_steps >= 1 && spec.max_steps <= lim::kSteps, "max_steps", spec.max_steps,
            "in [1, " + common::format_count(lim::kSteps) + "]");
  spec.steps_per_epoch = r.count("steps_per_epoch", 100);
  r.require(spec.steps_per_epoch >= 1 && spec.steps_per_epoch <= lim::kSteps, "steps_per_epoch", spec.steps_per_epoch,
            "in [1, " + common::format_count(lim::kSteps) + "]");
  const auto noise = r.string("noise", "gaussian");
  FLATMIN_CHECK(noise == "gaussian" || noise == "rademacher", r.where() << ": noise must be gaussian or rademacher");
  spec.rademacher = noise == "rademacher";
  spec.seed = static_cast<uint64_t>(r.integer("seed", 0));
  const auto opts = read_optimizers(
      r, json::array({{{"name", "sgd"}, {"options", {{"lr", 0.01}}}},
                      {{"name", "adam"}, {"options", {{"lr", 0.01}}}},
                      {{"name", "miadam1"}, {"options", {{"lr", 0.01}}}}}));
  SimOutput out;
  out.resolved = r.finish();
  // validate every optimizer's options and the well before the (long) runs
  sgd_oracle_iterations(spec.well, 0.01);
  json per = json::array();
  Table t{"escape_times.csv", {"optimizer", "path", "steps"}, {}};
  for (const auto& o : opts) {
    const auto res = run_escape(o.spec, spec, "simulate escape " + o.label);
    for (size_t i = 0; i < res.steps.size(); ++i) t.rows.push_back({o.label, num(int64_t(i)), num(res.steps[i])});
    const double lr = res.options.at(0).at("lr").get<double>();
    json row = {{"optimizer", o.label}, {"name", o.spec.name}, {"options", res.options}, {"lr", lr},
                {"paths", spec.paths}, {"escaped", res.escaped}, {"censored", spec.paths - res.escaped},
                {"mean_steps", res.mean}, {"stderr_steps", res.stderr_}};
    const bool plain_sgd = o.spec.name == "sgd" && res.options.at(0).value("momentum", 0.0) == 0.0 &&
                           res.options.at(0).value("weight_decay", 0.0) == 0.0;
    if (plain_sgd) {
      const double oracle = sgd_oracle_iterations(spec.well, lr);
      row["oracle"] = "sgd SDE, D = lr*h/(2B) (theory.md §5)";
      row["oracle_steps"] = oracle;
      row["z"] = (res.mean - oracle) / res.stderr_;
      row["eta_H_a"] = lr * 8.0 * spec.well.delta_L * spec.well.k;
    } else if (o.spec.name == "adam") {
      const double oracle = adam_like_oracle_iterations(spec.well, lr);
      row["oracle"] = "Adam-like preconditioned SDE (theory.md §8(e)); approximate for discrete Adam";
      row["oracle_steps"] = oracle;
      row["z"] = (res.mean - oracle) / res.stderr_;
    }
    per.push_back(row);
  }
  out.summary = {{"kind", "escape"},
                 {"well", out.resolved["well"]},
                 {"noise", noise},
                 {"seed_note", "every optimizer uses the same seed (common random numbers)"},
                 {"optimizers", per}};
  out.tables.push_back(std::move(t));
  return out;
}

// ---- regret ----------------------------------------------------------------------------------

SimOutput regret(const json& cfg, const std::string&) {
  Reader r(cfg, "regret config");
  RegretSpec spec;
  spec.T = r.count("T", 100000);
  FLATMIN_CHECK(spec.T >= 1 && spec.T <= 100000000, r.where() << ": T = " << spec.T << " must be in [1, 1e8]");
  spec.alpha0 = r.number("alpha0", 0.1);
  check_positive(r, "alpha0", spec.alpha0);
  spec.power = r.number("power", 0.5);
  FLATMIN_CHECK(std::isfinite(spec.power) && spec.power >= 0, r.where() << ": power must be >= 0");
  spec.theta0 = r.number("theta0", 0.0);
  spec.target = r.number("target", 1.0);
  std::vector<double> def_cp;
  for (int64_t t = 10; t < spec.T; t *= 10) def_cp.push_back(double(t));
  def_cp.push_back(double(spec.T));
  const auto cps = r.numbers("checkpoints", def_cp);
  for (double c : cps) {
    FLATMIN_CHECK(c >= 1 && c <= double(spec.T) && c == std::floor(c), r.where() << ": checkpoints: " << c << " must be an integer in [1, T]");
    spec.checkpoints.push_back(int64_t(c));
  }
  const json base = {{"betas", {0.9, 0.999}}, {"eps", 1e-8}};
  json k1 = base, k98 = base;
  k1["kappa"] = 1.0;
  k98["kappa"] = 0.98;
  const auto opts = read_optimizers(r, json::array({{{"name", "adam"}, {"options", base}},
                                                    {{"name", "miadam1"}, {"label", "miadam1_kappa1"}, {"options", k1}},
                                                    {{"name", "miadam1"}, {"label", "miadam1_kappa0.98"}, {"options", k98}}}));
  SimOutput out;
  out.resolved = r.finish();
  Table t{"regret.csv", {"optimizer", "t", "regret_over_t"}, {}};
  json per = json::array();
  common::Progress progress("simulate regret", int64_t(opts.size()));
  for (const auto& o : opts) {
    RegretResult res;
    try {
      res = run_regret(o.spec, spec);
    } catch (const common::DivergedError& e) {
      throw common::DivergedError("simulate regret " + o.label + ": " + e.what());
    }
    json pts = json::array();
    for (size_t i = 0; i < res.t.size(); ++i) {
      t.rows.push_back({o.label, num(res.t[i]), num(res.regret_over_t[i])});
      pts.push_back({{"t", res.t[i]}, {"regret_over_t", res.regret_over_t[i]}});
    }
    per.push_back({{"optimizer", o.label}, {"name", o.spec.name}, {"options", res.options}, {"points", pts}});
    progress.update(int64_t(per.size()));
  }
  progress.finish();
  out.summary = {{"kind", "regret"}, {"problem", "f_t(theta) = (theta - target)^2 / 2, alpha_t = alpha0 / t^power"},
                 {"optimizers", per}};
  out.tables.push_back(std::move(t));
  return out;
}

}  // namespace

const std::vector<std::string>& simulation_kinds() {
  static const std::vector<std::string> k = {"trajectories", "study", "escape", "regret"};
  return k;
}

SimOutput run_simulation(const std::string& kind, const json& cfg, const std::string& device) {
  common::require_finite_json(cfg, kind + " config");
  if (kind == "trajectories") return trajectories(cfg, device);
  if (kind == "study") return study(cfg, device);
  if (kind == "escape") return escape(cfg, device);
  if (kind == "regret") return regret(cfg, device);
  throw common::InputError("simulate: " + common::unknown_name_message("kind", kind, simulation_kinds()));
  return {};
}

}  // namespace flatmin::simulations
