// Reproduce targets of optim/: closed-form step ratios checked with the real optimizers.
#include <cmath>
#include <sstream>

#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/progress.h"
#include "experiments/commands/reproduce_target.h"
#include "optim/probes.h"

namespace flatmin::experiments {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

double sum(const std::vector<double>& x, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += x[i];
  return s;
}

std::vector<ReportRow> miadam_step_ratio(const json& cfg, const fs::path& dir, json& summary, const TargetContext&) {
  const auto& options = cfg.at("options");
  const double g = cfg.at("gradient").get<double>();
  const int64_t spe = cfg.at("steps_per_epoch").get<int64_t>();
  const int64_t switch_epoch = options.at("switch_epoch").get<int64_t>();
  const int64_t mi_steps = (switch_epoch - 1) * spe;  // epochs 1..ζ−1 (official: epoch < sub_epoch)
  const int64_t steps = mi_steps + cfg.at("epochs_after_switch").get<int64_t>() * spe;
  const int sig = cfg.at("sig_digits").get<int>();
  const auto& ref = cfg.at("reference");
  json adam_opts = {{"lr", options.at("lr")}, {"betas", options.at("betas")}, {"eps", options.at("eps")}};
  const auto adam = optim::constant_gradient_displacements("adam", adam_opts, g, steps, spe);

  std::vector<ReportRow> rows;
  common::AtomicFile file(dir / "table.csv");
  common::CsvWriter csv(file.stream(), {"order", "step", "miadam_displacement", "adam_displacement", "ratio"});
  common::Progress progress("miadam_step_ratio", 3);
  for (int n = 1; n <= 3; ++n) {
    const auto mi = optim::constant_gradient_displacements("miadam" + std::to_string(n), options, g, steps, spe);
    for (int64_t t = 0; t < steps; ++t) {
      csv.row({double(n), double(t + 1), mi[size_t(t)], adam[size_t(t)], mi[size_t(t)] / adam[size_t(t)]});
    }
    const std::string k = std::to_string(n);
    const double steady = mi[size_t(mi_steps - 1)] / adam[size_t(mi_steps - 1)];
    const double total = sum(mi, size_t(mi_steps)) / sum(adam, size_t(mi_steps));
    const double first_adam = mi[size_t(mi_steps)] / adam[size_t(mi_steps)];
    const double closed_form = std::pow(options.at("lr").get<double>() / (1.0 - options.at("kappa").get<double>()), n);
    summary["order_" + k] = {{"steady_ratio", steady}, {"total_ratio", total}, {"first_adam_step_ratio", first_adam},
                             {"closed_form_steady_ratio", closed_form}, {"mi_steps", mi_steps}};
    auto add = [&](const std::string& q, double reference, double ours) {
      rows.push_back({"miadam_step_ratio", "MIAdam" + k + " " + q, reference, ours, agrees_to_digits(ours, reference, sig), ""});
    };
    add("steady MI step / Adam step", ref.at("steady_ratio").at(k).get<double>(), steady);
    add("MI-phase displacement / Adam's", ref.at("total_ratio").at(k).get<double>(), total);
    add("first post-switch step / Adam step", ref.at("first_adam_step_ratio").get<double>(), first_adam);
    progress.update(n);
  }
  progress.finish();
  file.commit();
  return rows;
}

std::vector<ReportRow> dualadam_warmup(const json& cfg, const fs::path& dir, json& summary, const TargetContext&) {
  const auto& options = cfg.at("options");
  const auto ts = cfg.at("t").get<std::vector<int64_t>>();
  const auto gs = cfg.at("g").get<std::vector<double>>();
  const auto ref = cfg.at("reference").get<std::vector<std::vector<double>>>();
  const int sig = cfg.at("sig_digits").get<int>();
  FLATMIN_CHECK(ref.size() == ts.size(), "dualadam_warmup: reference must have one row per t");
  int64_t steps = 0;
  for (auto t : ts) steps = std::max(steps, t);
  json adam_opts = {{"lr", options.at("lr")}, {"betas", options.at("betas")}, {"eps", options.at("eps")}};
  std::vector<ReportRow> rows;
  common::AtomicFile file(dir / "table.csv");
  common::CsvWriter csv(file.stream(), {"t", "g", "dualadam_displacement", "adam_displacement", "ratio", "reference"});
  common::Progress progress("dualadam_warmup", static_cast<int64_t>(gs.size()));
  summary["ratio"] = json::array();
  for (size_t j = 0; j < gs.size(); ++j) {
    const auto dual = optim::constant_gradient_displacements("dualadam", options, gs[j], steps, steps);
    const auto adam = optim::constant_gradient_displacements("adam", adam_opts, gs[j], steps, steps);
    for (size_t i = 0; i < ts.size(); ++i) {
      FLATMIN_CHECK(ref[i].size() == gs.size(), "dualadam_warmup: reference row " << i << " must have one value per g");
      const size_t t = size_t(ts[i] - 1);
      const double ratio = dual[t] / adam[t];
      csv.row({double(ts[i]), gs[j], dual[t], adam[t], ratio, ref[i][j]});
      std::ostringstream q;
      q << "step ratio at t=" << ts[i] << ", g=" << gs[j];
      rows.push_back({"dualadam_warmup", q.str(), ref[i][j], ratio, agrees_to_digits(ratio, ref[i][j], sig), ""});
      summary["ratio"].push_back({{"t", ts[i]}, {"g", gs[j]}, {"ratio", ratio}});
    }
    progress.update(int64_t(j + 1));
  }
  progress.finish();
  file.commit();
  return rows;
}

}  // namespace

void add_optim_targets(std::map<std::string, TargetRunner>& targets) {
  targets["miadam_step_ratio"] = miadam_step_ratio;
  targets["dualadam_warmup"] = dualadam_warmup;
}

}  // namespace flatmin::experiments
