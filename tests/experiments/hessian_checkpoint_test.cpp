// `flatmin hessian --checkpoint`: a tiny synthetic-data training run is rebuilt from its checkpoint and
// must give exactly the Hessian summary of the same model and images passed directly; bad input is one
// error line, exit 2, nothing written.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/serialize.h>
#include <torch/torch.h>

#include "experiments/commands/hessian_checkpoint.h"
#include "experiments/data/dataset.h"
#include "experiments/models/models.h"
#include "experiments/train/trainer.h"
#include "hessian/hessian_operator.h"
#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"

namespace {

using flatmin::common::testing_support::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;
namespace fh = flatmin::hessian;
namespace fe = flatmin::experiments;

const json kSynthetic = {{"n", 96}, {"classes", 3}, {"channels", 1}, {"size", 8}, {"noise", 30.0}, {"seed", 5}};

fs::path train_tiny(const TempDir& tmp) {
  flatmin::train::TrainArgs t;
  t.config = {{"name", "tiny"},
              {"data", {{"dataset", "synthetic"}, {"synthetic", kSynthetic}}},
              {"model", {{"name", "small_cnn"}, {"options", {{"width1", 3}, {"width2", 4}, {"hidden", 6}}}}},
              {"optimizer", {{"name", "miadam2"}, {"options", {{"lr", 0.01}, {"switch_epoch", 2}}}}},
              {"epochs", 2},
              {"batch_size", 32},
              {"seed", 3}};
  t.out = tmp / "run";
  t.progress = false;
  const json r = flatmin::train::run_training(t);
  EXPECT_EQ(r.at("status"), "finished");
  return t.out;
}

fh::AnalyzeOptions analysis() {
  fh::AnalyzeOptions ao;
  ao.top_k.k = 2;
  ao.trace = true;
  ao.hutchinson.min_samples = 20;
  ao.hutchinson.max_samples = 20;
  ao.density = true;
  ao.slq.steps = 15;
  ao.slq.runs = 2;
  ao.seed = 7;
  return ao;
}

void expect_same(const fh::Summary& a, const fh::Summary& b, double rtol) {
  ASSERT_EQ(a.eigenpairs.size(), b.eigenpairs.size());
  for (size_t k = 0; k < a.eigenpairs.size(); ++k)
    EXPECT_NEAR(a.eigenpairs[k].value, b.eigenpairs[k].value, rtol * std::abs(a.eigenpairs[k].value)) << k;
  EXPECT_NEAR(a.trace.estimate, b.trace.estimate, rtol * std::abs(a.trace.estimate));
  EXPECT_NEAR(a.trace.stderr_, b.trace.stderr_, rtol * std::abs(a.trace.stderr_) + 1e-300);
  ASSERT_EQ(a.slq.runs.size(), b.slq.runs.size());
  for (size_t r = 0; r < a.slq.runs.size(); ++r) {
    ASSERT_EQ(a.slq.runs[r].nodes.size(), b.slq.runs[r].nodes.size());
    for (size_t k = 0; k < a.slq.runs[r].nodes.size(); ++k)
      EXPECT_NEAR(a.slq.runs[r].nodes[k], b.slq.runs[r].nodes[k], rtol * (1 + std::abs(a.slq.runs[r].nodes[k])));
  }
}

flatmin::common::testing_support::CliRun run(const std::string& args, const TempDir& dir) {
  return flatmin::common::testing_support::run_cli("flatmin --threads 1 " + args, dir);
}

TEST(HessianCheckpoint, EqualsTheModelPassedDirectlyAndTheCli) {
  TempDir tmp;
  const fs::path run_dir = train_tiny(tmp);
  const int64_t N = 40;

  // Direct: rebuild by hand from model.json + model_final.pt, materialise the first N training images.
  std::ifstream mj(run_dir / "model.json");
  const json model_json = json::parse(mj);
  auto net = flatmin::models::make_model(flatmin::models::ModelSpec::from_json(model_json.at("model")));
  torch::serialize::InputArchive arch;
  arch.load_from((run_dir / "model_final.pt").string());
  net->load(arch);
  fh::Model direct;
  direct.forward = [net](const torch::Tensor& x) { return net->forward(x); };
  direct.named_parameters = [net] {
    fh::NamedTensors v;
    for (const auto& p : net->named_parameters()) v.emplace_back(p.key(), p.value());
    return v;
  };
  direct.set_train = [net](bool t) { net->train(t); };
  const auto set = flatmin::data::make_synthetic(kSynthetic, true);
  flatmin::data::Augment aug;
  flatmin::data::default_normalization("synthetic", 1, aug.mean, aug.std);
  fh::Dataset data;
  data.x = torch::empty({N, 1, 8, 8});
  std::vector<int64_t> idx(N);
  for (int64_t i = 0; i < N; ++i) idx[i] = i;
  flatmin::data::make_batch(set, idx.data(), N, aug, false, 0, 0, data.x.data_ptr<float>());
  data.y = torch::tensor(std::vector<int64_t>(set.labels.begin(), set.labels.begin() + N));
  fh::OperatorOptions oo;
  oo.batch_size = 16;  // ragged: 16, 16, 8
  const auto ao = analysis();
  const fh::Summary s_direct = fh::analyze(direct, data, oo, ao);
  ASSERT_EQ(s_direct.eigenpairs.size(), 2u);
  EXPECT_GT(s_direct.eigenpairs[0].value, 0.0);

  // Library path, from the folder, the checkpoint file and the module archive: identical.
  fe::CheckpointData sel;
  sel.subset = N;
  for (const fs::path& p : {run_dir, run_dir / "checkpoint.pt", run_dir / "model_final.pt"}) {
    auto cm = fe::load_training_checkpoint(p.string());
    json info;
    const auto d = fe::load_checkpoint_dataset(cm.data, cm.spec, sel, &info);
    EXPECT_EQ(info.at("n_samples"), N);
    EXPECT_TRUE(torch::equal(d.x, data.x)) << p;
    EXPECT_TRUE(torch::equal(d.y, data.y)) << p;
    expect_same(s_direct, fh::analyze(cm.model, d, oo, ao), 0.0);
  }
  // A seeded subset is data::subset's permutation prefix (the training run's own subset rule).
  sel.subset_seed = 4;
  auto cm = fe::load_training_checkpoint(run_dir.string());
  const auto ds = fe::load_checkpoint_dataset(cm.data, cm.spec, sel, nullptr);
  const auto sub = flatmin::data::subset(set, N, 4);
  EXPECT_TRUE(torch::equal(ds.y, torch::tensor(sub.labels)));

  // CLI: the same numbers in summary.json (one thread in the child; the reductions may round differently).
  const auto r = run("hessian --checkpoint " + run_dir.string() + " --subset 40 --batch-size 16 --top-k 2 --trace "
                     "--trace-min-samples 20 --trace-max-samples 20 --density --slq-steps 15 --slq-runs 2 --seed 7 --out " +
                         (tmp / "h").string(),
                     tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream sj(tmp / "h" / "summary.json");
  const json j = json::parse(sj);
  for (int k = 0; k < 2; ++k)
    EXPECT_NEAR(j["top_eigenvalues"][k]["value"].get<double>(), s_direct.eigenpairs[k].value,
                1e-6 * std::abs(s_direct.eigenpairs[k].value));
  EXPECT_NEAR(j["trace"]["estimate"].get<double>(), s_direct.trace.estimate, 1e-6 * std::abs(s_direct.trace.estimate));
  EXPECT_EQ(j["checkpoint"]["spec"]["name"], "small_cnn");
  EXPECT_EQ(j["data"]["path"]["n_samples"], N);
  EXPECT_TRUE(fs::exists(tmp / "h" / "esd.csv"));
}

TEST(HessianCheckpoint, BadInputIsOneLineExit2NothingWritten) {
  TempDir tmp;
  const fs::path run_dir = train_tiny(tmp);
  fs::create_directories(tmp / "corrupt");
  std::ofstream(tmp / "corrupt" / "checkpoint.pt") << "not a zip archive";
  fs::create_directories(tmp / "unknown");
  fs::copy_file(run_dir / "model_final.pt", tmp / "unknown" / "model_final.pt");
  std::ofstream(tmp / "unknown" / "model.json")
      << R"({"model": {"name": "no_such_model", "in_channels": 1, "image_size": 8, "num_classes": 3}, "dataset": "synthetic"})";
  // model.json says width1 = 5 while the weights are width1 = 3: refused tensor by tensor
  fs::create_directories(tmp / "wrongspec");
  fs::copy_file(run_dir / "model_final.pt", tmp / "wrongspec" / "model_final.pt");
  std::ofstream(tmp / "wrongspec" / "model.json")
      << R"({"model": {"name": "small_cnn", "in_channels": 1, "image_size": 8, "num_classes": 3,
                       "options": {"width1": 5, "width2": 4, "hidden": 6}}, "dataset": "synthetic"})";
  fs::create_directories(tmp / "badstd");
  fs::copy_file(run_dir / "model_final.pt", tmp / "badstd" / "model_final.pt");
  std::ofstream(tmp / "badstd" / "model.json")
      << R"({"model": {"name": "small_cnn", "in_channels": 1, "image_size": 8, "num_classes": 3,
                       "options": {"width1": 3, "width2": 4, "hidden": 6}}, "dataset": "synthetic",
             "input": {"mean": [0.5], "std": 0.0}})";
  const std::string rd = run_dir.string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--checkpoint " + (tmp / "wrongspec" / "model_final.pt").string(), "do not match"},
      {"--checkpoint " + (tmp / "badstd" / "model_final.pt").string(), "'std' must be an array of numbers"},
      {"--checkpoint " + (tmp / "missing").string(), "no such file"},
      {"--checkpoint " + (tmp / "corrupt").string(), "unreadable checkpoint"},
      {"--checkpoint " + (tmp / "unknown" / "model_final.pt").string(), "no_such_model"},
      {"--checkpoint " + rd + " --dataset fashion-mnist --data-dir " + (tmp / "nodata").string(), "fashion"},
      {"--checkpoint " + rd + " --subset 100000", "larger than"},
      {"--checkpoint " + rd + " --subset -3", "--subset"},
      {"--checkpoint " + rd + " --dataset imagenet", "unknown dataset"},
      {"--checkpoint " + rd + " --model m.pt --data d.pt", "either --checkpoint"},
  };
  for (const auto& [args, what] : cases) {
    const fs::path out = tmp / "out";
    const auto r = run("hessian " + args + " --out " + out.string(), tmp);
    EXPECT_EQ(r.code, 2) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("flatmin: error:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(r.err.find("frame #"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("Exception raised from"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out)) << args;
  }
}

}  // namespace
