// flatmin-theory: the LibTorch-free driver (theory/ only). Subcommands are thin.
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/cli_parse.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/manifest.h"
#include "common/output_path.h"
#include "common/version.h"
#include "experiments/theory_commands/theory_commands.h"
#include "theory/miadam_gain.h"

int main(int argc, char** argv) {
  return flatmin::common::run_main("flatmin-theory", [&]() -> int {
    CLI::App app{"flatmin-theory: LibTorch-free theory checks (escape times, regret, closed forms)"};
    app.require_subcommand(1);
    flatmin::experiments::TheoryArgs targs;
    targs.argv.assign(argv, argv + argc);
    app.fallthrough();  // inherited by every subcommand: `--threads` before or after the subcommand
    app.add_option("--threads", targs.threads, "worker threads for the Monte Carlo (0 = all cores); before or after the subcommand")
        ->capture_default_str();
    app.set_version_flag("--version", [] { return flatmin::common::version_text("flatmin-theory", ""); },
                         "print the version, git SHA, LibTorch version (none: LibTorch-free) and build type, and exit");
    auto add_cfg_cmd = [&](const char* name, const char* help, const char* out_help) {
      auto* c = app.add_subcommand(name, help);
      c->add_option("--config", targs.config, "config JSON (see docs/theory.md)")->required();
      c->add_option("--out", targs.out, out_help)->required();
      return c;
    };
    auto* esc = add_cfg_cmd("escape-time", "escape-time Monte Carlo of one problem (1-D, quadratic_double_well, yang) vs the exact quadrature and formulas (A)-(F)",
                            "output directory: summary.json, survival.csv, manifest.json");
    auto* sweep = add_cfg_cmd("sweep", "slope studies: log tau vs B/eta, sqrt(B)/eta, 1/k, 1/sqrt(k), log k",
                              "output directory: sweep_<name>.csv, slopes.csv, summary.json, manifest.json");
    auto* regret = add_cfg_cmd("regret", "Theorem 2: R(T)/T of Adam vs MIAdam1 before the switch",
                               "output directory: regret.csv, summary.json, manifest.json");
    auto* flow = add_cfg_cmd("flow", "noise-free continuous-time flow (Odeint dopri5) on a 1-D or d-dim landscape",
                             "output directory: trajectory.csv, summary.json, manifest.json");
    auto* validate = app.add_subcommand("validate", "run the whole theory validation suite; prints claim | predicted | measured | verdict");
    targs.config = FLATMIN_THEORY_DEFAULT_VALIDATE_CONFIG;
    targs.out = "results/theory";
    validate->add_option("--config", targs.config, "validation config JSON")->capture_default_str();
    validate->add_option("--out", targs.out, "output directory: validation.json, validation.csv, regret.csv, manifest.json")
        ->capture_default_str();
    validate->add_option("--profile", targs.profile, "quick (about 3 CPU minutes) or full")
        ->check(CLI::IsMember({"quick", "full"}))
        ->capture_default_str();

    auto* gain = app.add_subcommand("miadam-gain",
                                    "closed-form gain of MIAdam's kappa-accumulators and MI/Adam step ratio per step");
    double kappa = 0.98, lr = 1e-3;
    int order = 1;
    int64_t steps = 1000;
    std::string out;
    gain->add_option("--kappa", kappa, "kappa in (0, 1]")->capture_default_str();
    gain->add_option("--lr", lr, "learning rate alpha")->capture_default_str();
    gain->add_option("--order", order, "order n (number of kappa-accumulators)")->capture_default_str();
    gain->add_option("--steps", steps, "steps t = 1..steps")->capture_default_str();
    gain->add_option("--out", out, "output CSV: step,buffer_gain,step_ratio (step_ratio exact for a constant first moment m)")->required();

    for (auto* sub : app.get_subcommands([](CLI::App*) { return true; }))  // the executable's options, here too
      sub->footer("Also accepted here: --threads N (before or after the subcommand), --version.");
    if (auto code = flatmin::common::parse_cli(app, argc, argv)) return *code;
    namespace lim = flatmin::common::limits;
    FLATMIN_CHECK(targs.threads >= 0 && targs.threads <= lim::kThreads,
                  "--threads = " << targs.threads << " must be >= 0 and <= " << lim::kThreads << " (0 = all cores)");
    if (esc->parsed()) return flatmin::experiments::run_escape_time_cmd(targs);
    if (flow->parsed()) return flatmin::experiments::run_flow_cmd(targs);
    if (sweep->parsed()) return flatmin::experiments::run_sweep_cmd(targs);
    if (regret->parsed()) return flatmin::experiments::run_regret_cmd(targs);
    if (validate->parsed()) return flatmin::experiments::run_validate_cmd(targs);
    flatmin::common::check_output_file(out, "--out");  // before any work (issue 15)
    // every step is a row of the table (held in memory, then written): the bound keeps the CSV under ~1 GB
    FLATMIN_CHECK(steps >= 1 && steps <= lim::kRecordedSteps,
                  "--steps = " << steps << " must be in [1, " << flatmin::common::format_count(lim::kRecordedSteps) << "]");
    FLATMIN_CHECK(order >= 1 && order <= lim::kOrder, "--order = " << order << " must be in [1, " << lim::kOrder << "]");
    // <out>.manifest.json beside the CSV (as optim-replay): status ok, or diverged when a value overflows
    flatmin::common::Manifest manifest("miadam-gain", targs.argv);
    manifest.set_config({{"kappa", kappa}, {"order", order}, {"lr", lr}, {"steps", steps}});
    std::filesystem::path manifest_path = out;
    manifest_path.replace_extension(".manifest.json");
    const auto g = flatmin::common::record_divergence(
        manifest, manifest_path, [&] { return flatmin::theory::miadam_gain_table(kappa, order, lr, steps); });
    flatmin::common::AtomicFile file(out);
    flatmin::common::CsvWriter csv(file.stream(), {"step", "buffer_gain", "step_ratio"});
    for (std::size_t i = 0; i < g.step.size(); ++i) csv.row({static_cast<double>(g.step[i]), g.buffer_gain[i], g.step_ratio[i]});
    file.commit();
    manifest.finish();
    manifest.write(manifest_path);
    if (kappa < 1.0) std::cout << "steady-state step ratio (lr/(1-kappa))^n = " << g.steady_step_ratio << "\n";
    return 0;
  });
}
