#include "experiments/commands/sweep_cmd.h"

#include <cstdio>
#include <iostream>

#include "common/error.h"
#include "common/json_io.h"
#include "common/limits.h"
#include "experiments/commands/common_cli.h"
#include "experiments/train/sweep.h"

namespace flatmin::experiments {

CLI::App* add_sweep_subcommand(CLI::App& app, SweepCmdArgs& a) {
  auto* c = app.add_subcommand("sweep", "optimizers × seeds × noise rates → runs (skips finished ones), mean ± std tables");
  c->add_option("--config", a.config, "sweep JSON (docs/training.md)")->required();
  c->add_option("--profile", a.profile, "quick or full")->check(CLI::IsMember({"quick", "full"}))->capture_default_str();
  c->add_option("--device", a.device, "cpu, cuda or cuda:N")->capture_default_str();
  c->add_option("--out", a.out, "sweep folder (overrides the sweep's \"out\")");
  c->add_option("--workers", a.workers, "parallel runs (child processes; 0 = in this process); --threads is shared among them")
      ->capture_default_str();
  c->add_option("--ranks-per-run", a.ranks_per_run,
                "data-parallel processes per run (c10d; locally child processes, under SLURM tasks of one array element)")
      ->capture_default_str();
  c->add_flag("--sync-bn", a.sync_bn, "with --ranks-per-run > 1: BatchNorm statistics over all ranks");
  c->add_flag("--print-slurm", a.print_slurm, "write the run configs and print a SLURM job-array script instead of running");
  c->add_option("--data-dir", a.data_dir, "dataset folder");
  c->add_flag("--no-progress", a.no_progress, "no progress lines (in-process runs)");
  return c;
}

int run_sweep_cmd(const SweepCmdArgs& a, int threads, const std::vector<std::string>& argv) {
  if (!a.print_slurm) parse_device(a.device);
  namespace lim = common::limits;
  FLATMIN_CHECK(a.workers >= 0 && a.workers <= lim::kThreads,
                "--workers " << a.workers << " must be in [0, " << lim::kThreads << "] (0 = in this process)");
  FLATMIN_CHECK(a.ranks_per_run >= 1 && a.ranks_per_run <= lim::kThreads,
                "--ranks-per-run " << a.ranks_per_run << " must be in [1, " << lim::kThreads << "]");
  train::SweepArgs s;
  s.config = common::read_json_file(a.config);
  s.config_dir = std::filesystem::path(a.config).parent_path();
  s.profile = a.profile;
  s.device = a.device;
  s.data_dir = a.data_dir;
  s.out = a.out;
  s.workers = a.workers;
  s.ranks_per_run = a.ranks_per_run;
  s.sync_bn = a.sync_bn;
  s.threads = threads;
  s.exe = std::filesystem::read_symlink("/proc/self/exe");
  s.progress = !a.no_progress;
  s.argv = argv;
  if (a.print_slurm) {
    std::cout << train::slurm_script(s, train::expand_sweep(s));
    return 0;
  }
  const auto agg = train::run_sweep(s);
  std::printf("%-16s %6s %4s  %-18s %-18s\n", "optimizer", "noise", "n", "best acc", "final acc");
  for (const auto& r : agg.at("rows")) {
    auto pm = [](const nlohmann::json& m, const nlohmann::json& sd) {
      char buf[64];
      if (m.is_null()) return std::string("-");
      if (sd.is_null()) std::snprintf(buf, sizeof buf, "%.4f", m.get<double>());
      else std::snprintf(buf, sizeof buf, "%.4f ± %.4f", m.get<double>(), sd.get<double>());
      return std::string(buf);
    };
    std::printf("%-16s %6.3g %4lld  %-18s %-18s\n", r.at("optimizer").get<std::string>().c_str(), r.at("noise_rate").get<double>(),
                static_cast<long long>(r.at("runs_finished").get<int64_t>()),
                pm(r.at("best_test_acc_mean"), r.at("best_test_acc_std")).c_str(),
                pm(r.at("final_test_acc_mean"), r.at("final_test_acc_std")).c_str());
  }
  return 0;
}

}  // namespace flatmin::experiments
