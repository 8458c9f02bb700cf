#include "experiments/commands/simulate_cmd.h"

#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/json_io.h"
#include "common/output_path.h"
#include "common/status.h"
#include "experiments/commands/common_cli.h"
#include "experiments/simulations/simulate.h"

namespace flatmin::experiments {

void write_tables(const std::filesystem::path& dir, const simulations::SimOutput& out) {
  for (const auto& t : out.tables) {
    common::AtomicFile file(dir / t.file);
    common::CsvWriter csv(file.stream(), t.header);
    for (const auto& row : t.rows) csv.row_strings(row);
    file.commit();
  }
}

int run_simulate(const std::string& kind, const std::filesystem::path& config, const std::filesystem::path& out,
                 const std::string& device, const std::vector<std::string>& argv) {
  parse_device(device);
  common::check_output_dir(out.string(), "--out");  // before any work (issue 15)
  auto manifest = make_manifest("simulate " + kind, argv);
  const auto cfg = common::read_json_file(config);
  manifest.set_config({{"kind", kind}, {"device", device}, {"config_file", config.string()}, {"given", cfg}});
  // a divergence is a run-time outcome: the manifest says so, no tables or summary
  const auto result = common::record_divergence(manifest, out / "manifest.json",
                                                [&] { return simulations::run_simulation(kind, cfg, device); });
  manifest.set_config({{"kind", kind}, {"device", device}, {"config_file", config.string()}, {"resolved", result.resolved}});
  write_tables(out, result);
  common::write_json_atomic(out / "summary.json", result.summary);
  manifest.finish();
  manifest.write(out / "manifest.json");
  return 0;
}

}  // namespace flatmin::experiments
