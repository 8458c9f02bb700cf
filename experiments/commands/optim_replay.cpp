#include "experiments/commands/optim_replay.h"

#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/json_io.h"
#include "common/output_path.h"
#include "common/status.h"
#include "experiments/commands/common_cli.h"
#include "optim/replay.h"

namespace flatmin::experiments {

int run_optim_replay(const std::filesystem::path& spec_path, const std::filesystem::path& out,
                     const std::vector<std::string>& argv) {
  auto manifest_path = out;
  manifest_path.replace_extension(".manifest.json");
  common::check_output_file(out.string(), "--out");  // before any work (issue 15)
  common::check_output_file(manifest_path.string(), "--out (its manifest)");
  auto manifest = make_manifest("optim-replay", argv);
  const auto spec = common::read_json_file(spec_path);
  manifest.set_config(spec);
  // a divergence is a run-time outcome: its manifest says so, no CSV
  const auto result = common::record_divergence(manifest, manifest_path, [&] { return optim::replay(spec); });
  manifest.set_config(result.resolved);
  {
    common::AtomicFile file(out);
    common::CsvWriter csv(file.stream(), result.header);
    for (const auto& row : result.rows) csv.row(row);
    file.commit();
  }
  manifest.finish();
  manifest.write(manifest_path);
  return 0;
}

}  // namespace flatmin::experiments
