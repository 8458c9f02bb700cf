#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace flatmin::experiments {

/// `flatmin optim-replay --spec S.json --out T.csv`: writes T.csv (atomically) and
/// T.manifest.json. Contract: docs/optim-replay.md.
int run_optim_replay(const std::filesystem::path& spec, const std::filesystem::path& out,
                     const std::vector<std::string>& argv);

}  // namespace flatmin::experiments
