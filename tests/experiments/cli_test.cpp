// End-to-end tests of the executables: exit codes, one-line errors, no partial output files.
#include <algorithm>
#include <cstdio>
#include <vector>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"

namespace {

using flatmin::common::testing_support::TempDir;
namespace fs = std::filesystem;

flatmin::common::testing_support::CliRun run(const std::string& args, const TempDir& dir) {
  return flatmin::common::testing_support::run_cli(args, dir);
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

const char* kSpec = R"({"optimizer": "miadam2",
 "options": {"lr": 0.01, "betas": [0.9, 0.999], "kappa": 0.9, "switch_epoch": 3},
 "params": [[1.0, -2.0, 0.5], [0.3, 0.2]],
 "groups": [{"params": [0], "options": {}}, {"params": [1], "options": {"lr": 0.02}}],
 "steps": 40, "steps_per_epoch": 5,
 "quadratic": {"a": [[1.0, 2.0, 3.0], [0.5, 0.5]], "c": [[0, 0, 0], [1, 1]]}})";

TEST(OptimReplayCli, WritesCsvAndManifest) {
  TempDir dir;
  write(dir / "s.json", kSpec);
  const auto r = run("flatmin optim-replay --spec " + (dir / "s.json").string() + " --out " + (dir / "t.csv").string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream csv(dir / "t.csv");
  std::string header, line;
  std::getline(csv, header);
  EXPECT_EQ(header, "step,p0_0,p0_1,p0_2,p1_0,p1_1");
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, 41);
  std::ifstream mf(dir / "t.manifest.json");
  const auto manifest = nlohmann::json::parse(mf);
  EXPECT_EQ(manifest["status"], "ok");
  EXPECT_TRUE(manifest["libraries"].contains("libtorch"));
  EXPECT_EQ(manifest["config"]["resolved_options"][1]["lr"], 0.02);
}

// The schema as a table and as JSON; an unknown name is one line, exit 2, naming the nearest.
TEST(ListOptimizersCli, PrintsEachOptimizersOptionsFromItsSchema) {
  TempDir dir;
  auto r = run("flatmin list-optimizers --options miadam2", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream t(dir / "stdout.txt");
  const std::string table((std::istreambuf_iterator<char>(t)), std::istreambuf_iterator<char>());
  EXPECT_NE(table.find("kappa"), std::string::npos) << table;
  EXPECT_NE(table.find("0 < kappa <= 1"), std::string::npos) << table;
  EXPECT_NE(table.find("fixed by the name"), std::string::npos) << table;  // order = 2
  r = run("flatmin list-optimizers --options nadam_keras --json", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(std::ifstream(dir / "stdout.txt"));
  std::vector<std::string> names;
  for (const auto& f : j) names.push_back(f.at("name").get<std::string>());
  EXPECT_NE(std::find(names.begin(), names.end(), "schedule_decay"), names.end());
  EXPECT_EQ(std::find(names.begin(), names.end(), "momentum_decay"), names.end());
  r = run("flatmin list-optimizers --options miadm", dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("did you mean 'miadam'"), std::string::npos) << r.err;
}

TEST(OptimReplayCli, BadInputGivesOneErrorLineExitTwoAndNoFile) {
  TempDir dir;
  std::string spec = kSpec;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"kappa\": 0.9", "kappa\": 1.5"},
      {"\"steps\": 40", "\"steps\": 40, \"grads\": []"},
      {"\"betas\": [0.9, 0.999]", "\"betas\": [0.9, 1.0]"},
      {"\"lr\": 0.01,", "\"lr\": 0.01, \"order\": 0,"},
      {"-2.0", "1e999"},
  };
  for (const auto& [from, to] : cases) {
    std::string bad = spec;
    bad.replace(bad.find(from), from.size(), to);
    write(dir / "bad.json", bad);
    const auto r = run("flatmin optim-replay --spec " + (dir / "bad.json").string() + " --out " + (dir / "o.csv").string(), dir);
    EXPECT_EQ(r.code, 2) << to;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("flatmin: error: ", 0), 0u) << r.err;
    EXPECT_FALSE(fs::exists(dir / "o.csv")) << to;
    for (const auto& e : fs::directory_iterator(dir.path())) {
      EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << "leftover temp file " << e.path();
    }
  }
  const auto missing = run("flatmin optim-replay --spec " + (dir / "none.json").string() + " --out " + (dir / "o.csv").string(), dir);
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("none.json"), std::string::npos);
  const auto usage = run("flatmin optim-replay --spec x.json", dir);
  EXPECT_EQ(usage.code, 2);
  EXPECT_NE(usage.err.find("--out"), std::string::npos);
}

TEST(ReproduceCli, WritesReportWithVerdicts) {
  TempDir dir;
  const auto r = run("flatmin reproduce --only dualadam_warmup --out " + (dir / "res").string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(dir / "res" / "report.json");
  const auto report = nlohmann::json::parse(in);
  EXPECT_EQ(report["checks"].get<int>(), 30);
  for (const auto& row : report["rows"]) {
    EXPECT_TRUE(row["verdict"] == "holds" || row["verdict"] == "differs");
    EXPECT_TRUE(row["ours"].is_number());
  }
  EXPECT_TRUE(fs::exists(dir / "res" / "dualadam_warmup" / "manifest.json"));
  EXPECT_TRUE(fs::exists(dir / "res" / "dualadam_warmup" / "table.csv"));
  const auto bad = run("flatmin reproduce --device cuda:0 --out " + (dir / "res2").string(), dir);
  EXPECT_EQ(bad.code, 2);  // no CUDA here: one clear line
  EXPECT_FALSE(fs::exists(dir / "res2" / "report.json"));
}

TEST(ReproduceCli, VerdictKindsPapersAndSmokeSkip) {
  TempDir dir;
  std::ifstream in(fs::path(FLATMIN_TEST_DATA_DIR).parent_path().parent_path() / "experiments" / "configs" / "reproduce.json");
  const auto shipped = nlohmann::json::parse(in);
  auto dual = shipped["targets"]["dualadam_warmup"];
  dual["paper"] = "002";
  dual["conditions"] = {{"step ratio at t=1,", "t = 1"}, {"step ratio at t=6250, g=3", "never: this row differs"}};
  dual["reference"][3][4] = 99.0;  // t=6250, g=3 now differs: a condition must not turn it into holds_when
  auto yang = shipped["targets"]["sim_yang_landscape"];
  yang["profiles"] = {{"smoke", {{"skip", "skipped for the test"}}}};
  const nlohmann::json config = {
      {"papers", {{"002", {{"title", "DualAdam"}}}}},
      {"not_reproducible", {{{"paper", "003"}, {"quantity", "a GPU table"}, {"reason", "GPU scale"}, {"reference", 1.5}}}},
      {"targets", {{"dualadam_warmup", dual}, {"sim_yang_landscape", yang}}}};
  std::ofstream(dir / "r.json") << config.dump();
  const auto r = run("flatmin reproduce --profile smoke --config " + (dir / "r.json").string() + " --out " + (dir / "res").string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto report = nlohmann::json::parse(std::ifstream(dir / "res" / "report.json"));
  EXPECT_EQ(report["profile"], "smoke");
  EXPECT_EQ(report["checks"].get<int>(), 30);  // the not-reproducible claim is not a check
  EXPECT_EQ(report["papers"]["002"]["title"], "DualAdam");
  std::map<std::string, int> kinds;
  for (const auto& row : report["rows"]) {
    const std::string q = row["quantity"], v = row["verdict"];
    ++kinds[v];
    if (row["target"] == "dualadam_warmup") {
      EXPECT_EQ(row["paper"], "002");
      if (q.rfind("step ratio at t=1,", 0) == 0) {
        EXPECT_EQ(v, "holds_when") << q;
        EXPECT_EQ(row["note"].get<std::string>().rfind("holds only when t = 1", 0), 0u) << row["note"];
      } else if (q == "step ratio at t=6250, g=3") {
        EXPECT_EQ(v, "differs");
      } else {
        EXPECT_TRUE(v == "holds" || v == "differs") << q;
      }
    } else {
      EXPECT_EQ(row["target"], "not_reproducible_here");
      EXPECT_EQ(v, "not_reproducible");
      EXPECT_EQ(row["paper"], "003");
      EXPECT_EQ(row["note"], "GPU scale");
      EXPECT_TRUE(row["ours"].is_null());
      EXPECT_EQ(row["reference"].get<double>(), 1.5);
    }
  }
  EXPECT_EQ(kinds["holds_when"], 5);
  EXPECT_EQ(kinds["not_reproducible"], 1);
  EXPECT_GE(kinds["differs"], 1);
  EXPECT_EQ(report["verdicts"]["holds_when"].get<int>(), 5);
  ASSERT_EQ(report["skipped"].size(), 1u);
  EXPECT_EQ(report["skipped"][0]["target"], "sim_yang_landscape");
  EXPECT_EQ(report["skipped"][0]["reason"], "skipped for the test");
  const auto skipped = nlohmann::json::parse(std::ifstream(dir / "res" / "sim_yang_landscape" / "summary.json"));
  EXPECT_EQ(skipped["skipped"], "skipped for the test");
  EXPECT_TRUE(fs::exists(dir / "res" / "sim_yang_landscape" / "manifest.json"));
  std::ifstream md(dir / "res" / "report.md");
  const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("not reproducible here"), std::string::npos);
  EXPECT_NE(text.find("holds only when"), std::string::npos);
  EXPECT_NE(text.find("| sim_yang_landscape | — | — | — | skipped |"), std::string::npos);
}

TEST(ReproduceCli, TypoedKeyOrTargetNamesTheNearestExit2NothingWritten) {
  TempDir dir;
  std::ifstream in(fs::path(FLATMIN_TEST_DATA_DIR).parent_path().parent_path() / "experiments" / "configs" / "reproduce.json");
  const auto shipped = nlohmann::json::parse(in);
  auto target = shipped["targets"]["dualadam_warmup"];
  target["sig_digit"] = target["sig_digits"];
  target.erase("sig_digits");
  struct Case {
    nlohmann::json config;
    std::string nearest;
  };
  const std::vector<Case> cases = {
      {{{"targets", {{"dualadam_warmup", target}}}}, "did you mean 'sig_digits'"},
      {{{"targets", {{"dualadam_warmpu", shipped["targets"]["dualadam_warmup"]}}}}, "did you mean 'dualadam_warmup'"},
      {{{"target", shipped["targets"]}, {"targets", nlohmann::json::object()}}, "did you mean 'targets'"},
  };
  for (const auto& c : cases) {
    std::ofstream(dir / "r.json") << c.config.dump();
    const auto r = run("flatmin reproduce --config " + (dir / "r.json").string() + " --out " + (dir / "res").string(), dir);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(c.nearest), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "res"));
  }
  const auto only = run("flatmin reproduce --only dualadam_warmpu --out " + (dir / "res").string(), dir);
  EXPECT_EQ(only.code, 2);
  EXPECT_NE(only.err.find("did you mean 'dualadam_warmup'"), std::string::npos) << only.err;
}

TEST(TrainCli, TypoedKeyNamesTheNearestExit2NothingWritten) {
  TempDir dir;
  std::ofstream(dir / "t.json") << R"({"data": {"dataset": "synthetic"}, "model": {"name": "small_cnn"},
    "optimizer": {"name": "sgd", "options": {"lr": 0.1}}, "epochz": 1})";
  const auto r = run("flatmin --threads 1 train --no-progress --config " + (dir / "t.json").string() + " --out " + (dir / "run").string(), dir);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("did you mean 'epochs'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "run"));
}

TEST(TheoryCli, MIAdamGainAndBadInput) {
  TempDir dir;
  const auto ok = run("flatmin-theory miadam-gain --kappa 0.5 --order 2 --steps 3 --out " + (dir / "g.csv").string(), dir);
  ASSERT_EQ(ok.code, 0) << ok.err;
  std::ifstream csv(dir / "g.csv");
  std::string header, l1, l2, l3;
  std::getline(csv, header);
  std::getline(csv, l1);
  std::getline(csv, l2);
  std::getline(csv, l3);
  EXPECT_EQ(header, "step,buffer_gain,step_ratio");
  EXPECT_EQ(l3.substr(0, 7), "3,2.75,");  // b_2 recursion with m ≡ 1, κ = 0.5: 1, 2, 2.75
  const auto bad = run("flatmin-theory miadam-gain --kappa 1.5 --out " + (dir / "h.csv").string(), dir);
  EXPECT_EQ(bad.code, 2);
  EXPECT_FALSE(fs::exists(dir / "h.csv"));
}

}  // namespace

namespace {

TEST(TrainCli, UnavailableDeviceOrBackendGivesOneLineAndNoFolder) {
  TempDir dir;
  const std::string recipe = std::string(FLATMIN_TEST_DATA_DIR) + "/../../experiments/configs/fmnist_small_cnn.json";
  const auto out = dir / "run";
  struct Case {
    std::string flags, says;
  };
  std::vector<Case> cases = {
      {"--device cuda", "no usable CUDA device"},
      {"--device tpu", "is not a device"},
      {"--dist-backend mpi", "dist-backend"},
      {"--world-size 2 --rank 0", "--dist-store"},
  };
#ifndef FLATMIN_HAVE_NCCL  // a build without NCCL refuses it before any rendezvous or file
  {
    cases.push_back({"--world-size 2 --rank 0 --dist-store " + (dir / "store").string() + " --dist-backend nccl",
                     "built without NCCL"});
  }
#endif
  for (const auto& c : cases) {
    const auto r = run("flatmin --threads 1 train --config " + recipe + " --no-progress --out " + out.string() + " " + c.flags, dir);
    EXPECT_NE(r.code, 0) << c.flags;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.flags << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.flags << ": " << r.err;
    EXPECT_FALSE(fs::exists(out)) << c.flags;
    EXPECT_FALSE(fs::exists(dir / "store")) << c.flags;
  }
}

}  // namespace
