#pragma once
#include <string>
#include <vector>

namespace flatmin::experiments {

struct ReproduceArgs {
  std::string profile = "quick";
  std::string out = "results";
  std::string device = "cpu";
  std::string config;  ///< default: experiments/configs/reproduce.json of the source tree
  std::vector<std::string> only;
  bool force = false;  ///< redo targets whose inputs (resolved config, profile, device, code version) did not change
};

/// `flatmin reproduce`: runs every target of the config, writes <out>/<target>/{table.csv,
/// summary.json, manifest.json, rows.json, inputs.json} and <out>/report.{md,json} (paper/spec value | ours | verdict).
/// A target whose <out>/<target>/inputs.json has the hash of the same inputs (resolved config of the profile, the
/// bytes of the config files it names (sweep base recipes, the theory suite), profile, device, code version:
/// git SHA + dirty flag + executable hash) and an ok manifest is reused (its
/// rows.json goes into the report) unless `force`; otherwise its folder is emptied and it runs again.
int run_reproduce(const ReproduceArgs& args, const std::vector<std::string>& argv);

}  // namespace flatmin::experiments
