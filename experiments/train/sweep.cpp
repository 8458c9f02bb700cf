#include "experiments/train/sweep.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/config.h"
#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/format.h"
#include "common/json_io.h"
#include "common/limits.h"
#include "common/output_path.h"
#include "common/run_lock.h"
#include "common/status.h"
#include "experiments/train/trainer.h"

extern char** environ;

namespace flatmin::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string noise_tag(double p) {
  std::ostringstream os;
  os << p;
  return os.str();
}

/// An optimizers[] entry of a sweep file.
struct SweepOptimizer {
  std::string name, label;
  json options;
  json overrides;  ///< RFC 7386 merge patch of this optimizer's run recipes (after the sweep's); null when not given
};

/// A sweep file, parsed once (unknown keys name the nearest known key).
struct SweepConfig {
  std::string name;  ///< empty when not given
  json base;         ///< a recipe object or the path of a recipe file
  std::vector<SweepOptimizer> optimizers;
  std::vector<uint64_t> seeds;
  std::vector<double> noise_rates;
  std::string out;
  json overrides;  ///< null when not given
};

/// A label names its run folders (<out>/runs/<label>_noise…): "Adam+CM" is fine, "../../evil" is not.
void check_label(const std::string& label, size_t i) {
  common::check_file_label(label, "sweep: optimizers[" + std::to_string(i) + "].label", "the run folders");
}

SweepConfig read_sweep_config(const json& c) {
  // read everything and name unknown keys first, then check what is required
  common::ConfigReader r(c, "sweep");
  r.allow({"about", "notes"});
  SweepConfig s;
  s.name = r.string("name", "");
  const bool has_base = r.has("base"), has_optimizers = r.has("optimizers");
  s.base = r.raw("base", nullptr);
  const auto seeds = r.integers("seeds", {0});
  s.noise_rates = r.numbers("noise_rates", {0.0});
  s.out = r.string("out", "");
  s.overrides = r.raw("overrides", nullptr);
  const json opts = r.raw("optimizers", nullptr);
  if (!opts.is_null() && !opts.is_array())
    throw common::InputTypeError("sweep: 'optimizers' must be an array of {name, label?, options?} objects, got " + opts.dump());
  if (!s.overrides.is_null() && !s.overrides.is_object())
    throw common::InputTypeError("sweep: 'overrides' must be an object (merged into the base recipe), got " + s.overrides.dump());
  if (opts.is_array()) {
    for (size_t i = 0; i < opts.size(); ++i) {
      const json& o = opts[i];
      FLATMIN_CHECK(o.is_object(), "sweep: every optimizers[] entry must be an object with a 'name'");
      common::ConfigReader e(o, "sweep optimizers[]");
      SweepOptimizer so;
      so.name = e.string("name", "");
      so.label = e.string("label", so.name);
      so.options = e.raw("options", json::object());
      so.overrides = e.raw("overrides", nullptr);
      e.finish();
      FLATMIN_CHECK(so.overrides.is_null() || so.overrides.is_object(),
                    "sweep: optimizers[].overrides must be an object (a merge patch of the run recipe)");
      FLATMIN_CHECK(!so.name.empty(), "sweep: every optimizers[] entry needs a 'name'");
      check_label(so.label, i);
      s.optimizers.push_back(std::move(so));
    }
  }
  r.finish();
  FLATMIN_CHECK(has_base && has_optimizers, "sweep: needs 'base' and 'optimizers'");
  FLATMIN_CHECK(!seeds.empty() && !s.noise_rates.empty() && opts.is_array() && !opts.empty(),
                "sweep: 'optimizers', 'seeds' and 'noise_rates' must be non-empty lists");
  for (const double p : s.noise_rates) r.require(p >= 0 && p <= 1, "noise_rates", s.noise_rates, "in [0, 1] (label-noise rates)");
  for (const auto seed : seeds) {
    r.require(seed >= 0, "seeds", seed, ">= 0");
    s.seeds.push_back(static_cast<uint64_t>(seed));
  }
  const double runs = double(s.optimizers.size()) * double(s.noise_rates.size()) * double(s.seeds.size());
  FLATMIN_CHECK(runs <= double(common::limits::kSweepRuns),
                "sweep: optimizers x noise_rates x seeds = " << runs << " runs exceeds the bound "
                                                             << common::format_count(common::limits::kSweepRuns));
  return s;
}

json load_base(const SweepArgs& args, const json& b) {
  if (b.is_string()) {
    fs::path p = b.get<std::string>();
    if (p.is_relative()) p = args.config_dir / p;
    json recipe = common::read_json_file(p);
    FLATMIN_CHECK(recipe.is_object(), "sweep: 'base' " << p.string() << " must hold a recipe object");
    return recipe;
  }
  FLATMIN_CHECK(b.is_object(), "sweep: 'base' must be a recipe object or the path of a recipe file");
  return b;
}

fs::path sweep_out(const SweepArgs& args) {
  if (!args.out.empty()) return args.out;
  const std::string out = read_sweep_config(args.config).out;
  FLATMIN_CHECK(!out.empty(), "sweep: no output folder (give \"out\" in the sweep file or --out)");
  return out;
}

/// The `flatmin train` arguments of run r (rank `rank` of ranks_per_run when that is > 1).
std::vector<std::string> train_argv(const SweepArgs& args, const SweepRun& r, int threads, int rank) {
  std::vector<std::string> argv = {args.exe.string(), "--threads", std::to_string(threads), "train",
                                   "--config", (r.dir / "run_config.json").string(), "--out", r.dir.string(),
                                   "--resume", "--device", args.device, "--no-progress"};
  if (!args.data_dir.empty()) {
    argv.push_back("--data-dir");
    argv.push_back(args.data_dir);
  }
  if (args.ranks_per_run > 1) {
    for (const std::string& a : {std::string("--world-size"), std::to_string(args.ranks_per_run), std::string("--rank"),
                                 std::to_string(rank), std::string("--dist-store"), (r.dir / "dist_store").string()}) {
      argv.push_back(a);
    }
    if (args.sync_bn) argv.push_back("--sync-bn");
  }
  return argv;
}

pid_t spawn_run(const SweepArgs& args, const SweepRun& r, int threads, int rank) {
  auto argv = train_argv(args, r, threads, rank);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const std::string log = (r.dir / (rank == 0 ? std::string("log.txt") : "log.rank" + std::to_string(rank) + ".txt")).string();
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("sweep: cannot start " + args.exe.string() + ": " + std::strerror(errno));
  if (pid == 0) {  // the child: only async-signal-safe calls until execve
    // It dies with the sweep (also on kill -9 of the sweep): no orphaned trainer keeps writing its run folder.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0) _exit(127);
    ::execve(args.exe.c_str(), cargv.data(), environ);
    _exit(127);
  }
  return pid;
}

}  // namespace

std::vector<SweepRun> expand_sweep(const SweepArgs& args) {
  FLATMIN_CHECK(args.ranks_per_run >= 1, "--ranks-per-run " << args.ranks_per_run << " must be >= 1");
  FLATMIN_CHECK(!args.sync_bn || args.ranks_per_run > 1, "sweep: --sync-bn needs --ranks-per-run > 1");
  FLATMIN_CHECK(args.config.is_object(), "sweep config must be a JSON object");
  const SweepConfig c = read_sweep_config(args.config);
  const json raw_base = load_base(args, c.base);
  auto merged_base = [&](const std::string& profile) {
    json b = common::merge_profile(raw_base, profile, "sweep base");  // merged here; run configs carry none
    if (!c.overrides.is_null()) b.merge_patch(c.overrides);
    return b;
  };
  // One run's recipe: the merged base, the optimizer's overrides, then the run's name, optimizer, seed and noise.
  auto run_config = [&](const json& b, const SweepOptimizer& o, const std::string& id, uint64_t seed, double noise) {
    json cfg = b;
    if (!o.overrides.is_null()) cfg.merge_patch(o.overrides);  // e.g. a warm-up for one optimizer only
    cfg["name"] = id;
    cfg["optimizer"] = {{"name", o.name}, {"options", o.options}};
    cfg["seed"] = seed;
    cfg["data"]["label_noise"]["rate"] = noise;
    return cfg;
  };
  const json base = merged_base(args.profile);
  // The base's other profiles are checked too (one run each), as `flatmin train` checks a config's profiles.
  check_declared_profiles(raw_base, args.profile, "sweep base", [&](const std::string& p) {
    const auto& o = c.optimizers.front();
    (void)resolve_train_config(run_config(merged_base(p), o, o.label, c.seeds.front(), c.noise_rates.front()), p);
  });
  const fs::path out = sweep_out(args);
  common::check_output_dir(out.string(), args.out.empty() ? "sweep \"out\"" : "--out");  // before any work (issue 15)
  std::vector<SweepRun> runs;
  std::set<std::string> labels;
  for (const auto& o : c.optimizers) {
    const std::string& label = o.label;
    FLATMIN_CHECK(labels.insert(label).second, "sweep: optimizer label '" << label << "' appears twice (give distinct 'label's)");
    for (double p : c.noise_rates) {
      for (auto s : c.seeds) {
        SweepRun r;
        r.label = label;
        r.noise = p;
        r.seed = s;
        r.id = label + "_noise" + noise_tag(p) + "_seed" + std::to_string(s);
        r.dir = out / "runs" / r.id;
        r.config = run_config(base, o, r.id, s, p);
        try {  // every run is validated now (options in range, data, model spec), before any folder exists
          resolve_train_config(r.config, args.profile);
        } catch (const common::InputError& e) {
          throw common::InputError("sweep: run " + r.id + ": " + e.what());
        }
        runs.push_back(std::move(r));
      }
    }
  }
  return runs;
}

std::string slurm_script(const SweepArgs& args, const std::vector<SweepRun>& runs) {
  for (const auto& r : runs) common::write_json_atomic(r.dir / "run_config.json", r.config);
  std::ostringstream s;
  const std::string name = read_sweep_config(args.config).name;
  s << "#!/bin/bash\n"
    << "# flatmin sweep '" << (name.empty() ? "sweep" : name) << "': " << runs.size()
    << " runs as a SLURM job array. Submit with: sbatch <this file>; afterwards run `flatmin sweep` with the same\n"
    << "# config again (finished runs are skipped) to aggregate. Interrupted tasks can be resubmitted: they --resume.\n"
    << "#SBATCH --job-name=" << (name.empty() ? "flatmin-sweep" : name) << "\n"
    << "#SBATCH --array=0-" << runs.size() - 1 << "\n"
    << "#SBATCH --cpus-per-task=4\n";
  const int R = args.ranks_per_run;
  const bool gpu = args.device.rfind("cuda", 0) == 0;
  if (R > 1) s << "#SBATCH --nodes=1\n#SBATCH --ntasks-per-node=" << R << "\n";
  if (gpu) s << "#SBATCH --gres=gpu:" << R << "\n";
  s << "#SBATCH --output=" << (sweep_out(args) / "slurm-%A_%a.out").string() << "\n"
    << "set -euo pipefail\nRUNS=(\n";
  for (const auto& r : runs) s << "  '" << r.dir.string() << "'\n";
  s << ")\nD=\"${RUNS[$SLURM_ARRAY_TASK_ID]}\"\n";
  const std::string train = "'" + args.exe.string() + "' --threads \"${SLURM_CPUS_PER_TASK}\" train --config \"$D/run_config.json\" --out \"$D\" --resume --device " +
                            args.device + " --no-progress" + (args.data_dir.empty() ? "" : " --data-dir '" + args.data_dir + "'");
  if (R == 1) {
    s << "exec " << train << "\n";
  } else {  // R tasks of this array element; rank = SLURM_PROCID, GPU = SLURM_LOCALID; a fresh rendezvous file per job
    s << "export D\n"
      << "exec srun bash -c 'exec " << std::regex_replace(train, std::regex("'"), "'\\''") << " --world-size " << R
      << " --rank \"$SLURM_PROCID\" --local-rank \"$SLURM_LOCALID\" --dist-store \"$D/dist_store.$SLURM_JOB_ID\""
      << (args.sync_bn ? " --sync-bn" : "") << "'\n";
  }
  return s.str();
}

json aggregate_runs(const std::vector<SweepRun>& runs) {
  struct Acc {
    std::vector<double> best, final_, noise, time;
    int64_t expected = 0;
  };
  std::map<std::pair<std::string, double>, Acc> groups;
  std::vector<std::pair<std::string, double>> order;
  for (const auto& r : runs) {
    const auto key = std::make_pair(r.label, r.noise);
    if (groups.count(key) == 0) order.push_back(key);
    auto& g = groups[key];
    ++g.expected;
    if (!run_finished(r.dir)) continue;
    const json res = common::read_json_file(r.dir / "result.json");
    g.best.push_back(res.at("best_test_acc"));
    g.final_.push_back(res.at("final_test_acc"));
    g.noise.push_back(res.at("label_noise").at("realised_rate"));
    g.time.push_back(res.value("train_time_s", 0.0));
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? std::nan("") : s / double(v.size());
  };
  auto sd = [&](const std::vector<double>& v) {
    if (v.size() < 2) return std::nan("");
    const double m = mean(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / double(v.size() - 1));
  };
  json rows = json::array();
  for (const auto& key : order) {
    const auto& g = groups[key];
    auto num = [](double x) { return std::isfinite(x) ? json(x) : json(nullptr); };
    rows.push_back({{"optimizer", key.first},
                    {"noise_rate", key.second},
                    {"runs_finished", g.best.size()},
                    {"runs_expected", g.expected},
                    {"best_test_acc_mean", num(mean(g.best))},
                    {"best_test_acc_std", num(sd(g.best))},
                    {"final_test_acc_mean", num(mean(g.final_))},
                    {"final_test_acc_std", num(sd(g.final_))},
                    {"realised_noise_mean", num(mean(g.noise))},
                    {"train_time_s_mean", num(mean(g.time))},
                    {"best_test_acc", g.best},
                    {"final_test_acc", g.final_}});
  }
  return {{"std", "sample standard deviation (n - 1) over seeds; null when fewer than 2 finished runs"}, {"rows", rows}};
}

json run_sweep(const SweepArgs& args) {
  const auto runs = expand_sweep(args);
  const fs::path out = sweep_out(args);
  // One sweep per folder (a second one: exit 2 naming this PID); each run also locks its own folder.
  const common::RunLock lock(out, "sweep: folder");
  common::remove_stale_temps(out, /*all=*/true);
  std::vector<const SweepRun*> todo;
  for (const auto& r : runs) {
    if (!run_finished(r.dir)) {
      todo.push_back(&r);
      continue;
    }
    // A finished run is not started again, so the temporaries of its writers killed after its last result (with
    // the sweep) are removed here, under the run's own lock (its trainer removes them for a run that goes on).
    const common::RunLock run_lock(r.dir, "sweep: run folder");
    common::remove_stale_temps(r.dir, /*all=*/true);
  }
  std::cerr << "sweep: " << runs.size() << " runs, " << runs.size() - todo.size() << " finished, " << todo.size() << " to run\n";
  std::vector<std::string> failed;
  if (args.workers <= 0 && args.ranks_per_run == 1) {
    for (const auto* r : todo) {
      common::write_json_atomic(r->dir / "run_config.json", r->config);
      TrainArgs ta;
      ta.config = r->config;
      ta.profile = args.profile;
      ta.device = args.device;
      ta.out = r->dir;
      ta.resume = true;
      ta.data_dir = args.data_dir;
      ta.progress = args.progress;
      ta.argv = args.argv;
      try {
        run_training(ta);
      } catch (const common::DivergedError& e) {  // an outcome of that run (its manifest says so): the others still run
        std::cerr << "sweep: " << r->id << " diverged: " << e.what() << "\n";
        failed.push_back(r->id + " (diverged; " + (r->dir / "manifest.json").string() + ")");
      }
    }
  } else {
    FLATMIN_CHECK(!args.exe.empty(), "sweep: workers need the flatmin executable path");
    const int R = args.ranks_per_run;
    const int workers = std::max(1, args.workers);  // a data-parallel run always needs child processes
    const int cores = args.threads > 0 ? args.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int per = std::max(1, cores / (workers * R));
    struct Active {
      const SweepRun* run;
      std::vector<pid_t> pids;
      int left;
      bool ok = true;
    };
    std::map<pid_t, size_t> owner;  // pid → index into groups
    std::vector<Active> groups;
    size_t next = 0, done = 0, running = 0;
    while (done < todo.size()) {
      while (next < todo.size() && static_cast<int>(running) < workers) {
        const SweepRun& r = *todo[next];
        common::write_json_atomic(r.dir / "run_config.json", r.config);
        std::error_code ec;
        fs::remove(r.dir / "dist_store", ec);  // c10d FileStore: a fresh rendezvous per launch
        Active a{&r, {}, R};
        for (int rank = 0; rank < R; ++rank) a.pids.push_back(spawn_run(args, r, per, rank));
        for (pid_t pid : a.pids) owner[pid] = groups.size();
        groups.push_back(std::move(a));
        ++next;
        ++running;
      }
      int status = 0;
      const pid_t pid = waitpid(-1, &status, 0);
      if (pid < 0) throw std::runtime_error("sweep: waitpid failed");
      auto it = owner.find(pid);
      if (it == owner.end()) continue;
      Active& g = groups[it->second];
      owner.erase(it);
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && g.ok) {  // one rank failed: its peers would wait in a collective until the timeout
        for (pid_t other : g.pids) {
          if (owner.count(other)) kill(other, SIGTERM);
        }
      }
      g.ok = g.ok && ok;
      if (--g.left > 0) continue;
      ++done;
      --running;
      std::cerr << "sweep: [" << done << "/" << todo.size() << "] " << g.run->id << (g.ok ? " finished" : " FAILED (see log.txt)") << "\n";
      if (!g.ok) failed.push_back(g.run->id + " (" + (g.run->dir / "log.txt").string() + ")");
    }
  }
  json agg = aggregate_runs(runs);
  const std::string name = read_sweep_config(args.config).name;
  agg["name"] = name.empty() ? "sweep" : name;
  agg["profile"] = args.profile;
  agg["runs"] = runs.size();
  common::write_json_atomic(out / "aggregate.json", agg);
  {
    common::AtomicFile f(out / "aggregate.csv");
    common::CsvWriter w(f.stream(), {"optimizer", "noise_rate", "runs_finished", "best_test_acc_mean", "best_test_acc_std",
                                     "final_test_acc_mean", "final_test_acc_std", "realised_noise_mean"});
    auto cell = [](const json& v) { return v.is_null() ? std::string("nan") : common::format_double(v.get<double>()); };
    for (const auto& r : agg["rows"]) {
      w.row_strings({r["optimizer"].get<std::string>(), common::format_double(r["noise_rate"].get<double>()),
                     std::to_string(r["runs_finished"].get<int64_t>()), cell(r["best_test_acc_mean"]), cell(r["best_test_acc_std"]),
                     cell(r["final_test_acc_mean"]), cell(r["final_test_acc_std"]), cell(r["realised_noise_mean"])});
    }
    f.commit();
  }
  if (!failed.empty()) {
    std::string list;
    for (const auto& f : failed) list += (list.empty() ? "" : ", ") + f;
    throw std::runtime_error("sweep: " + std::to_string(failed.size()) + " run(s) failed: " + list);
  }
  return agg;
}

}  // namespace flatmin::train
