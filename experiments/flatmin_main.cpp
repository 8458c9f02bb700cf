// flatmin: the LibTorch-side driver. Subcommands are thin: parse → config → library call → write.
#include <algorithm>
#include <array>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <torch/version.h>

#include "common/cli_parse.h"
#include "common/error.h"
#include "common/version.h"
#include "experiments/commands/common_cli.h"
#include "experiments/commands/hessian_cmd.h"
#include "experiments/commands/optim_replay.h"
#include "experiments/commands/reproduce.h"
#include "experiments/commands/simulate_cmd.h"
#include "experiments/commands/sweep_cmd.h"
#include "experiments/commands/train_cmd.h"
#include "optim/registry.h"

namespace {

/// `list-optimizers --options NAME`: one row per option (or the schema as JSON).
void print_options(const std::string& name, bool as_json) {
  const auto fields = flatmin::optim::optimizer_schema(name);
  if (as_json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& f : fields) {
      j.push_back({{"name", f.name}, {"type", f.type}, {"default", f.default_value}, {"constraint", f.constraint},
                   {"source", f.source}, {"doc", f.doc}});
    }
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::vector<std::array<std::string, 5>> rows{{"option", "type", "default", "allowed", "source of the default"}};
  for (const auto& f : fields) {
    const std::string def = f.default_value.is_null() ? "(required)" : f.default_value.dump();
    rows.push_back({f.name, f.type, def, f.constraint.empty() ? "any" : f.constraint, f.source});
  }
  std::array<size_t, 5> width{};
  for (const auto& r : rows) {
    for (size_t c = 0; c < 5; ++c) width[c] = std::max(width[c], r[c].size());
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t c = 0; c < 5; ++c) std::cout << rows[i][c] << std::string(width[c] - rows[i][c].size() + 2, ' ');
    std::cout << (i == 0 ? "doc" : fields[i - 1].doc) << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  return flatmin::common::run_main("flatmin", [&]() -> int {
    CLI::App app{"flatmin: reproduce and verify flat-minima optimizer papers (MIAdam, InvAdam/DualAdam, …)"};
    app.require_subcommand(1);
    app.fallthrough();  // inherited by every subcommand: `flatmin train --threads 1 …` = `flatmin --threads 1 train …`
    int threads = 0;
    app.add_option("--threads", threads, "intra-op threads (0 = all cores); before or after the subcommand")
        ->capture_default_str();
    app.set_version_flag("--version", [] { return flatmin::common::version_text("flatmin", TORCH_VERSION); },
                         "print the version, git SHA, LibTorch version and build type, and exit");

    auto* replay = app.add_subcommand("optim-replay", "run one optimizer on float64 parameters, write parameters per step");
    std::string spec, out;
    replay->add_option("--spec", spec, "replay spec JSON (docs/optim-replay.md)")->required();
    replay->add_option("--out", out, "output CSV (step,p0_0,…); a .manifest.json is written beside it")->required();

    auto* repro = app.add_subcommand("reproduce", "regenerate the paper checks and write a report (paper value | ours | verdict)");
    flatmin::experiments::ReproduceArgs rargs;
    repro->add_option("--profile", rargs.profile, "smoke (seconds per target; a plumbing test, not evidence), quick (CPU minutes) or full")
        ->check(CLI::IsMember({"smoke", "quick", "full"}))
        ->capture_default_str();
    repro->add_option("--out", rargs.out, "results directory")->capture_default_str();
    repro->add_option("--device", rargs.device, "cpu, cuda or cuda:N")->capture_default_str();
    repro->add_option("--only", rargs.only, "run only these targets (default: all)");
    repro->add_option("--config", rargs.config, "targets JSON (default: experiments/configs/reproduce.json)");
    repro->add_flag("--force", rargs.force, "redo every selected target, also those whose inputs (config, profile, device, code version) did not change");

    auto* sim = app.add_subcommand("simulate", "2-D landscape, escape and regret simulations with the real optimizers (docs/simulations.md)");
    std::string sim_kind, sim_config, sim_out, sim_device = "cpu";
    sim->add_option("kind", sim_kind, "trajectories | study | escape | regret")->required()
        ->check(CLI::IsMember({"trajectories", "study", "escape", "regret"}));
    sim->add_option("--config", sim_config, "simulation config JSON")->required();
    sim->add_option("--out", sim_out, "output directory (summary.json, manifest.json, CSVs)")->required();
    sim->add_option("--device", sim_device, "cpu, cuda or cuda:N")->capture_default_str();
    flatmin::experiments::HessianArgs hargs;
    auto* hess = flatmin::experiments::add_hessian_command(app, hargs);
    flatmin::experiments::TrainCmdArgs targs;
    auto* train = flatmin::experiments::add_train_subcommand(app, targs);
    flatmin::experiments::SweepCmdArgs sargs;
    auto* sweep = flatmin::experiments::add_sweep_subcommand(app, sargs);

    auto* list = app.add_subcommand("list-optimizers", "print the registry's optimizer names, or one optimizer's options");
    std::string list_options;
    bool list_json = false;
    list->add_option("--options", list_options, "print this optimizer's options: name, type, default, allowed range, source, doc");
    list->add_flag("--json", list_json, "with --options: the schema as JSON (for other front ends)");

    for (auto* sub : app.get_subcommands([](CLI::App*) { return true; }))  // the executable's options, here too
      sub->footer("Also accepted here: --threads N (before or after the subcommand), --version.");
    if (auto code = flatmin::common::parse_cli(app, argc, argv)) return *code;
    flatmin::experiments::setup_threads(threads);
    if (replay->parsed()) return flatmin::experiments::run_optim_replay(spec, out, args);
    if (repro->parsed()) return flatmin::experiments::run_reproduce(rargs, args);
    if (sim->parsed()) return flatmin::experiments::run_simulate(sim_kind, sim_config, sim_out, sim_device, args);
    if (hess->parsed()) return flatmin::experiments::run_hessian(hargs, args);
    if (train->parsed()) return flatmin::experiments::run_train_cmd(targs, args);
    if (sweep->parsed()) return flatmin::experiments::run_sweep_cmd(sargs, threads, args);
    FLATMIN_CHECK(list->count("--options") == 0 || !list_options.empty(), "list-optimizers --options: empty optimizer name");
    if (!list_options.empty()) {
      print_options(list_options, list_json);
      return 0;
    }
    for (const auto& name : flatmin::optim::registry_names()) std::cout << name << "\n";
    return 0;
  });
}
