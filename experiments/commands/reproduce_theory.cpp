// Reproduce target of theory/: the escape-time (Theorem 1, formulas (A)-(F)) and regret (Theorem 2)
// validation suite. The library is LibTorch-free; this file only adapts it to a TargetRunner.
#include <filesystem>

#include "common/error.h"
#include "common/json_io.h"
#include "experiments/commands/reproduce_target.h"
#include "theory/validation.h"

namespace flatmin::experiments {

namespace {

namespace fs = std::filesystem;

/// cfg: {"config_file": "experiments/configs/theory_validate.json"} (relative to the source tree) or
/// {"suite": {...the same JSON inline...}}. The suite's own "profiles" select quick/full.
std::vector<ReportRow> theory_validation(const nlohmann::json& cfg, const fs::path& dir, nlohmann::json& summary,
                                         const TargetContext& ctx) {
  nlohmann::json suite;
  if (cfg.contains("config_file")) {
    fs::path file = cfg.at("config_file").get<std::string>();
    if (file.is_relative()) file = fs::path(FLATMIN_SOURCE_DIR) / file;
    suite = common::read_json_file(file);
    common::require_finite_json(suite, file.string());
  } else {
    FLATMIN_CHECK(cfg.contains("suite"), "theory target needs 'config_file' or an inline 'suite'");
    suite = cfg.at("suite");
  }
  theory::ValidationDetails details;
  // The suite knows quick/full only: smoke runs the (smaller) smoke suite file at its quick settings.
  const std::string suite_profile = ctx.profile == "smoke" ? "quick" : ctx.profile;
  const auto rows = theory::run_validation(suite, suite_profile, true, &details);
  theory::write_validation_outputs(rows, details, dir, suite_profile);
  std::vector<ReportRow> out;
  std::size_t holds = 0;
  for (const auto& r : rows) {
    std::string note = r.note;
    if (r.measured_se > 0) note = "± " + std::to_string(r.measured_se) + " (1 s.e.); " + note;
    out.push_back({"theory/" + r.section, r.claim, r.predicted, r.measured, r.holds, note});
    holds += r.holds ? 1 : 0;
  }
  summary["claims"] = rows.size();
  summary["holds"] = holds;
  summary["rows"] = theory::to_json(rows);
  return out;
}

}  // namespace

void add_theory_targets(std::map<std::string, TargetRunner>& targets) { targets["theory"] = theory_validation; }

}  // namespace flatmin::experiments
