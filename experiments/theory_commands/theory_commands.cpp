#include "experiments/theory_commands/theory_commands.h"

#include <iostream>

#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/format.h"
#include "common/json_io.h"
#include "common/manifest.h"
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

/// Applies --threads to every config that has a "threads" key semantics (escape, regret).
void set_threads(nlohmann::json& cfg, int threads) {
  if (threads > 0) cfg["threads"] = threads;
}

common::Manifest manifest(const std::string& cmd, const TheoryArgs& a) {
  common::Manifest m(cmd, a.argv);
  m.set_field("threads_requested", a.threads);
  return m;
}

void write_sweep_csvs(const std::vector<theory::SweepStudy>& studies, const std::filesystem::path& dir) {
  for (const auto& s : studies) {
    common::AtomicFile f(dir / ("sweep_" + s.name + ".csv"));
    common::CsvWriter csv(f.stream(), {"x", "lr", "batch", "k", "mc_mean", "mc_stderr", "exact", "predicted", "log_mc",
                                       "log_exact", "log_predicted"});
    for (const auto& p : s.points)
      csv.row({p.x, p.lr, p.batch, p.k, p.mc_mean, p.mc_stderr, p.exact, p.predicted, std::log(p.mc_mean), std::log(p.exact),
               std::log(p.predicted)});
    f.commit();
  }
  common::AtomicFile f(dir / "slopes.csv");
  common::CsvWriter csv(f.stream(), {"name", "dynamics", "axis", "fitted_slope", "fitted_stderr", "exact_slope",
                                     "predicted_slope", "predicted_full_slope", "holds"});
  for (const auto& s : studies)
    csv.row_strings({s.name, s.dynamics, theory::to_string(s.axis), common::format_double(s.fitted),
                     common::format_double(s.fitted_se), common::format_double(s.exact_slope),
                     common::format_double(s.predicted_slope), common::format_double(s.predicted_full_slope),
                     s.holds ? "true" : "false"});
  f.commit();
}

void write_regret_csv(const std::vector<theory::RegretCurve>& curves, const std::filesystem::path& file) {
  common::AtomicFile f(file);
  common::CsvWriter csv(f.stream(), {"t", "optimizer", "kappa", "R_over_T", "lo95", "hi95"});
  for (const auto& c : curves)
    for (std::size_t i = 0; i < c.t.size(); ++i)
      csv.row_strings({std::to_string(c.t[i]), c.opt.name, c.opt.name == "adam" ? "" : common::format_double(c.opt.kappa),
                       common::format_double(c.mean[i]), common::format_double(c.lo[i]), common::format_double(c.hi[i])});
  f.commit();
}

}  // namespace

int run_escape_time_cmd(const TheoryArgs& a) {
  auto m = manifest("escape-time", a);
  auto cfg = read_config(a.config);
  set_threads(cfg, a.threads);
  const auto summary = theory::escape_time_summary(cfg, true);
  m.set_config(summary.at("config"));
  m.set_seed("mc", summary.at("config").at("seed").get<std::uint64_t>());
  {
    common::AtomicFile f(a.out / "survival.csv");
    common::CsvWriter csv(f.stream(), {"t", "S"});
    const auto& t = summary.at("survival").at("t");
    const auto& S = summary.at("survival").at("S");
    for (std::size_t i = 0; i < t.size(); ++i) csv.row({t[i].get<double>(), S[i].get<double>()});
    f.commit();
  }
  common::write_json_atomic(a.out / "summary.json", summary);
  m.finish();
  m.write(a.out / "manifest.json");
  std::cout << "mean escape time " << summary.at("mean_escape_time").get<double>() << " +- "
            << summary.at("stderr").get<double>() << " (" << summary.at("paths") << " paths)";
  if (!summary.at("exact").is_null()) std::cout << ", exact " << summary.at("exact").get<double>();
  if (!summary.at("predicted").is_null())
    std::cout << ", " << summary.at("predicted_formula").get<std::string>() << " " << summary.at("predicted").get<double>();
  std::cout << "\n";
  return 0;
}

int run_sweep_cmd(const TheoryArgs& a) {
  auto m = manifest("sweep", a);
  auto cfg = read_config(a.config);
  if (a.threads > 0) {
    if (!cfg.contains("defaults")) cfg["defaults"] = nlohmann::json::object();
    cfg["defaults"]["threads"] = a.threads;
  }
  const auto studies = theory::run_sweeps(cfg, true);
  m.set_config(cfg);
  nlohmann::json summary = {{"studies", nlohmann::json::array()}};
  for (const auto& s : studies) summary["studies"].push_back(theory::to_json(s));
  write_sweep_csvs(studies, a.out);
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
  const auto curves = theory::run_regret(rc);
  m.set_config(theory::to_json(rc));
  m.set_seed("regret", rc.seed);
  write_regret_csv(curves, a.out / "regret.csv");
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
  nlohmann::json details;
  const auto rows = theory::run_validation(cfg, a.profile, true, &details);
  m.set_config(theory::resolve_validation_profile(cfg, a.profile));
  m.set_field("profile", a.profile);
  std::size_t fails = 0;
  for (const auto& r : rows) fails += r.holds ? 0 : 1;
  {
    common::AtomicFile f(a.out / "validation.csv");
    common::CsvWriter csv(f.stream(), {"section", "claim", "predicted", "measured", "measured_stderr", "verdict", "note"});
    for (const auto& r : rows)
      csv.row_strings({r.section, r.claim, common::format_double(r.predicted), common::format_double(r.measured),
                       common::format_double(r.measured_se), r.holds ? "holds" : "fails", r.note});
    f.commit();
  }
  common::write_json_atomic(a.out / "validation.json",
                            {{"profile", a.profile}, {"rows", theory::to_json(rows)}, {"details", details},
                             {"holds", rows.size() - fails}, {"fails", fails}});
  if (details.contains("regret")) {
    common::AtomicFile f(a.out / "regret.csv");
    common::CsvWriter csv(f.stream(), {"t", "optimizer", "R_over_T", "lo95", "hi95"});
    for (const auto& c : details.at("regret"))
      for (std::size_t i = 0; i < c.at("t").size(); ++i)
        csv.row_strings({std::to_string(c.at("t")[i].get<std::int64_t>()), c.at("optimizer").get<std::string>(),
                         common::format_double(c.at("mean")[i].get<double>()), common::format_double(c.at("lo")[i].get<double>()),
                         common::format_double(c.at("hi")[i].get<double>())});
    f.commit();
  }
  m.finish();
  m.write(a.out / "manifest.json");
  std::cout << theory::format_table(rows) << rows.size() - fails << " of " << rows.size() << " claims hold\n";
  return 0;
}

}  // namespace flatmin::experiments
