// experiments/{data,models,train}: IDX reader, label noise, augmentation, model shapes, smoke training,
// bit-identical resume (in-process and after kill -9), sweep skip/aggregate.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "common/error.h"
#include "common/json_io.h"
#include "common/status.h"
#include "experiments/data/dataset.h"
#include "common/dist/communicator.h"
#include "experiments/models/models.h"
#include "experiments/models/sync_batchnorm.h"
#include "experiments/models/torchscript.h"
#include "experiments/train/sweep.h"
#include "experiments/train/trainer.h"
#include "tests/support/gloo_ranks.h"
#include "tests/support/temp_dir.h"

namespace {

using flatmin::common::InputError;
using flatmin::common::testing_support::slurp;
using flatmin::common::testing_support::TempDir;
using nlohmann::json;
namespace data = flatmin::data;
namespace fs = std::filesystem;

// ---- data ------------------------------------------------------------------------------------------

TEST(Idx, RoundTripGzipAndRaw) {
  TempDir dir;
  data::IdxArray a;
  a.dims = {3, 2, 5};
  for (int i = 0; i < 30; ++i) a.data.push_back(static_cast<uint8_t>(i * 7 + 3));
  for (bool gz : {true, false}) {
    const auto f = dir / (gz ? "a.idx.gz" : "a.idx");
    data::write_idx(f, a, gz);
    const auto b = data::read_idx(f);
    EXPECT_EQ(b.dims, a.dims);
    EXPECT_EQ(b.data, a.data);
  }
}

TEST(Idx, CorruptFilesAreInputErrors) {
  TempDir dir;
  data::IdxArray a{{4}, {1, 2, 3, 4}};
  data::write_idx(dir / "ok", a, false);
  // truncated payload
  auto bytes = data::read_file_maybe_gz(dir / "ok");
  bytes.pop_back();
  std::ofstream(dir / "short", std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  EXPECT_THROW(data::read_idx(dir / "short"), InputError);
  // bad gzip
  const unsigned char junk[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff};
  std::ofstream(dir / "bad.gz", std::ios::binary).write(reinterpret_cast<const char*>(junk), sizeof junk);
  EXPECT_THROW(data::read_idx(dir / "bad.gz"), InputError);
  EXPECT_THROW(data::read_idx(dir / "missing"), InputError);
}

TEST(Idx, MissingFashionMnistNamesThePackage) {
  TempDir dir;
  try {
    data::load_fashion_mnist(dir.path().string(), true);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("dataset-fashion-mnist"), std::string::npos) << e.what();
  }
}

TEST(Idx, FashionMnistFolderOfGeneratedFiles) {
  TempDir dir;
  data::IdxArray img{{5, 28, 28}, std::vector<uint8_t>(5 * 28 * 28, 9)}, lab{{5}, {0, 1, 2, 3, 9}};
  data::write_idx(dir / "t10k-images-idx3-ubyte.gz", img, true);
  data::write_idx(dir / "t10k-labels-idx1-ubyte.gz", lab, true);
  const auto s = data::load_fashion_mnist(dir.path().string(), false);
  EXPECT_EQ(s.n, 5);
  EXPECT_EQ(s.height, 28);
  EXPECT_EQ(s.labels.back(), 9);
}

TEST(LabelNoise, OfficialRateIsRateTimesOneMinusOneOverC) {
  const int64_t n = 100000;
  const int C = 10;
  for (double p : {0.2, 0.8}) {
    std::vector<int64_t> labels(n);
    for (int64_t i = 0; i < n; ++i) labels[i] = i % C;
    const auto clean = labels;
    const auto rep = data::apply_label_noise(labels, C, p, "official", 7);
    int64_t changed = 0;
    for (int64_t i = 0; i < n; ++i) changed += labels[i] != clean[i];
    EXPECT_EQ(rep.changed, changed);
    EXPECT_EQ(rep.selected, static_cast<int64_t>(p * n));
    const double k = static_cast<double>(rep.selected), q = 0.9;
    const double se = std::sqrt(k * q * (1 - q)) / n;
    EXPECT_NEAR(rep.realised_rate, p * q, 4 * se) << "p = " << p;
  }
}

TEST(LabelNoise, ExactModeChangesExactlyTheRequestedFraction) {
  std::vector<int64_t> labels(5000, 3);
  const auto rep = data::apply_label_noise(labels, 10, 0.4, "exact", 1);
  EXPECT_EQ(rep.changed, 2000);
  EXPECT_DOUBLE_EQ(rep.realised_rate, 0.4);
  for (auto l : labels) EXPECT_TRUE(l >= 0 && l < 10);
  EXPECT_THROW(data::apply_label_noise(labels, 10, 1.5, "official", 1), InputError);
  EXPECT_THROW(data::apply_label_noise(labels, 10, 0.1, "sometimes", 1), InputError);
}

TEST(Augment, CropAndFlipAreSeededPerImageAndEpoch) {
  data::ImageSet s;
  s.n = 2;
  s.channels = 1;
  s.height = s.width = 4;
  s.num_classes = 2;
  s.labels = {0, 1};
  for (int i = 0; i < 32; ++i) s.pixels.push_back(static_cast<uint8_t>(i + 1));
  data::Augment aug;
  aug.crop_padding = 1;
  aug.hflip = true;
  const int64_t idx[2] = {0, 1}, rev[2] = {1, 0};
  std::vector<float> a(32), b(32), c(32), plain(32);
  data::make_batch(s, idx, 2, aug, true, 5, 3, a.data());
  data::make_batch(s, rev, 2, aug, true, 5, 3, b.data());  // same images, other batch position
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(a[j], b[16 + j]);
    EXPECT_EQ(a[16 + j], b[j]);
  }
  data::make_batch(s, idx, 2, aug, false, 5, 3, plain.data());  // test mode: no augmentation
  for (int j = 0; j < 32; ++j) EXPECT_FLOAT_EQ(plain[j], float(j + 1) / 255.0f);
  // over many epochs every shift in [-1, 1]² and both flips occur; the pixel sum never grows
  int differ = 0;
  for (int e = 1; e <= 20; ++e) {
    data::make_batch(s, idx, 2, aug, true, 5, e, c.data());
    differ += c != plain;
  }
  EXPECT_GT(differ, 10);
  EXPECT_EQ(data::epoch_order(100, 3, 2), data::epoch_order(100, 3, 2));
  EXPECT_NE(data::epoch_order(100, 3, 2), data::epoch_order(100, 3, 3));
}

TEST(Configs, EveryShippedRecipeAndSweepResolves) {
  const fs::path dir = fs::path(FLATMIN_TEST_DATA_DIR).parent_path().parent_path() / "experiments" / "configs";
  int recipes = 0, sweeps = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    // Training recipes and sweeps only: reproduce.json and the theory/ configs live here too.
    if (e.path().extension() != ".json" || name == "reproduce.json" || name.rfind("theory_", 0) == 0) continue;
    SCOPED_TRACE(name);
    const json j = flatmin::common::read_json_file(e.path());
    if (name.rfind("sweep_", 0) == 0) {
      flatmin::train::SweepArgs s;
      s.config = j;
      s.config_dir = dir;
      s.out = "/nonexistent/never-written";
      for (const char* p : {"quick", "full"}) {
        s.profile = p;
        EXPECT_GE(flatmin::train::expand_sweep(s).size(), 2u);
      }
      ++sweeps;
    } else {
      for (const char* p : {"quick", "full"}) EXPECT_NO_THROW(flatmin::train::resolve_train_config(j, p));
      ++recipes;
    }
  }
  EXPECT_GE(recipes, 10);
  EXPECT_GE(sweeps, 3);
}

// ---- models ----------------------------------------------------------------------------------------

TEST(Models, ShapesOnTinyInputs) {
  torch::manual_seed(0);
  namespace m = flatmin::models;
  struct Case {
    std::string name;
    int64_t ch, size;
    json options;
  };
  const std::vector<Case> cases = {{"small_resnet", 1, 28, json::object()},
                                   {"small_cnn", 1, 28, json::object()},
                                   {"resnet18", 3, 32, json::object()},
                                   {"resnet50", 3, 32, json::object()},
                                   {"densenet121", 3, 32, json::object()},
                                   {"pyramidnet110", 3, 32, json::object()},
                                   {"vgg16_bn", 3, 32, json::object()},
                                   {"vit", 3, 32, {{"dim", 48}, {"depth", 2}, {"heads", 4}}}};
  for (const auto& c : cases) {
    auto net = m::make_model({c.name, c.ch, c.size, 10, c.options});
    net->eval();
    torch::NoGradGuard ng;
    const auto y = net->forward(torch::randn({2, c.ch, c.size, c.size}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 10})) << c.name;
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>()) << c.name;
  }
  // parameter counts of the reference architectures (kuangliu ResNet18 CIFAR-10: 11,173,962)
  EXPECT_EQ(m::parameter_count(*m::make_model({"resnet18", 3, 32, 10, json::object()})), 11173962);
  const auto small = m::parameter_count(*m::make_model({"small_resnet", 1, 28, 10, json::object()}));
  EXPECT_GT(small, 70000);
  EXPECT_LT(small, 85000);
  EXPECT_THROW(m::make_model({"resnet19", 3, 32, 10, json::object()}), InputError);
  EXPECT_THROW(m::make_model({"vgg16_bn", 1, 28, 10, json::object()}), InputError);
}

// make_model agrees with the LibTorch-free spec reader (experiments/models/model_spec.cpp: model_names() and
// each model's option keys): every listed name builds from a spec that ModelSpec::from_json accepted
// ("torchscript" asks for its path), and make_model's own unknown-name error lists the same names.
TEST(Models, MakeModelBuildsEveryNameTheSpecReaderKnows) {
  torch::manual_seed(0);
  namespace m = flatmin::models;
  const std::map<std::string, std::pair<int64_t, json>> small = {  // image size, options
      {"small_resnet", {16, {{"widths", {8, 16}}, {"blocks", {1, 1}}}}},
      {"small_cnn", {16, {{"width1", 4}, {"width2", 4}, {"hidden", 8}, {"head_classes", 12}}}},
      {"resnet18", {16, {{"blocks", {1, 1, 1, 1}}}}},
      {"resnet50", {16, {{"blocks", {1, 1, 1, 1}}}}},
      {"densenet121", {16, {{"blocks", {1, 1}}, {"growth", 4}, {"reduction", 0.5}}}},
      {"pyramidnet110", {16, {{"depth", 14}, {"alpha", 12}}}},
      {"vgg16_bn", {32, json::object()}},
      {"vit", {16, {{"patch", 4}, {"dim", 16}, {"depth", 1}, {"heads", 2}, {"mlp_ratio", 2.0}}}}};
  for (const auto& name : m::model_names()) {
    if (name == "torchscript") {
      try {
        (void)m::make_model(m::ModelSpec::from_json({{"name", name}, {"in_channels", 3}, {"image_size", 16}, {"num_classes", 10}}));
        ADD_FAILURE() << "torchscript without a path";
      } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()), "model 'torchscript': options.path (a string) is required");
      }
      continue;
    }
    ASSERT_EQ(small.count(name), 1u) << name;
    const auto& [size, options] = small.at(name);
    const json spec = {{"name", name}, {"in_channels", 3}, {"image_size", size}, {"num_classes", 10}, {"options", options}};
    auto net = m::make_model(m::ModelSpec::from_json(spec));
    EXPECT_GT(m::parameter_count(*net), 0) << name;
  }
  EXPECT_EQ(small.size() + 1, m::model_names().size());
  try {
    (void)m::make_model({"resnet19", 3, 32, 10, json::object()});
    ADD_FAILURE() << "resnet19";
  } catch (const InputError& e) {
    std::string list;
    for (const auto& n : m::model_names()) list += (list.empty() ? "" : ", ") + n;
    EXPECT_EQ(std::string(e.what()), "unknown model 'resnet19' (did you mean 'resnet18'? known: " + list + ")");
  }
}

// Every built-in model traces into a TorchScript file (model.pt of a run) whose forward is the model's in eval
// mode at any batch size, with the model's parameters and buffers under their names; the model keeps its mode.
TEST(Models, EveryBuiltInModelExportsToTorchScript) {
  torch::manual_seed(0);
  namespace m = flatmin::models;
  TempDir dir;
  struct Case {
    std::string name;
    int64_t ch, size;
    json options;
  };
  const std::vector<Case> cases = {{"small_resnet", 1, 28, {{"widths", {8, 16}}, {"blocks", {1, 1}}}},
                                   {"small_cnn", 1, 28, json::object()},
                                   {"resnet18", 3, 16, {{"blocks", {1, 1, 1, 1}}}},
                                   {"resnet50", 3, 16, {{"blocks", {1, 1, 1, 1}}}},
                                   {"densenet121", 3, 16, {{"blocks", {1, 1}}, {"growth", 4}}},
                                   {"pyramidnet110", 3, 16, {{"depth", 14}, {"alpha", 12}}},
                                   {"vgg16_bn", 3, 32, json::object()},
                                   {"vit", 3, 16, {{"dim", 16}, {"depth", 1}, {"heads", 2}}}};
  ASSERT_EQ(cases.size() + 1, m::model_names().size());  // all but "torchscript"
  for (const auto& c : cases) {
    auto net = m::make_model({c.name, c.ch, c.size, 10, c.options});
    {  // non-trivial BatchNorm running statistics: eval mode must use them
      torch::NoGradGuard ng;
      net->train();
      for (int i = 0; i < 3; ++i) net->forward(torch::randn({4, c.ch, c.size, c.size}) * 2 + 1);
    }
    net->train();
    const auto file = dir / (c.name + ".pt");
    m::save_torchscript(*net, torch::randn({2, c.ch, c.size, c.size}), file);
    EXPECT_TRUE(net->is_training()) << c.name;
    auto j = torch::jit::load(file.string());
    EXPECT_FALSE(j.is_training()) << c.name;
    net->eval();
    torch::NoGradGuard ng;
    for (int64_t b : {1, 5}) {
      const auto x = torch::randn({b, c.ch, c.size, c.size});
      const auto want = net->forward(x), got = j.forward({x}).toTensor();
      ASSERT_EQ(got.sizes(), want.sizes()) << c.name;
      EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-6)) << c.name << " batch " << b << ": "
                                                          << (got - want).abs().max().item<double>();
    }
    std::map<std::string, torch::Tensor> state;
    for (const auto& p : j.named_parameters()) state[p.name] = p.value;
    for (const auto& b : j.named_buffers()) state[b.name] = b.value;
    size_t n = 0;
    for (const auto& p : net->named_parameters()) {
      ASSERT_TRUE(state.count(p.key())) << c.name << ": " << p.key();
      EXPECT_TRUE(torch::equal(state[p.key()], p.value())) << p.key();
      ++n;
    }
    for (const auto& b : net->named_buffers()) {
      ASSERT_TRUE(state.count(b.key())) << c.name << ": " << b.key();
      EXPECT_TRUE(torch::equal(state[b.key()], b.value())) << b.key();
      ++n;
    }
    EXPECT_EQ(n, state.size()) << c.name;
  }
}

// ---- training ----------------------------------------------------------------------------------------

json tiny_recipe(const std::string& model, const std::string& opt, json options, int epochs) {
  return {{"name", "tiny"},
          {"data", {{"dataset", "synthetic"},
                    {"synthetic", {{"n", 192}, {"classes", 4}, {"size", 8}, {"noise", 50.0}, {"seed", 3}}},
                    {"augment", {{"crop_padding", 1}, {"hflip", true}}},
                    {"label_noise", {{"rate", 0.2}}}}},
          {"model", {{"name", model}, {"options", model == "small_resnet" ? json{{"widths", {8, 16}}, {"blocks", {1, 1}}} : json::object()}}},
          {"optimizer", {{"name", opt}, {"options", options}}},
          {"epochs", epochs},
          {"batch_size", 32},
          {"schedule", {{"type", "multistep"}, {"milestones", {2}}, {"gamma", 0.5}, {"warmup_epochs", 0.5}}},
          {"seed", 11}};
}

json run_tiny(const json& recipe, const fs::path& out, int64_t stop_after = 0, bool resume = false) {
  flatmin::train::TrainArgs a;
  a.config = recipe;
  a.out = out;
  a.stop_after = stop_after;
  a.resume = resume;
  a.progress = false;
  return flatmin::train::run_training(a);
}

/// Parameters and buffers of a saved model.
std::vector<torch::Tensor> load_state(const fs::path& run) {
  const json mj = flatmin::common::read_json_file(run / "model.json");
  auto net = flatmin::models::make_model(flatmin::models::ModelSpec::from_json(mj.at("model")));
  torch::serialize::InputArchive a;
  a.load_from((run / "model_final.pt").string());
  net->load(a);
  std::vector<torch::Tensor> out;
  for (const auto& p : net->named_parameters()) out.push_back(p.value().clone());
  for (const auto& b : net->named_buffers()) out.push_back(b.value().clone());
  return out;
}

void expect_identical(const fs::path& a, const fs::path& b) {
  const auto sa = load_state(a), sb = load_state(b);
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) EXPECT_TRUE(torch::equal(sa[i], sb[i])) << "tensor " << i;
  const json ra = flatmin::common::read_json_file(a / "result.json"), rb = flatmin::common::read_json_file(b / "result.json");
  EXPECT_EQ(ra.at("final_train_loss").get<double>(), rb.at("final_train_loss").get<double>());
  EXPECT_EQ(ra.at("best_test_acc").get<double>(), rb.at("best_test_acc").get<double>());
}

TEST(Train, SmokeLearnsTheSyntheticTask) {
  TempDir dir;
  auto recipe = tiny_recipe("small_cnn", "adam", {{"lr", 1e-2}}, 4);
  recipe["data"]["synthetic"]["n"] = 512;
  recipe["data"]["synthetic"]["noise"] = 30.0;
  const auto r = run_tiny(recipe, dir / "run");
  EXPECT_EQ(r.at("status"), "finished");
  EXPECT_GT(r.at("best_test_acc").get<double>(), 0.8);  // chance is 0.25; seeds 11-13 give 0.97-1.0
  EXPECT_NEAR(r.at("label_noise").at("realised_rate").get<double>(), 0.2 * 0.75, 0.08);
  for (const char* f : {"metrics.csv", "checkpoint.pt", "model_final.pt", "model_best.pt", "model.json", "manifest.json", "config.json"}) {
    EXPECT_TRUE(fs::exists(dir / "run" / f)) << f;
  }
  // a second start into the same folder without --resume is refused
  EXPECT_THROW(run_tiny(recipe, dir / "run"), InputError);
}

TEST(Train, ScheduleFactors) {
  flatmin::train::ScheduleConfig ms;
  ms.type = "multistep";
  ms.milestones = {50, 75};
  ms.gamma = 0.1;
  using flatmin::train::scheduled_lr;
  EXPECT_EQ(scheduled_lr(ms, 1e-3, 50, 0, 391), 1e-3);
  EXPECT_EQ(scheduled_lr(ms, 1e-3, 51, 0, 391), 1e-3 * 0.1);          // torch: lr ← lr·γ at each milestone
  EXPECT_EQ(scheduled_lr(ms, 1e-3, 76, 0, 391), 1e-3 * 0.1 * 0.1);
  flatmin::train::ScheduleConfig cs;
  cs.type = "cosine";
  cs.t_max = 200;
  cs.eta_min_factor = 1e-3;
  cs.warmup_epochs = 1.0;
  EXPECT_NEAR(scheduled_lr(cs, 1e-2, 1, 1000, 10), 1e-2, 1e-17);
  EXPECT_NEAR(scheduled_lr(cs, 1e-2, 101, 100000, 10), (1e-2 + 1e-5) / 2, 1e-17);
  EXPECT_NEAR(scheduled_lr(cs, 1e-2, 201, 100000, 10), 1e-5, 1e-17);
  EXPECT_NEAR(scheduled_lr(cs, 1e-2, 1, 4, 10), 0.5e-2, 1e-17);  // warm-up step 5 of 10
  EXPECT_THROW(flatmin::train::resolve_train_config({{"data", {{"dataset", "mnist"}}}}, "quick"), InputError);
  json bad = tiny_recipe("small_cnn", "adam", json::object(), 1);
  bad["epochs"] = 0;
  EXPECT_THROW(flatmin::train::resolve_train_config(bad, "quick"), InputError);
  bad["epochs"] = 1;
  bad["lr"] = 0.1;  // a typo'd top-level key
  EXPECT_THROW(flatmin::train::resolve_train_config(bad, "quick"), InputError);
}

// ---- divergence is an outcome (exit 1, manifest "diverged"); typo'd keys name the nearest one -----------------

TEST(Train, CliSgdAtLr1e30DivergesExit1OneLineManifestDiverged) {
  TempDir dir;
  auto recipe = tiny_recipe("small_cnn", "sgd", {{"lr", 1e30}}, 2);
  recipe["schedule"] = {{"type", "constant"}};
  flatmin::common::write_json_atomic(dir / "recipe.json", recipe);
  const std::string cmd = std::string(FLATMIN_BIN_DIR) + "/flatmin --threads 1 train --no-progress --config " +
                          (dir / "recipe.json").string() + " --out " + (dir / "run").string() + " > " +
                          (dir / "out.txt").string() + " 2> " + (dir / "err.txt").string();
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);  // a run-time outcome, not bad input (2)
  const std::string err = slurp(dir / "err.txt");
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_EQ(err.rfind("flatmin: diverged: train: epoch 1, batch ", 0), 0u) << err;
  const json m = flatmin::common::read_json_file(dir / "run" / "manifest.json");
  EXPECT_EQ(m.at("status"), "diverged");
  EXPECT_EQ(m.at("message").get<std::string>().rfind("diverged at epoch 1, batch ", 0), 0u) << m.at("message");
  EXPECT_EQ(m.at("diverged_at").at("epoch"), 1);
  EXPECT_FALSE(fs::exists(dir / "run" / "result.json"));  // no partial result
  EXPECT_FALSE(fs::exists(dir / "run" / "checkpoint.pt"));
  EXPECT_FALSE(fs::exists(dir / "run" / "metrics.csv"));
}

TEST(Train, DivergenceKeepsTheLastGoodEpochAndTheFactorCatchesExplosions) {
  // Epoch 1 at lr 1e-2, then MultiStepLR multiplies it by 1e32: epoch 2 diverges. Its checkpoint, weights and
  // metrics stay epoch 1's.
  TempDir dir;
  auto recipe = tiny_recipe("small_cnn", "sgd", {{"lr", 1e-2}}, 3);
  recipe["schedule"] = {{"type", "multistep"}, {"milestones", {1}}, {"gamma", 1e32}};
  try {
    run_tiny(recipe, dir / "run");
    FAIL() << "did not diverge";
  } catch (const flatmin::common::DivergedError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("train: epoch 2, batch 2: loss = ", 0), 0u) << e.what();  // batch 1 ran the first huge step
    EXPECT_NE(std::string(e.what()).find("checkpoint.pt keeps epoch 1"), std::string::npos) << e.what();
  }
  const json m = flatmin::common::read_json_file(dir / "run" / "manifest.json");
  EXPECT_EQ(m.at("status"), "diverged");
  EXPECT_EQ(m.at("diverged_at").at("epoch"), 2);
  EXPECT_TRUE(fs::exists(dir / "run" / "checkpoint.pt"));
  EXPECT_TRUE(fs::exists(dir / "run" / "model_final.pt"));
  EXPECT_FALSE(fs::exists(dir / "run" / "result.json"));
  const std::string csv = slurp(dir / "run" / "metrics.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2) << csv;  // header + epoch 1

  // A finite but exploding loss: lr 1e3 overshoots without overflowing; divergence_factor 2 calls it diverged.
  auto boom = tiny_recipe("small_cnn", "sgd", {{"lr", 1e3}}, 1);
  boom["schedule"] = {{"type", "constant"}};
  boom["divergence_factor"] = 2.0;
  try {
    run_tiny(boom, dir / "boom");
    FAIL() << "did not diverge";
  } catch (const flatmin::common::DivergedError& e) {
    EXPECT_NE(std::string(e.what()).find("epoch 1, batch "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("> divergence_factor 2 x "), std::string::npos) << e.what();
  }
  EXPECT_EQ(flatmin::common::read_json_file(dir / "boom" / "manifest.json").at("status"), "diverged");
  // 0 turns the explosion test off; a factor in (0, 1] is bad input
  boom["divergence_factor"] = 0.5;
  EXPECT_THROW(flatmin::train::resolve_train_config(boom, "quick"), InputError);
}

void expect_input_error_naming(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no InputError; expected one containing " << needle;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Train, TypoedKeysNameTheNearestKey) {
  using flatmin::train::resolve_train_config;
  const json base = tiny_recipe("small_cnn", "adam", json::object(), 1);
  auto with = [&](const std::function<void(json&)>& edit) {
    json j = base;
    edit(j);
    return j;
  };
  expect_input_error_naming([&] { resolve_train_config(with([](json& j) { j["epochz"] = 2; }), "quick"); }, "did you mean 'epochs'");
  expect_input_error_naming([&] { resolve_train_config(with([](json& j) { j["data"]["train_subst"] = 2; }), "quick"); },
                            "did you mean 'train_subset'");
  expect_input_error_naming([&] { resolve_train_config(with([](json& j) { j["schedule"]["milestone"] = {1}; }), "quick"); },
                            "did you mean 'milestones'");
  expect_input_error_naming([&] { resolve_train_config(with([](json& j) { j["divergence_factr"] = 10; }), "quick"); },
                            "did you mean 'divergence_factor'");
  expect_input_error_naming([&] { resolve_train_config(with([](json& j) { j["data"]["synthetic"]["clases"] = 3; }), "quick"); },
                            "did you mean 'classes'");
  // a typo that leaves a required key missing (or a value at its default) is named before the gap it leaves
  expect_input_error_naming([&] { resolve_train_config(with([](json& j) { j["epochz"] = j["epochs"]; j.erase("epochs"); }), "quick"); },
                            "did you mean 'epochs'");
  expect_input_error_naming([&] { resolve_train_config(with([](json& j) { j["data"]["datset"] = j["data"]["dataset"]; j["data"].erase("dataset"); }), "quick"); },
                            "did you mean 'dataset'");
  expect_input_error_naming([&] { resolve_train_config(with([](json& j) { j["modle"] = j["model"]; j.erase("model"); }), "quick"); },
                            "did you mean 'model'");
  // model options are strict too (the model is built before any work)
  TempDir dir;
  auto bad_model = tiny_recipe("small_resnet", "adam", json::object(), 1);
  bad_model["model"]["options"]["widht"] = {8, 16};
  expect_input_error_naming([&] { run_tiny(bad_model, dir / "m"); }, "did you mean 'widths'");
  EXPECT_FALSE(fs::exists(dir / "m"));
  // sweep configs and their optimizers[] entries
  flatmin::train::SweepArgs s;
  s.config = {{"base", base}, {"optimizers", {{{"name", "adam"}}}}, {"seedz", {1}}};
  s.out = "/nonexistent/never-written";
  expect_input_error_naming([&] { flatmin::train::expand_sweep(s); }, "did you mean 'seeds'");
  s.config = {{"base", base}, {"optimizers", {{{"name", "adam"}, {"lable", "a"}}}}};
  expect_input_error_naming([&] { flatmin::train::expand_sweep(s); }, "did you mean 'label'");
  s.config = {{"base", base}, {"optimizer", {{{"name", "adam"}}}}};
  expect_input_error_naming([&] { flatmin::train::expand_sweep(s); }, "did you mean 'optimizers'");
  s.config = {{"base", base}, {"optimizers", {{{"nme", "adam"}}}}};
  expect_input_error_naming([&] { flatmin::train::expand_sweep(s); }, "did you mean 'name'");
}

TEST(Train, ResolvedConfigRoundTripsAndWrongTypesNameTheKey) {
  using flatmin::train::resolve_train_config;
  const json base = tiny_recipe("small_cnn", "adam", {{"lr", 1e-3}}, 2);
  const json resolved = resolve_train_config(base, "quick").to_json();
  // the resolved recipe (what config.json and the checkpoint store) resolves to itself
  EXPECT_EQ(resolve_train_config(resolved, "quick").to_json(), resolved);
  EXPECT_EQ(resolved.at("test_batch_size"), 32);
  EXPECT_EQ(resolved.at("schedule").at("t_max"), 2);
  EXPECT_TRUE(resolved.at("data").at("label_noise").at("seed").is_null());
  EXPECT_EQ(resolved.at("data").at("synthetic"), base.at("data").at("synthetic"));
  json wd = base;
  wd["weight_decay"] = 5e-4;  // the top-level weight_decay goes into the optimizer's options
  EXPECT_EQ(resolve_train_config(wd, "quick").to_json().at("optimizer").at("options").at("weight_decay"), 5e-4);
  json bad = base;
  bad["batch_size"] = "32";
  expect_input_error_naming([&] { resolve_train_config(bad, "quick"); }, "'batch_size' must be an integer");
  bad = base;
  bad["data"]["augment"]["hflip"] = 1;
  expect_input_error_naming([&] { resolve_train_config(bad, "quick"); }, "'hflip' must be true or false");
  bad = base;
  bad["data"]["synthetic"]["noise"] = "high";
  expect_input_error_naming([&] { resolve_train_config(bad, "quick"); }, "'noise' must be a number");
}

TEST(Train, ResumeIsBitIdentical) {
  // MIAdam1 switches to Adam at epoch 2 (inside the resumed part); torch's Adam as the second case.
  const std::vector<std::pair<std::string, json>> opts = {
      {"miadam1", {{"lr", 2e-2}, {"kappa", 0.9}, {"switch_epoch", 2}, {"weight_decay", 5e-5}}},
      {"adam", {{"lr", 3e-3}, {"weight_decay", 5e-5}}}};
  for (const auto& [name, o] : opts) {
    TempDir dir;
    const auto recipe = tiny_recipe("small_resnet", name, o, 3);
    run_tiny(recipe, dir / "straight");
    const auto part = run_tiny(recipe, dir / "resumed", 1);
    EXPECT_EQ(part.at("status"), "interrupted");
    EXPECT_EQ(flatmin::common::read_json_file(dir / "resumed" / "manifest.json").at("status"), "interrupted");
    EXPECT_FALSE(fs::exists(dir / "resumed" / "result.json"));
    run_tiny(recipe, dir / "resumed", 1, true);  // epoch 2
    run_tiny(recipe, dir / "resumed", 0, true);  // epoch 3
    SCOPED_TRACE(name);
    expect_identical(dir / "straight", dir / "resumed");
    // a different recipe cannot resume this run
    auto other = recipe;
    other["batch_size"] = 16;
    EXPECT_THROW(run_tiny(other, dir / "resumed", 0, true), InputError);
  }
}

TEST(Train, ResumeAfterKill9IsBitIdentical) {
  const fs::path exe = fs::path(FLATMIN_BIN_DIR) / "flatmin";
  ASSERT_TRUE(fs::exists(exe));
  TempDir dir;
  auto recipe = tiny_recipe("small_resnet", "miadam1", {{"lr", 2e-2}, {"kappa", 0.9}, {"switch_epoch", 3}}, 5);
  recipe["data"]["synthetic"]["n"] = 3000;  // epochs long enough (~0.1 s) to kill one mid-way
  flatmin::common::write_json_atomic(dir / "recipe.json", recipe);
  run_tiny(recipe, dir / "straight");
  const std::string threads = std::to_string(at::get_num_threads());
  auto spawn = [&](bool resume) {
    const pid_t pid = fork();
    if (pid == 0) {
      std::freopen((dir / "log.txt").c_str(), "a", stderr);
      std::freopen((dir / "out.txt").c_str(), "a", stdout);
      execl(exe.c_str(), exe.c_str(), "--threads", threads.c_str(), "train", "--config", (dir / "recipe.json").c_str(), "--out",
            (dir / "killed").c_str(), "--no-progress", resume ? "--resume" : nullptr, nullptr);
      _exit(127);
    }
    return pid;
  };
  const pid_t pid = spawn(false);
  // kill -9 as soon as the first checkpoint exists (mid-way through a later epoch at the latest)
  const auto t0 = std::chrono::steady_clock::now();
  while (!fs::exists(dir / "killed" / "checkpoint.pt") && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(fs::exists(dir / "killed" / "checkpoint.pt"));
  EXPECT_FALSE(fs::exists(dir / "killed" / "result.json"));
  const pid_t pid2 = spawn(true);
  waitpid(pid2, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "resume failed, see log";
  expect_identical(dir / "straight", dir / "killed");
}

/// Trains `recipe` in one process (dir/one) and as 2 Gloo ranks on loopback (dir/two, `flags` added);
/// returns the largest |difference| over the final parameters and buffers, and of the final train loss.
struct RankDiff {
  double state, loss;
};
RankDiff one_vs_two_ranks(const json& recipe, const TempDir& dir, const std::vector<std::string>& flags = {}) {
  const fs::path exe = fs::path(FLATMIN_BIN_DIR) / "flatmin";
  flatmin::common::write_json_atomic(dir / "recipe.json", recipe);
  run_tiny(recipe, dir / "one");
  const std::string store = (dir / "store").string();
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r) {
    std::vector<std::string> args = {exe.string(), "--threads", "1", "train", "--config", (dir / "recipe.json").string(),
                                     "--out", (dir / "two").string(), "--no-progress", "--world-size", "2",
                                     "--rank", std::to_string(r), "--dist-store", store};
    args.insert(args.end(), flags.begin(), flags.end());
    const pid_t pid = fork();
    if (pid == 0) {
      std::freopen((dir / ("log" + std::to_string(r) + ".txt")).c_str(), "w", stderr);
      std::freopen((dir / ("out" + std::to_string(r) + ".txt")).c_str(), "w", stdout);
      std::vector<char*> argv;
      for (auto& x : args) argv.push_back(x.data());
      argv.push_back(nullptr);
      execv(exe.c_str(), argv.data());
      _exit(127);
    }
    pids.push_back(pid);
  }
  bool ok = true;
  for (auto pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  EXPECT_TRUE(ok) << "a rank failed, see " << dir.path();
  if (!ok) return {INFINITY, INFINITY};
  const auto a = load_state(dir / "one"), b = load_state(dir / "two");
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, (a[i].to(torch::kDouble) - b[i].to(torch::kDouble)).abs().max().item<double>());
  }
  const json ra = flatmin::common::read_json_file(dir / "one" / "result.json");
  const json rb = flatmin::common::read_json_file(dir / "two" / "result.json");
  return {worst, std::abs(ra.at("final_train_loss").get<double>() - rb.at("final_train_loss").get<double>())};
}

TEST(Distributed, TwoGlooRanksOnLoopbackMatchOneRank) {
  // small_cnn has no BatchNorm, so 2 ranks × half batches = 1 rank up to float reduction order.
  TempDir dir;
  auto recipe = tiny_recipe("small_cnn", "adam", {{"lr", 3e-3}}, 2);
  recipe["batch_size"] = 37;  // uneven shards (18 + 19) and a short last batch
  const auto d = one_vs_two_ranks(recipe, dir);
  EXPECT_LT(d.state, 1e-5) << "max |param difference| after 2 epochs";
  EXPECT_LT(d.loss, 1e-5) << "|final train loss difference|";
}

TEST(Distributed, SyncBatchNormMakesTwoRanksMatchOneRankWithBatchNorm) {
  // small_resnet has BatchNorm: per-rank statistics (the default, as DDP) differ from one process;
  // --sync-bn takes them over both ranks, and the runs agree again (parameters AND running stats).
  auto recipe = tiny_recipe("small_resnet", "adam", {{"lr", 3e-3}}, 2);
  recipe["batch_size"] = 37;
  TempDir synced, per_rank;
  const auto with_sync = one_vs_two_ranks(recipe, synced, {"--sync-bn"}).state;
  const auto without = one_vs_two_ranks(recipe, per_rank).state;
  EXPECT_LT(with_sync, 1e-5) << "max |param/buffer difference| after 2 epochs with --sync-bn";
  EXPECT_GT(without, 100 * 1e-5) << "control: per-rank BN statistics should visibly differ from one process";
  std::cerr << "[ sync-bn ] max |diff| vs 1 rank: " << with_sync << " with --sync-bn, " << without << " without\n";
}

#ifdef FLATMIN_HAVE_GLOO
TEST(Distributed, SyncBatchNormForwardBackwardEqualsFullBatch) {
  // Two ranks (threads) hold 3 + 5 samples of one batch; outputs, input gradients and the summed
  // weight gradients equal BatchNorm on the whole batch (float64).
  torch::manual_seed(5);
  const auto x = torch::randn({8, 3, 4, 4}, torch::kFloat64) * 2 + 1;
  const auto w_out = torch::randn({8, 3, 4, 4}, torch::kFloat64);  // loss = Σ y·w_out
  auto ref = flatmin::models::SyncableBatchNorm2d(3);
  ref->to(torch::kFloat64);
  {
    torch::NoGradGuard g;
    ref->weight.uniform_(0.5, 1.5);
    ref->bias.uniform_(-0.5, 0.5);
  }
  auto xr = x.clone().requires_grad_(true);
  auto yr = ref->forward(xr);
  (yr * w_out).sum().backward();
  TempDir dir;
  std::vector<torch::Tensor> y(2), gx(2), gw(2), rm(2), rv(2);
  const auto err = flatmin::common::testing_support::run_gloo_ranks(2, dir, [&](int r, const auto& comm) {
    auto bn = flatmin::models::SyncableBatchNorm2d(3);
    bn->to(torch::kFloat64);
    {
      torch::NoGradGuard g;
      bn->weight.copy_(ref->weight);
      bn->bias.copy_(ref->bias);
    }
    EXPECT_EQ(flatmin::models::sync_batchnorm(*bn, comm), 1);
    const int64_t lo = r == 0 ? 0 : 3, hi = r == 0 ? 3 : 8;
    auto xs = x.slice(0, lo, hi).clone().requires_grad_(true);
    auto ys = bn->forward(xs);
    (ys * w_out.slice(0, lo, hi)).sum().backward();
    std::vector<torch::Tensor> g{bn->weight.grad()};
    comm->allreduce_sum(g);
    y[size_t(r)] = ys.detach();
    gx[size_t(r)] = xs.grad();
    gw[size_t(r)] = g[0];
    rm[size_t(r)] = bn->running_mean.clone();
    rv[size_t(r)] = bn->running_var.clone();
  });
  ASSERT_EQ(err[0] + err[1], "");
  EXPECT_TRUE(torch::allclose(torch::cat({y[0], y[1]}), yr.detach(), 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(torch::cat({gx[0], gx[1]}), xr.grad(), 1e-10, 1e-10));
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(torch::allclose(gw[size_t(r)], ref->weight.grad(), 1e-10, 1e-10)) << "rank " << r;
    EXPECT_TRUE(torch::allclose(rm[size_t(r)], ref->running_mean, 1e-12, 1e-12)) << "rank " << r;
    EXPECT_TRUE(torch::allclose(rv[size_t(r)], ref->running_var, 1e-12, 1e-12)) << "rank " << r;
  }
}
#endif

TEST(Sweep, SkipsFinishedRunsAndAggregates) {
  TempDir dir;
  flatmin::train::SweepArgs s;
  s.config = {{"name", "t"},
              {"base", tiny_recipe("small_cnn", "adam", json::object(), 1)},
              {"optimizers", {{{"label", "adam"}, {"name", "adam"}, {"options", {{"lr", 3e-3}}}},
                              {{"label", "mi1"}, {"name", "miadam1"}, {"options", {{"lr", 3e-3}, {"kappa", 0.9}, {"switch_epoch", 1}}}}}},
              {"seeds", {1, 2}},
              {"noise_rates", {0.0, 0.4}}};
  s.out = dir / "sw";
  s.progress = false;
  const auto runs = flatmin::train::expand_sweep(s);
  ASSERT_EQ(runs.size(), 8u);
  // pre-run one run; the sweep must not rerun it (its result file stays untouched)
  {
    flatmin::train::TrainArgs a;
    a.config = runs[0].config;
    a.out = runs[0].dir;
    a.progress = false;
    flatmin::train::run_training(a);
  }
  const auto before = fs::last_write_time(runs[0].dir / "result.json");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto agg = flatmin::train::run_sweep(s);
  EXPECT_EQ(fs::last_write_time(runs[0].dir / "result.json"), before);
  ASSERT_EQ(agg.at("rows").size(), 4u);
  for (const auto& row : agg.at("rows")) {
    EXPECT_EQ(row.at("runs_finished"), 2);
    const std::vector<double> v = row.at("best_test_acc");
    const double m = (v[0] + v[1]) / 2, sd = std::abs(v[0] - v[1]) / std::sqrt(2.0);
    EXPECT_DOUBLE_EQ(row.at("best_test_acc_mean").get<double>(), m);
    EXPECT_NEAR(row.at("best_test_acc_std").get<double>(), sd, 1e-15);
    if (row.at("noise_rate").get<double>() > 0) {
      EXPECT_GT(row.at("realised_noise_mean").get<double>(), 0.1);
    }
  }
  EXPECT_TRUE(fs::exists(dir / "sw" / "aggregate.csv"));
  // everything finished: a second sweep runs nothing and gives the same table
  EXPECT_EQ(flatmin::train::run_sweep(s).at("rows"), agg.at("rows"));
  s.exe = "/opt/flatmin";
  const auto script = flatmin::train::slurm_script(s, runs);
  EXPECT_NE(script.find("#SBATCH --array=0-7"), std::string::npos);
  EXPECT_NE(script.find("mi1_noise0.4_seed2"), std::string::npos);
}

TEST(Sweep, ADivergedRunIsCountedAsFailedAndTheOthersRun) {
  TempDir dir;
  flatmin::train::SweepArgs s;
  s.config = {{"name", "d"},
              {"base", tiny_recipe("small_cnn", "sgd", json::object(), 1)},
              {"optimizers", {{{"label", "boom"}, {"name", "sgd"}, {"options", {{"lr", 1e30}}}},
                              {{"label", "fine"}, {"name", "sgd"}, {"options", {{"lr", 1e-2}}}}}}};
  s.out = dir / "sw";
  s.progress = false;
  try {
    flatmin::train::run_sweep(s);
    FAIL() << "the diverged run was not reported";
  } catch (const InputError& e) {
    FAIL() << "a diverged run is not bad input: " << e.what();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("1 run(s) failed: boom_"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos) << e.what();
  }
  const auto runs = flatmin::train::expand_sweep(s);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(flatmin::common::read_json_file(runs[0].dir / "manifest.json").at("status"), "diverged");
  EXPECT_TRUE(flatmin::train::run_finished(runs[1].dir));
  EXPECT_TRUE(fs::exists(dir / "sw" / "aggregate.json"));
}

TEST(Sweep, DataParallelRunsLocallyAndUnderSlurmMatchOneProcess) {
  // Each run as 2 ranks with --sync-bn (BN model): locally (2 child processes per run), and through
  // the printed SLURM script with a stand-in srun that starts its 2 tasks on this machine. Both must
  // equal the single-process sweep's models.
  TempDir dir;
  flatmin::train::SweepArgs s;
  s.config = {{"name", "dp"},
              {"base", tiny_recipe("small_resnet", "adam", json::object(), 2)},
              {"optimizers", {{{"label", "adam"}, {"name", "adam"}, {"options", {{"lr", 3e-3}}}}}},
              {"seeds", {1, 2}}};
  s.config["base"]["batch_size"] = 37;
  s.progress = false;
  s.exe = fs::path(FLATMIN_BIN_DIR) / "flatmin";
  s.threads = 2;
  s.out = dir / "one";
  const auto one = flatmin::train::run_sweep(s);
  s.out = dir / "two";
  s.workers = 1;
  s.ranks_per_run = 2;
  s.sync_bn = true;
  const auto two = flatmin::train::run_sweep(s);
  EXPECT_EQ(one.at("rows").at(0).at("runs_finished"), 2);
  EXPECT_EQ(two.at("rows").at(0).at("runs_finished"), 2);
  // the SLURM form: R tasks per array element, rank/GPU from SLURM_PROCID/SLURM_LOCALID
  s.out = dir / "slurm";
  const auto runs = flatmin::train::expand_sweep(s);
  const std::string script = flatmin::train::slurm_script(s, runs);
  EXPECT_NE(script.find("#SBATCH --ntasks-per-node=2"), std::string::npos);
  EXPECT_NE(script.find("--rank \"$SLURM_PROCID\" --local-rank \"$SLURM_LOCALID\""), std::string::npos) << script;
  {
    std::ofstream(dir / "job.sh") << script;
    fs::create_directories(dir / "bin");
    std::ofstream(dir / "bin" / "srun") << "#!/bin/bash\nfor i in 0 1; do SLURM_PROCID=$i SLURM_LOCALID=$i \"$@\" & done\n"
                                           "s=0; for j in 1 2; do wait -n || s=1; done; exit $s\n";
    fs::permissions(dir / "bin" / "srun", fs::perms::owner_all);
  }
  for (int task = 0; task < 2; ++task) {
    const std::string cmd = "PATH='" + (dir / "bin").string() + "':$PATH SLURM_ARRAY_TASK_ID=" + std::to_string(task) +
                            " SLURM_CPUS_PER_TASK=1 SLURM_JOB_ID=42 bash '" + (dir / "job.sh").string() + "' > '" +
                            (dir / ("job" + std::to_string(task) + ".log")).string() + "' 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "see " << (dir / ("job" + std::to_string(task) + ".log")).string();
  }
  for (const auto& r : runs) {
    for (const char* variant : {"two", "slurm"}) {
      const auto a = load_state(dir / "one" / "runs" / r.id), b = load_state(dir / variant / "runs" / r.id);
      ASSERT_EQ(a.size(), b.size());
      double worst = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        worst = std::max(worst, (a[i].to(torch::kDouble) - b[i].to(torch::kDouble)).abs().max().item<double>());
      }
      EXPECT_LT(worst, 1e-5) << r.id << " (" << variant << ")";
      const json m = flatmin::common::read_json_file(dir / variant / "runs" / r.id / "manifest.json");
      EXPECT_EQ(m.dump().find("\"world_size\":2") != std::string::npos, true) << m.dump().substr(0, 400);
    }
  }
  s.sync_bn = true;
  s.ranks_per_run = 1;
  EXPECT_THROW(flatmin::train::expand_sweep(s), InputError);  // --sync-bn without data parallelism
}

}  // namespace
