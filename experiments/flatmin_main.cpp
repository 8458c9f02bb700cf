// flatmin: the LibTorch-side driver. Subcommands are thin: parse → config → library call → write.
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/cli_parse.h"
#include "common/error.h"
#include "experiments/commands/common_cli.h"
#include "experiments/commands/hessian_cmd.h"
#include "experiments/commands/optim_replay.h"
#include "experiments/commands/reproduce.h"
#include "experiments/commands/simulate_cmd.h"
#include "experiments/commands/sweep_cmd.h"
#include "experiments/commands/train_cmd.h"
#include "optim/registry.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  return flatmin::common::run_main("flatmin", [&]() -> int {
    CLI::App app{"flatmin: reproduce and verify flat-minima optimizer papers (MIAdam, InvAdam/DualAdam, …)"};
    app.require_subcommand(1);
    int threads = 0;
    app.add_option("--threads", threads, "intra-op threads (0 = all cores)")->capture_default_str();

    auto* replay = app.add_subcommand("optim-replay", "run one optimizer on float64 parameters, write parameters per step");
    std::string spec, out;
    replay->add_option("--spec", spec, "replay spec JSON (docs/optim-replay.md)")->required();
    replay->add_option("--out", out, "output CSV (step,p0_0,…); a .manifest.json is written beside it")->required();

    auto* repro = app.add_subcommand("reproduce", "regenerate the paper checks and write a report (paper value | ours | verdict)");
    flatmin::experiments::ReproduceArgs rargs;
    repro->add_option("--profile", rargs.profile, "quick (CPU minutes) or full")
        ->check(CLI::IsMember({"quick", "full"}))
        ->capture_default_str();
    repro->add_option("--out", rargs.out, "results directory")->capture_default_str();
    repro->add_option("--device", rargs.device, "cpu, cuda or cuda:N")->capture_default_str();
    repro->add_option("--only", rargs.only, "run only these targets (default: all)");
    repro->add_option("--config", rargs.config, "targets JSON (default: experiments/configs/reproduce.json)");

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

    app.add_subcommand("list-optimizers", "print the registry's optimizer names");

    if (auto code = flatmin::common::parse_cli(app, argc, argv)) return *code;
    flatmin::experiments::setup_threads(threads);
    if (replay->parsed()) return flatmin::experiments::run_optim_replay(spec, out, args);
    if (repro->parsed()) return flatmin::experiments::run_reproduce(rargs, args);
    if (sim->parsed()) return flatmin::experiments::run_simulate(sim_kind, sim_config, sim_out, sim_device, args);
    if (hess->parsed()) return flatmin::experiments::run_hessian(hargs, args);
    if (train->parsed()) return flatmin::experiments::run_train_cmd(targs, args);
    if (sweep->parsed()) return flatmin::experiments::run_sweep_cmd(sargs, threads, args);
    for (const auto& name : flatmin::optim::registry_names()) std::cout << name << "\n";
    return 0;
  });
}
