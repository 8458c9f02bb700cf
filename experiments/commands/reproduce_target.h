#pragma once
/// \file
/// What a `flatmin reproduce` target is: a function that runs one paper check from its JSON config
/// (experiments/configs/reproduce.json → "targets" → name), writes its data into its own folder and
/// returns report rows (paper/spec value | ours | verdict). Each module keeps its targets in its own
/// file (experiments/commands/reproduce_<area>.cpp) and lists them in reproduce_targets().
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/train/sweep.h"

namespace flatmin::experiments {

/// `v` printed with `prec` significant digits (%g-like, as std::ostream does): report notes and CSV cells.
inline std::string fmtg(double v, int prec = 4) {
  std::ostringstream os;
  os.precision(prec);
  os << v;
  return os.str();
}

struct ReportRow {
  std::string target, quantity;
  double reference = 0, ours = 0;
  bool holds = false;
  std::string note;  ///< from the config's "notes" (keyed by quantity), or set by the target
  /// Empty: the verdict is `holds` ("holds"/"differs"). Otherwise "holds_when" (holds only under the
  /// condition stated in `note`; set from the config's "conditions" for a row that holds) or
  /// "not_reproducible" (not checked here; `note` says why; from the config's "not_reproducible").
  std::string verdict = {};
};

/// Everything a target gets besides its config.
struct TargetContext {
  std::string profile;  ///< "smoke" (tiny, for tests), "quick" or "full"
  std::string device;   ///< "cpu", "cuda", "cuda:N"
  int seed = 0;
};

/// Runs one target: reads `cfg`, writes files into `dir` (atomically), fills `summary`
/// (written as dir/summary.json by the caller), returns the report rows.
using TargetRunner = std::vector<ReportRow> (*)(const nlohmann::json& cfg, const std::filesystem::path& dir,
                                                nlohmann::json& summary, const TargetContext& ctx);

/// True when `ours` rounds to `reference` at `sig` significant digits (half a unit of the last digit).
bool agrees_to_digits(double ours, double reference, int sig);

/// The `flatmin sweep` a training target runs: cfg["sweep"] (base paths relative to
/// experiments/configs), the context's profile and device, out = dir/sweep, cfg["workers"] child
/// processes (default `default_workers`; 0 = in process) sharing this process's intra-op threads,
/// cfg["data_dir"]. Finished runs are skipped on a rerun.
train::SweepArgs target_sweep_args(const nlohmann::json& cfg, const std::filesystem::path& dir, const TargetContext& ctx,
                                   int default_workers);

/// name → runner for every target of every module.
const std::map<std::string, TargetRunner>& reproduce_targets();

// Per-module target lists (each defined in its reproduce_<area>.cpp), merged by reproduce_targets().
void add_optim_targets(std::map<std::string, TargetRunner>& targets);
void add_theory_targets(std::map<std::string, TargetRunner>& targets);
void add_sim_targets(std::map<std::string, TargetRunner>& targets);
void add_train_targets(std::map<std::string, TargetRunner>& targets);
void add_fig3_targets(std::map<std::string, TargetRunner>& targets);
void add_table_targets(std::map<std::string, TargetRunner>& targets);
void add_fig1_targets(std::map<std::string, TargetRunner>& targets);
void add_adam_cm_targets(std::map<std::string, TargetRunner>& targets);
/// table1_cpu, table4_label_noise_cpu, adam_cm_train_cpu, adai_train_cpu: one train-comparison runner (reproduce_compare.cpp).
void add_compare_targets(std::map<std::string, TargetRunner>& targets);
void add_adai_targets(std::map<std::string, TargetRunner>& targets);

}  // namespace flatmin::experiments
