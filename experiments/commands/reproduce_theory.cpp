// Reproduce target of theory/: the escape-time and regret validation suite (Theorems 1–2, formulas
// (A)–(F) of spec theory.md), run with the profile of `flatmin reproduce`.
#include <filesystem>

#include "common/error.h"
#include "common/json_io.h"
#include "experiments/commands/reproduce_target.h"
#include "theory/validation.h"

namespace flatmin::experiments {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

/// cfg: {"config": path of the validation config (relative to the source tree), "section_notes"?}.
std::vector<ReportRow> theory_validation(const json& cfg, const fs::path& dir, json& summary, const TargetContext& ctx) {
  fs::path path = cfg.at("config").get<std::string>();
  if (path.is_relative()) path = fs::path(FLATMIN_SOURCE_DIR) / path;
  const json vcfg = common::read_json_file(path);
  theory::ValidationDetails details;
  const auto rows = theory::run_validation(vcfg, ctx.profile, /*progress=*/true, &details);
  theory::write_validation_outputs(rows, details, dir, ctx.profile);
  std::vector<ReportRow> out;
  int holds = 0;
  for (const auto& r : rows) {
    std::string note = r.note;
    if (r.measured_se > 0) note = "± " + std::to_string(r.measured_se) + " (1 s.e.); " + note;
    out.push_back({"theory/" + r.section, r.claim, r.predicted, r.measured, r.holds, note});
    holds += r.holds;
  }
  summary["validation_config"] = path.string();
  summary["rows"] = theory::to_json(rows);
  summary["holds"] = holds;
  return out;
}

}  // namespace

void add_theory_targets(std::map<std::string, TargetRunner>& targets) { targets["theory"] = theory_validation; }

}  // namespace flatmin::experiments
