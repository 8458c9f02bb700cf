// Issue 13 item 3 (label `cuda`), end to end through the `flatmin` executable on the test device:
// `flatmin train --device cuda` for one epoch on the synthetic set writes a checkpoint that `--resume`
// continues bit-identically to an uninterrupted run on the device; `flatmin hessian --device cuda`
// (a TorchScript fixture, and the trained checkpoint) equals the CPU run in float64. Skipped without a
// CUDA device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/json_io.h"
#include "experiments/models/models.h"
#include "tests/cuda/test_device.h"
#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using flatmin::common::testing_support::TempDir;

namespace {

flatmin::common::testing_support::CliRun flatmin_cli(const std::string& args, const TempDir& dir) {
  return flatmin::common::testing_support::run_cli("flatmin --threads 1 " + args, dir);
}

json read_json(const fs::path& p) { return flatmin::common::read_json_file(p); }

/// Column `col` of a CSV file with a header row.
std::vector<double> csv_column(const fs::path& p, size_t col) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  std::vector<double> out;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell;
    for (size_t c = 0; c <= col; ++c) std::getline(ss, cell, ',');
    out.push_back(std::strtod(cell.c_str(), nullptr));  // stod throws on subnormal densities
  }
  return out;
}

/// A CSV file's text without its last column (metrics.csv's wall time, time_s).
std::string without_last_column(const fs::path& p) {
  std::ifstream in(p);
  std::string line, out;
  while (std::getline(in, line)) out += line.substr(0, line.rfind(',')) + "\n";
  return out;
}

/// The device run's summary.json/esd.csv equal the CPU run's: top eigenvalues, trace, density.
void expect_same_spectrum(const fs::path& cpu, const fs::path& dev) {
  const json a = read_json(cpu / "summary.json"), b = read_json(dev / "summary.json");
  const double tol = flatmin::test::kRelTolSpectrumDevice;
  ASSERT_EQ(a["top_eigenvalues"].size(), b["top_eigenvalues"].size());
  ASSERT_FALSE(a["top_eigenvalues"].empty());
  for (size_t i = 0; i < a["top_eigenvalues"].size(); ++i) {
    const double x = a["top_eigenvalues"][i]["value"], y = b["top_eigenvalues"][i]["value"];
    EXPECT_NEAR(y, x, tol * std::abs(x)) << "eigenvalue " << i;
    EXPECT_TRUE(b["top_eigenvalues"][i]["converged"].get<bool>()) << "eigenvalue " << i;
  }
  const double tc = a["trace"]["estimate"], td = b["trace"]["estimate"];
  EXPECT_NEAR(td, tc, tol * std::abs(tc)) << "trace";
  EXPECT_EQ(a["trace"]["n"], b["trace"]["n"]);
  const auto dc = csv_column(cpu / "esd.csv", 1), dd = csv_column(dev / "esd.csv", 1);
  ASSERT_EQ(dc.size(), dd.size());
  ASSERT_FALSE(dc.empty());
  const double peak = *std::max_element(dc.begin(), dc.end());
  for (size_t i = 0; i < dc.size(); ++i) EXPECT_NEAR(dd[i], dc[i], tol * peak) << "density bin " << i;
}

/// Parameters and buffers of a run's model_final.pt (on the CPU).
std::vector<torch::Tensor> load_state(const fs::path& run) {
  const json mj = read_json(run / "model.json");
  auto net = flatmin::models::make_model(flatmin::models::ModelSpec::from_json(mj.at("model")));
  torch::serialize::InputArchive a;
  a.load_from((run / "model_final.pt").string(), torch::Device(torch::kCPU));
  net->load(a);
  std::vector<torch::Tensor> out;
  for (const auto& p : net->named_parameters()) out.push_back(p.value().clone());
  for (const auto& b : net->named_buffers()) out.push_back(b.value().clone());
  return out;
}

json tiny_recipe() {
  return {{"name", "cuda_tiny"},
          {"data", {{"dataset", "synthetic"},
                    {"synthetic", {{"n", 192}, {"classes", 4}, {"size", 8}, {"noise", 50.0}, {"seed", 3}}},
                    {"augment", {{"crop_padding", 1}, {"hflip", true}}},
                    {"label_noise", {{"rate", 0.2}}}}},
          {"model", {{"name", "small_resnet"}, {"options", {{"widths", {8, 16}}, {"blocks", {1, 1}}}}}},
          // MIAdam1 switches to Adam at epoch 2: inside the resumed part
          {"optimizer", {{"name", "miadam1"}, {"options", {{"lr", 2e-2}, {"kappa", 0.9}, {"switch_epoch", 2}, {"weight_decay", 5e-5}}}}},
          {"epochs", 2},
          {"batch_size", 32},
          {"schedule", {{"type", "multistep"}, {"milestones", {2}}, {"gamma", 0.5}, {"warmup_epochs", 0.5}}},
          {"seed", 11}};
}

}  // namespace

TEST(CudaCli, TrainOneEpochOnDeviceThenResumeIsBitIdentical) {
  FLATMIN_TEST_DEVICE_OR_SKIP(dev);
  TempDir tmp;
  const auto config = tmp / "recipe.json";
  flatmin::common::write_json_atomic(config, tiny_recipe());
  const std::string base = "train --config " + config.string() + " --device " + dev.str() + " --no-progress --out ";
  auto r = flatmin_cli(base + (tmp / "straight").string(), tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  r = flatmin_cli(base + (tmp / "resumed").string() + " --stop-after 1", tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(fs::exists(tmp / "resumed" / "checkpoint.pt"));
  EXPECT_EQ(read_json(tmp / "resumed" / "manifest.json").at("status"), "interrupted");
  r = flatmin_cli(base + (tmp / "resumed").string() + " --resume", tmp);
  ASSERT_EQ(r.code, 0) << r.err;

  const auto sa = load_state(tmp / "straight"), sb = load_state(tmp / "resumed");
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) EXPECT_TRUE(torch::equal(sa[i], sb[i])) << "tensor " << i;
  const json ra = read_json(tmp / "straight" / "result.json"), rb = read_json(tmp / "resumed" / "result.json");
  EXPECT_EQ(ra.at("status"), "finished");
  EXPECT_EQ(ra.at("final_train_loss").get<double>(), rb.at("final_train_loss").get<double>());
  EXPECT_EQ(ra.at("best_test_acc").get<double>(), rb.at("best_test_acc").get<double>());
  EXPECT_EQ(without_last_column(tmp / "straight" / "metrics.csv"), without_last_column(tmp / "resumed" / "metrics.csv"));

  // the trained checkpoint's Hessian (convolutions, BatchNorm) on the device equals the CPU's
  const std::string h = "hessian --checkpoint " + (tmp / "straight").string() +
                        " --subset 40 --dtype float64 --top-k 2 --trace --trace-min-samples 10 --trace-max-samples 10"
                        " --density --slq-steps 15 --slq-runs 2 --seed 7 --out ";
  r = flatmin_cli(h + (tmp / "h_cpu").string() + " --device cpu", tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  r = flatmin_cli(h + (tmp / "h_dev").string() + " --device " + dev.str(), tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_same_spectrum(tmp / "h_cpu", tmp / "h_dev");
}

TEST(CudaCli, HessianOnDeviceEqualsCpu) {
  FLATMIN_TEST_DEVICE_OR_SKIP(dev);
  TempDir tmp;
  const std::string args = "hessian --model " + flatmin::test::pyhessian_fixture("mlp_bn.pt") +
                           " --data " + flatmin::test::pyhessian_fixture("mlp_bn_data.pt") + " --loss cross_entropy --top-k 2 --trace --density --slq-runs 3"
                           " --num-bins 300 --dtype float64 --out ";
  auto r = flatmin_cli(args + (tmp / "cpu").string() + " --device cpu", tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  r = flatmin_cli(args + (tmp / "dev").string() + " --device " + dev.str(), tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_same_spectrum(tmp / "cpu", tmp / "dev");
  EXPECT_EQ(read_json(tmp / "dev" / "manifest.json").at("status"), "ok");
}
