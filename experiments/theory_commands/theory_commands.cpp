#include "experiments/theory_commands/theory_commands.h"

#include <cmath>
#include <iostream>

#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/format.h"
#include "common/json_io.h"
#include "common/limits.h"
#include "common/manifest.h"
#include "common/output_path.h"
#include "common/status.h"
#include "theory/regret.h"
#include "theory/runs.h"
#include "theory/sweep.h"
#include "theory/validation.h"

namespace flatmin::experiments {

namespace {

nlohmann::json read_config(const std::filesystem::path& p) {
  auto cfg = common::read_json_file(p);
  common::require_finite_json(cfg, p.string());
  FLATMIN_CHECK(cfg.is_object(), p.string() << ": the config must be a JSON object");
  return cfg;
}

/// Applies --threads to every config that has a "threads" key semantics (escape, regret). The config's own
/// value is checked even where --threads replaces it: a bad value is refused, never silently dropped.
void set_threads(nlohmann::json& cfg, int threads) {
  if (threads <= 0) return;
  if (cfg.contains("threads")) {
    const auto& t = cfg["threads"];
    FLATMIN_CHECK(t.is_number_integer() && t.get<std::int64_t>() >= 0 && t.get<std::int64_t>() <= common::limits::kThreads,
                  "config: threads = " << t.dump() << " must be an integer in [0, " << common::limits::kThreads << "]");
  }
  cfg["threads"] = threads;
}

/// Every command's manifest is made first: the output folder is checked here, before any work (issue 15).
common::Manifest manifest(const std::string& cmd, const TheoryArgs& a) {
  common::check_output_dir(a.out.string(), "--out");
  common::Manifest m(cmd, a.argv);
  m.set_field("threads_requested", a.threads);
  return m;
}

/// Runs `body`; a DivergedError (a path left the finite numbers) is an outcome of the run: the manifest gets
/// status "diverged", that message and the config as given, is written to <out>/manifest.json (nothing else is),
/// and the error goes on to run_main (one line "diverged: …", exit 1).
template <class Body>
auto with_outcome(common::Manifest& m, const TheoryArgs& a, const nlohmann::json& cfg, Body&& body) {
  if (!cfg.is_null()) m.set_config(cfg);  // the config as given; replaced by the resolved one on success
  return common::record_divergence(m, a.out / "manifest.json", std::forward<Body>(body));
}

}  // namespace

int run_escape_time_cmd(const TheoryArgs& a) {
  auto m = manifest("escape-time", a);
  auto cfg = read_config(a.config);
  set_threads(cfg, a.threads);
  const auto summary = with_outcome(m, a, cfg, [&] { return theory::escape_time_summary(cfg, true); });
  const auto& r = summary.result;
  m.set_config(summary.config());
  m.set_seed("mc", summary.run.seed);
  {
    common::AtomicFile f(a.out / "survival.csv");
    common::CsvWriter csv(f.stream(), {"t", "S"});
    for (std::size_t i = 0; i < r.survival_t.size(); ++i) csv.row({r.survival_t[i], r.survival_s[i]});
    f.commit();
  }
  common::write_json_atomic(a.out / "summary.json", summary.to_json());
  m.finish();
  m.write(a.out / "manifest.json");
  std::cout << "mean escape time " << r.mean << " +- " << r.stderr_ << " (" << summary.run.paths << " paths)";
  if (summary.exact) std::cout << ", exact " << summary.exact->time;
  if (std::isfinite(summary.prediction.tau)) std::cout << ", " << summary.prediction.formula << " " << summary.prediction.tau;
  std::cout << "\n";
  return 0;
}

int run_flow_cmd(const TheoryArgs& a) {
  auto m = manifest("flow", a);
  const auto cfg = read_config(a.config);
  theory::FlowTrajectory traj;
  const auto summary = with_outcome(m, a, cfg, [&] { return theory::flow_run(cfg, traj); });
  m.set_config(summary.config());
  const double lr = summary.options.lr;
  const std::size_t d = static_cast<std::size_t>(traj.theta.front().size());
  {
    std::vector<std::string> cols{"t", "step"};
    for (std::size_t i = 0; i < d; ++i) cols.push_back("theta_" + std::to_string(i));
    common::AtomicFile f(a.out / "trajectory.csv");
    common::CsvWriter csv(f.stream(), cols);
    for (std::size_t k = 0; k < traj.t.size(); ++k) {
      std::vector<double> row{traj.t[k], traj.t[k] / lr};
      for (std::size_t i = 0; i < d; ++i) row.push_back(traj.theta[k][static_cast<Eigen::Index>(i)]);
      csv.row(row);
    }
    f.commit();
  }
  common::write_json_atomic(a.out / "summary.json", summary.to_json());
  m.finish();
  m.write(a.out / "manifest.json");
  std::cout << "flow " << summary.options.dynamics << ": " << traj.t.size() << " samples, final value " << summary.final_value
            << ", |grad| " << summary.final_grad_norm << "\n";
  return 0;
}

int run_sweep_cmd(const TheoryArgs& a) {
  auto m = manifest("sweep", a);
  auto cfg = read_config(a.config);
  if (a.threads > 0) {
    if (!cfg.contains("defaults")) cfg["defaults"] = nlohmann::json::object();
    cfg["defaults"]["threads"] = a.threads;
  }
  const auto studies = with_outcome(m, a, cfg, [&] { return theory::run_sweeps(cfg, true); });
  m.set_config(cfg);
  nlohmann::json summary = {{"studies", nlohmann::json::array()}};
  for (const auto& s : studies) summary["studies"].push_back(theory::to_json(s));
  theory::write_sweep_csvs(studies, a.out);
  common::write_json_atomic(a.out / "summary.json", summary);
  m.finish();
  m.write(a.out / "manifest.json");
  for (const auto& s : studies)
    std::cout << s.name << ": fitted slope " << s.fitted << " +- " << s.fitted_se << ", predicted " << s.predicted_full_slope
              << " (exponent " << s.predicted_slope << ", exact " << s.exact_slope << ") " << (s.holds ? "holds" : "FAILS") << "\n";
  return 0;
}

int run_regret_cmd(const TheoryArgs& a) {
  auto m = manifest("regret", a);
  auto cfg = read_config(a.config);
  set_threads(cfg, a.threads);
  const auto rc = theory::parse_regret_config(cfg);
  const auto curves = with_outcome(m, a, theory::to_json(rc), [&] { return theory::run_regret(rc); });
  m.set_config(theory::to_json(rc));
  m.set_seed("regret", rc.seed);
  theory::write_regret_csv(curves, a.out / "regret.csv");
  nlohmann::json summary = {{"config", theory::to_json(rc)}, {"curves", nlohmann::json::array()}};
  for (const auto& c : curves)
    summary["curves"].push_back({{"optimizer", c.opt.label()}, {"t", c.t}, {"R_over_T", c.mean}, {"lo95", c.lo}, {"hi95", c.hi}});
  common::write_json_atomic(a.out / "summary.json", summary);
  m.finish();
  m.write(a.out / "manifest.json");
  for (const auto& c : curves) std::cout << c.opt.label() << ": R(T)/T = " << c.mean.back() << " at T = " << c.t.back() << "\n";
  return 0;
}

int run_validate_cmd(const TheoryArgs& a) {
  auto m = manifest("validate", a);
  auto cfg = read_config(a.config);
  if (a.threads > 0) {
    if (!cfg.contains("defaults")) cfg["defaults"] = nlohmann::json::object();
    cfg["defaults"]["threads"] = a.threads;
    if (cfg.contains("regret")) cfg["regret"]["threads"] = a.threads;
  }
  theory::ValidationDetails details;
  const auto rows = with_outcome(m, a, cfg, [&] { return theory::run_validation(cfg, a.profile, true, &details); });
  m.set_config(theory::resolve_validation_profile(cfg, a.profile));
  m.set_field("profile", a.profile);
  std::size_t fails = 0;
  for (const auto& r : rows) fails += r.holds ? 0 : 1;
  theory::write_validation_outputs(rows, details, a.out, a.profile);
  m.finish();
  m.write(a.out / "manifest.json");
  std::cout << theory::format_table(rows) << rows.size() - fails << " of " << rows.size() << " claims hold\n";
  return 0;
}

}  // namespace flatmin::experiments
