// Reproduce target adam_cm_toy: seed 003's (Adam+CM, arXiv 2307.09638) claims in simple settings, with the real
// registry optimizers `adam`, `adam_cg` and `adam_cm`:
//  * exploration on the Ackley and Goldstein–Price functions: from a grid of starts, Adam+CM ends lower (final f)
//    and more often at the global minimum than Adam and than Adam+CG;
//  * flatter minima as the buffer size C grows: Σ|eig ∇²f| at the end points vs C, Adam+CM vs Adam+CG, on the
//    multi-well landscape (flat and sharp minima; docs/simulations.md).
// Adam+CM/CG are not element-wise (one buffer priority per step over the whole parameter), so every start is its own
// optimizer over one 2-vector θ = (x, y) — never the vectorised one-element-per-path runs of experiments/simulations.
// The paper's exploration comparison is with momentum extragradient (MEG), which flatmin does not implement.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/progress.h"
#include "experiments/commands/reproduce_target.h"
#include "experiments/simulations/landscapes.h"
#include "optim/registry.h"

namespace flatmin::experiments {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct PathEnd {
  double x0, y0, x, y, f, sum_abs_eig;
  bool finite;
};

/// One optimizer from (x0, y0) for `steps` steps on the landscape's exact gradient; `record` (if given) receives
/// the iterate every `every` steps (and the start).
PathEnd run_path(const simulations::Landscape& l, const std::string& name, const json& options, double x0, double y0,
                 int64_t steps, std::vector<std::array<double, 2>>* record, int64_t every) {
  auto theta = torch::tensor({x0, y0}, torch::kFloat64).set_requires_grad(true);
  theta.mutable_grad() = torch::zeros({2}, torch::kFloat64);
  auto opt = optim::make_optimizer(name, options, {theta});
  double* th = theta.data_ptr<double>();
  double* g = theta.mutable_grad().data_ptr<double>();
  if (record) record->push_back({x0, y0});
  PathEnd e{x0, y0, x0, y0, 0, 0, true};
  for (int64_t s = 1; s <= steps; ++s) {
    l.gradient(th[0], th[1], g[0], g[1]);
    opt->step();
    if (!std::isfinite(th[0]) || !std::isfinite(th[1])) {
      e.finite = false;
      break;
    }
    if (record && s % every == 0) record->push_back({th[0], th[1]});
  }
  e.x = th[0];
  e.y = th[1];
  e.f = e.finite ? l.value(e.x, e.y) : std::nan("");
  e.sum_abs_eig = e.finite ? l.hessian(e.x, e.y).sum_abs_eigenvalues() : std::nan("");
  return e;
}

std::vector<std::array<double, 2>> grid(double lo, double hi, int64_t n) {
  std::vector<std::array<double, 2>> pts;
  for (int64_t j = 0; j < n; ++j) {  // cell centres: no start on the box edge or exactly on a symmetry axis
    for (int64_t i = 0; i < n; ++i)
      pts.push_back({lo + (hi - lo) * (double(i) + 0.5) / double(n), lo + (hi - lo) * (double(j) + 0.5) / double(n)});
  }
  return pts;
}

/// Paired comparison over the same starts: mean of (a − b) and its standard error (paths where both are finite).
struct Paired {
  double mean_a = 0, mean_b = 0, diff = 0, se = 0;
  int64_t n = 0;
};
Paired paired(const std::vector<double>& a, const std::vector<double>& b) {
  Paired p;
  std::vector<double> d;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) continue;
    d.push_back(a[i] - b[i]);
    p.mean_a += a[i];
    p.mean_b += b[i];
  }
  p.n = int64_t(d.size());
  if (p.n == 0) return p;
  p.mean_a /= double(p.n);
  p.mean_b /= double(p.n);
  for (double v : d) p.diff += v;
  p.diff /= double(p.n);
  double ss = 0;
  for (double v : d) ss += (v - p.diff) * (v - p.diff);
  p.se = p.n > 1 ? std::sqrt(ss / double(p.n - 1) / double(p.n)) : std::nan("");
  return p;
}

/// "a is lower than b by more than z SE (paired)" as a report row: reference = b's mean, ours = a's mean.
ReportRow lower_row(const std::string& T, const std::string& q, const std::vector<double>& a, const std::vector<double>& b,
                    double z, const std::string& what) {
  const Paired p = paired(a, b);
  const bool holds = p.n >= 2 && p.diff < -z * p.se;
  return {T, q, p.mean_b, p.mean_a, holds,
          what + ": paired difference " + fmtg(p.diff) + " ± " + fmtg(p.se) + " (1 SE, " + std::to_string(p.n) +
              " starts); holds iff lower by > " + fmtg(z) + " SE"};
}

std::vector<ReportRow> adam_cm_toy(const json& cfg, const fs::path& dir, json& summary, const TargetContext&) {
  const std::string T = "adam_cm_toy";
  const double z = cfg.at("z");
  // Two-element parameters: intra-op threads only add overhead.
  struct OneThread {
    int before = at::get_num_threads();
    OneThread() { at::set_num_threads(1); }
    ~OneThread() { at::set_num_threads(before); }
  } one_thread;
  std::vector<ReportRow> rows;
  common::AtomicFile ends_file(dir / "endpoints.csv");
  common::CsvWriter ends(ends_file.stream(), {"study", "landscape", "optimizer", "C", "x0", "y0", "x", "y", "f", "sum_abs_eig", "global"});
  common::AtomicFile paths_file(dir / "paths.csv");
  common::CsvWriter paths(paths_file.stream(), {"landscape", "optimizer", "step", "x", "y"});

  // ---- exploration on Ackley and Goldstein–Price ----
  const json& ex = cfg.at("exploration");
  const int64_t steps = ex.at("steps"), every = ex.value("record_every", int64_t(10));
  const auto& opts = ex.at("optimizers");
  int64_t total = 0;
  // exploration.grid (a profile's override) replaces every landscape's grid
  auto grid_of = [&](const json& L) { return ex.contains("grid") ? ex.at("grid").get<int64_t>() : L.at("grid").get<int64_t>(); };
  for (const auto& L : ex.at("landscapes")) total += grid_of(L) * grid_of(L) * int64_t(opts.size());
  common::Progress progress(T + " exploration", total);
  int64_t done = 0;
  summary["exploration"] = json::array();
  for (const auto& L : ex.at("landscapes")) {
    const auto land = simulations::make_landscape(L.at("landscape"));
    const auto box = L.at("box").get<std::vector<double>>();
    const auto gmin = L.at("global_minimum").get<std::vector<double>>();
    const double radius = L.at("radius"), lr = L.at("lr");
    FLATMIN_CHECK(box.size() == 2 && box[0] < box[1] && gmin.size() == 2 && radius > 0, T << ": bad exploration landscape entry");
    const auto starts = grid(box[0], box[1], grid_of(L));
    const size_t show = std::min(L.value("show_start", size_t(0)), starts.size() - 1);
    std::map<std::string, std::vector<double>> fin, glob;
    json per = json::array();
    for (const auto& o : opts) {
      const std::string label = o.at("label"), name = o.at("name");
      json options = o.value("options", json::object());
      options["lr"] = lr;
      std::vector<double>& f = fin[label];
      std::vector<double>& gl = glob[label];
      for (size_t i = 0; i < starts.size(); ++i) {
        std::vector<std::array<double, 2>> rec;
        const auto e = run_path(*land, name, options, starts[i][0], starts[i][1], steps, i == show ? &rec : nullptr, every);
        const bool at_global = e.finite && std::hypot(e.x - gmin[0], e.y - gmin[1]) <= radius;
        f.push_back(e.f);
        gl.push_back(e.finite ? double(at_global) : std::nan(""));
        ends.row_strings({"exploration", land->name(), label, fmtg(options.value("topC", 0.0)), fmtg(e.x0, 8), fmtg(e.y0, 8), fmtg(e.x, 10),
                          fmtg(e.y, 10), fmtg(e.f, 10), fmtg(e.sum_abs_eig, 10), at_global ? "1" : "0"});
        for (size_t k = 0; k < rec.size(); ++k)
          paths.row_strings({land->name(), label, std::to_string(k == 0 ? 0 : int64_t(k) * every), fmtg(rec[k][0], 10), fmtg(rec[k][1], 10)});
        progress.update(++done);
      }
      double mf = 0, mg = 0, n = 0;
      for (size_t i = 0; i < f.size(); ++i) {
        if (!std::isfinite(f[i])) continue;
        mf += f[i];
        mg += gl[i];
        ++n;
      }
      per.push_back({{"optimizer", label}, {"mean_final_f", mf / n}, {"fraction_global", mg / n}, {"finite", n},
                     {"starts", f.size()}, {"options", options}});
    }
    summary["exploration"].push_back({{"landscape", land->describe()}, {"lr", lr}, {"steps", steps}, {"optimizers", per}});
    const std::string cm = ex.at("method"), lname = land->name();
    const auto baselines = ex.at("baselines").get<std::vector<std::string>>();
    for (const std::string& other : baselines) {
      FLATMIN_CHECK(fin.count(cm) && fin.count(other), T << ": exploration needs optimizers labelled '" << cm << "' and '" << other << "'");
      rows.push_back(lower_row(T, lname + ": mean final f, " + cm + " (ref: " + other + "'s)", fin[cm], fin[other], z,
                               cm + " explores to lower minima than " + other));
      std::vector<double> miss_cm, miss_o;  // 1 − at_global: lower = more often at the global minimum
      for (double v : glob[cm]) miss_cm.push_back(1 - v);
      for (double v : glob[other]) miss_o.push_back(1 - v);
      auto r = lower_row(T, lname + ": fraction of starts ending at the global minimum, " + cm + " (ref: " + other + "'s)", miss_cm, miss_o,
                         z, cm + " ends at the global minimum more often than " + other + " (within " + fmtg(radius) + ")");
      r.reference = 1 - r.reference;
      r.ours = 1 - r.ours;
      rows.push_back(r);
    }
  }
  progress.finish();

  // ---- flatness vs the buffer size C ----
  const json& bu = cfg.at("buffer");
  const auto land = simulations::make_landscape(bu.at("landscape"));
  const auto box = bu.at("box").get<std::vector<double>>();
  const auto starts = grid(box[0], box[1], bu.at("grid").get<int64_t>());
  const auto Cs = bu.at("C").get<std::vector<int64_t>>();
  FLATMIN_CHECK(Cs.size() >= 2, T << ": buffer.C needs at least two sizes");
  const int64_t bsteps = bu.at("steps");
  std::map<std::string, std::map<int64_t, std::vector<double>>> eig, fval;
  common::AtomicFile sweep_file(dir / "buffer_sweep.csv");
  common::CsvWriter sweep(sweep_file.stream(), {"optimizer", "C", "mean_sum_abs_eig", "se_sum_abs_eig", "mean_f", "se_f", "finite"});
  const auto& bopts = bu.at("optimizers");
  common::Progress progress2(T + " buffer sweep", int64_t(starts.size() * Cs.size() * bopts.size()));
  done = 0;
  summary["buffer"] = json::array();
  for (const auto& o : bopts) {
    const std::string label = o.at("label"), name = o.at("name");
    for (const int64_t C : Cs) {
      json options = o.value("options", json::object());
      options["lr"] = bu.at("lr");
      options["topC"] = C;
      auto& E = eig[label][C];
      auto& F = fval[label][C];
      for (const auto& s : starts) {
        const auto e = run_path(*land, name, options, s[0], s[1], bsteps, nullptr, 1);
        E.push_back(e.sum_abs_eig);
        F.push_back(e.f);
        ends.row_strings({"buffer", land->name(), label, std::to_string(C), fmtg(e.x0, 8), fmtg(e.y0, 8), fmtg(e.x, 10), fmtg(e.y, 10),
                          fmtg(e.f, 10), fmtg(e.sum_abs_eig, 10), "0"});
        progress2.update(++done);
      }
      auto stats = [](const std::vector<double>& v, double& m, double& se) {
        double s = 0, ss = 0, n = 0;
        for (double x : v) {
          if (!std::isfinite(x)) continue;
          s += x;
          ++n;
        }
        m = s / n;
        for (double x : v) {
          if (std::isfinite(x)) ss += (x - m) * (x - m);
        }
        se = n > 1 ? std::sqrt(ss / (n - 1) / n) : std::nan("");
        return n;
      };
      double me, see, mf, sef;
      const double n = stats(E, me, see);
      stats(F, mf, sef);
      sweep.row_strings({label, std::to_string(C), fmtg(me, 10), fmtg(see, 10), fmtg(mf, 10), fmtg(sef, 10), fmtg(n)});
      summary["buffer"].push_back({{"optimizer", label}, {"C", C}, {"mean_sum_abs_eig", me}, {"se_sum_abs_eig", see},
                                   {"mean_f", mf}, {"se_f", sef}, {"finite", n}, {"options", options}});
    }
  }
  progress2.finish();
  sweep_file.commit();
  const std::string cm = bu.at("method"), cg = bu.at("baseline");
  FLATMIN_CHECK(eig.count(cm) && eig.count(cg), T << ": buffer sweep needs optimizers labelled '" << cm << "' and '" << cg << "'");
  const int64_t c0 = Cs.front(), c1 = Cs.back();
  for (const int64_t C : Cs) {
    rows.push_back(lower_row(T, land->name() + ": mean sum abs(eig) at end points, C = " + std::to_string(C) + ", " + cm + " (ref: " + cg + "'s)",
                             eig[cm][C], eig[cg][C], z, cm + " ends flatter than " + cg));
  }
  rows.push_back(lower_row(T, land->name() + ": mean final f, C = " + std::to_string(c1) + ", " + cm + " (ref: " + cg + "'s)", fval[cm][c1],
                           fval[cg][c1], z, cm + " ends at lower loss than " + cg));
  for (const std::string& o : {cm, cg}) {
    rows.push_back(lower_row(T, land->name() + ": " + o + " mean sum abs(eig) at C = " + std::to_string(c1) + " (ref: at C = " + std::to_string(c0) + ")",
                             eig[o][c1], eig[o][c0], z, "flatter as the buffer grows"));
  }
  rows.push_back(lower_row(T, land->name() + ": " + cm + " at C = " + std::to_string(c0) + " vs " + cg + " at C = " + std::to_string(c1) +
                                  ", mean sum abs(eig) (ref: " + cg + "'s)",
                           eig[cm][c0], eig[cg][c1], z, cm + " needs a smaller buffer than " + cg));
  ends_file.commit();
  paths_file.commit();
  return rows;
}

}  // namespace

void add_adam_cm_targets(std::map<std::string, TargetRunner>& targets) { targets["adam_cm_toy"] = adam_cm_toy; }

}  // namespace flatmin::experiments
