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
};

/// `flatmin reproduce`: runs every target of the config, writes <out>/<target>/{table.csv,
/// summary.json, manifest.json} and <out>/report.{md,json} (paper/spec value | ours | verdict).
int run_reproduce(const ReproduceArgs& args, const std::vector<std::string>& argv);

}  // namespace flatmin::experiments
