#include "experiments/commands/optim_replay.h"

#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/json_io.h"
#include "experiments/commands/common_cli.h"
#include "optim/replay.h"

namespace flatmin::experiments {

int run_optim_replay(const std::filesystem::path& spec_path, const std::filesystem::path& out,
                     const std::vector<std::string>& argv) {
  auto manifest = make_manifest("optim-replay", argv);
  const auto spec = common::read_json_file(spec_path);
  const auto result = optim::replay(spec);
  manifest.set_config(result.resolved);
  {
    common::AtomicFile file(out);
    common::CsvWriter csv(file.stream(), result.header);
    for (const auto& row : result.rows) csv.row(row);
    file.commit();
  }
  manifest.finish();
  auto manifest_path = out;
  manifest_path.replace_extension(".manifest.json");
  manifest.write(manifest_path);
  return 0;
}

}  // namespace flatmin::experiments
