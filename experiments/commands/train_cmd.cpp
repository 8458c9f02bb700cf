#include "experiments/commands/train_cmd.h"

#include <iostream>

#include "common/error.h"
#include "common/json_io.h"
#include "common/limits.h"
#include "experiments/commands/common_cli.h"
#include "experiments/train/trainer.h"

namespace flatmin::experiments {

CLI::App* add_train_subcommand(CLI::App& app, TrainCmdArgs& a) {
  auto* c = app.add_subcommand("train", "train one recipe (experiments/configs/*.json): per-epoch CSV, checkpoints, --resume");
  c->add_option("--config", a.config, "training recipe JSON (docs/training.md)")->required();
  c->add_option("--profile", a.profile, "recipe profile: quick (CPU minutes) or full (the paper recipe)")
      ->check(CLI::IsMember({"quick", "full"}))
      ->capture_default_str();
  c->add_option("--device", a.device, "cpu, cuda or cuda:N")->capture_default_str();
  c->add_option("--out", a.out, "run folder (default results/train/<recipe name>)");
  c->add_flag("--resume", a.resume, "continue from <out>/checkpoint.pt (bit-identical to an uninterrupted run)");
  c->add_option("--data-dir", a.data_dir, "dataset folder (overrides the recipe's data.dir and $FLATMIN_DATA_DIR)");
  c->add_option("--stop-after", a.stop_after, "return after this many epochs (the checkpoint allows --resume)");
  c->add_flag("--no-progress", a.no_progress, "no progress line on stderr");
  c->add_option("--world-size", a.world_size, "data-parallel ranks (c10d; start one process per rank)")->capture_default_str();
  c->add_option("--rank", a.rank, "this process's rank in [0, world size)")->capture_default_str();
  c->add_option("--local-rank", a.local_rank, "this rank's GPU under --device cuda (default: the rank)");
  c->add_option("--dist-backend", a.dist_backend, "c10d backend: auto (NCCL for cuda when built, else Gloo), gloo, nccl")
      ->check(CLI::IsMember({"auto", "gloo", "nccl"}))
      ->capture_default_str();
  c->add_flag("--sync-bn", a.sync_bn, "BatchNorm batch statistics over all ranks (default: per rank, as DDP)");
  c->add_option("--dist-store", a.dist_store, "rendezvous file shared by all ranks (c10d FileStore; a fresh path per run)");
  return c;
}

int run_train_cmd(const TrainCmdArgs& a, const std::vector<std::string>& argv) {
  parse_device(a.device);
  namespace lim = common::limits;
  FLATMIN_CHECK(a.stop_after >= 0 && a.stop_after <= lim::kEpochs,
                "--stop-after " << a.stop_after << " must be in [0, " << common::format_count(lim::kEpochs) << "] (0 = all epochs)");
  FLATMIN_CHECK(a.world_size >= 1 && a.world_size <= lim::kThreads,
                "--world-size " << a.world_size << " must be in [1, " << lim::kThreads << "]");
  train::TrainArgs t;
  t.config = common::read_json_file(a.config);
  t.profile = a.profile;
  t.device = a.device;
  t.out = a.out.empty() ? std::filesystem::path("results/train") / t.config.value("name", "run") : std::filesystem::path(a.out);
  t.resume = a.resume;
  t.data_dir = a.data_dir;
  t.stop_after = a.stop_after;
  t.progress = !a.no_progress;
  t.argv = argv;
  t.world_size = a.world_size;
  t.rank = a.rank;
  t.local_rank = a.local_rank;
  t.dist_backend = a.dist_backend;
  t.sync_bn = a.sync_bn;
  t.dist_store = a.dist_store;
  const auto r = train::run_training(t);
  if (a.rank != 0) return 0;
  std::cout << r.at("name").get<std::string>() << ": " << r.at("status").get<std::string>() << ", epoch "
            << r.at("epochs_done") << "/" << r.at("epochs");
  if (r.contains("best_test_acc")) {
    std::cout << ", best test acc " << r.at("best_test_acc").get<double>() << " (epoch " << r.at("best_epoch")
              << "), final " << r.at("final_test_acc").get<double>();
  }
  std::cout << "; " << t.out.string() << "\n";
  return 0;
}

}  // namespace flatmin::experiments
