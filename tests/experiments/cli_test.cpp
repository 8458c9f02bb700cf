// End-to-end tests of the executables: exit codes, one-line errors, no partial output files.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/bad_output.h"
#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"

namespace {

using flatmin::common::testing_support::slurp;
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
      {"\"steps\": 40", "\"steps\": 1000000000000000000"},  // a count above its documented bound
      {"\"steps_per_epoch\"", "\"step_per_epoch\""},       // a typo names the nearest key
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

// A trajectory that overflows is an outcome: exit 1, one "diverged" line naming the step, a manifest, no CSV.
TEST(OptimReplayCli, NonFiniteParameterIsDivergedWithItsStep) {
  TempDir dir;
  write(dir / "s.json", R"({"optimizer": "sgd", "options": {"lr": 1e300}, "params": [[1.0, 2.0]], "steps": 5,
                            "quadratic": {"a": [[1e300, 1e300]], "c": [[0, 0]]}})");
  const auto r = run("flatmin optim-replay --spec " + (dir / "s.json").string() + " --out " + (dir / "t.csv").string(), dir);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("flatmin: diverged: step 1: parameter 0 is non-finite (sgd)", 0), 0u) << r.err;
  EXPECT_FALSE(fs::exists(dir / "t.csv"));
  const auto manifest = nlohmann::json::parse(std::ifstream(dir / "t.manifest.json"));
  EXPECT_EQ(manifest["status"], "diverged");
  EXPECT_NE(manifest["message"].get<std::string>().find("step 1"), std::string::npos);
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

// Reuse: a target whose inputs (resolved config, profile, device, code version) did not change keeps its results
// (same manifest, same rows, "reused" on stdout and in report.json); --force or a changed config redoes it.
TEST(ReproduceCli, UnchangedInputsAreReusedForceOrNewConfigRedoes) {
  TempDir dir;
  std::ifstream in(fs::path(FLATMIN_TEST_DATA_DIR).parent_path().parent_path() / "experiments" / "configs" / "reproduce.json");
  const auto shipped = nlohmann::json::parse(in);
  nlohmann::json config = {{"targets", {{"table3_text", shipped["targets"]["table3_text"]}}}};
  std::ofstream(dir / "r.json") << config.dump();
  const std::string cmd = "flatmin reproduce --config " + (dir / "r.json").string() + " --out " + (dir / "res").string();
  const auto read = [&](const std::string& f) { return nlohmann::json::parse(std::ifstream(dir / "res" / f)); };
  struct Out {
    int code;
    std::string err, out;
  };
  const auto go = [&](const std::string& c) {
    const auto r = run(c, dir);
    std::ifstream o(dir / "stdout.txt");
    return Out{r.code, r.err, std::string((std::istreambuf_iterator<char>(o)), std::istreambuf_iterator<char>())};
  };
  const auto first = go(cmd);
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_EQ(first.out.find("reused"), std::string::npos) << first.out;
  const auto manifest1 = read("table3_text/manifest.json");
  const auto rows1 = read("report.json")["rows"];
  EXPECT_EQ(read("table3_text/inputs.json")["inputs"]["profile"], "quick");
  std::ofstream(dir / "res" / "table3_text" / "marker") << "kept";
  const auto second = go(cmd);
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.out.find("table3_text reused"), std::string::npos) << second.out;
  EXPECT_EQ(read("table3_text/manifest.json"), manifest1);
  EXPECT_EQ(read("report.json")["rows"], rows1);
  EXPECT_EQ(read("report.json")["reused"], nlohmann::json::array({"table3_text"}));
  EXPECT_TRUE(fs::exists(dir / "res" / "table3_text" / "marker"));
  const auto forced = go(cmd + " --force");
  ASSERT_EQ(forced.code, 0) << forced.err;
  EXPECT_EQ(forced.out.find("reused"), std::string::npos) << forced.out;
  EXPECT_FALSE(fs::exists(dir / "res" / "table3_text" / "marker"));  // a redone target starts from an empty folder
  EXPECT_EQ(read("report.json")["rows"], rows1);                      // deterministic: the same rows again
  EXPECT_TRUE(read("report.json")["reused"].empty());
  config["targets"]["table3_text"]["z_min"] = 100;  // changed input: redone, and the rows show it
  std::ofstream(dir / "r.json") << config.dump();
  const auto changed = go(cmd);
  ASSERT_EQ(changed.code, 0) << changed.err;
  EXPECT_EQ(changed.out.find("reused"), std::string::npos) << changed.out;
  EXPECT_NE(read("report.json")["rows"], rows1);
  const auto smoke = go(cmd + " --profile smoke");  // another profile is another input
  ASSERT_EQ(smoke.code, 0) << smoke.err;
  EXPECT_EQ(smoke.out.find("reused"), std::string::npos) << smoke.out;
}

// A config file the target names (here by an absolute path in its notes; in practice a sweep's base recipe or the
// theory suite's config_file) is an input too: editing it redoes the target.
TEST(ReproduceCli, EditedReferencedConfigFileRedoes) {
  TempDir dir;
  std::ifstream in(fs::path(FLATMIN_TEST_DATA_DIR).parent_path().parent_path() / "experiments" / "configs" / "reproduce.json");
  const auto shipped = nlohmann::json::parse(in);
  auto target = shipped["targets"]["table3_text"];
  target["notes"] = {{"recipe", (dir / "recipe.json").string()}};
  std::ofstream(dir / "r.json") << nlohmann::json({{"targets", {{"table3_text", target}}}}).dump();
  std::ofstream(dir / "recipe.json") << R"({"lr": 0.1})";
  const std::string cmd = "flatmin reproduce --config " + (dir / "r.json").string() + " --out " + (dir / "res").string();
  const auto reused = [&] {
    const auto r = run(cmd, dir);
    EXPECT_EQ(r.code, 0) << r.err;
    return nlohmann::json::parse(std::ifstream(dir / "res" / "report.json"))["reused"].size() == 1;
  };
  EXPECT_FALSE(reused());
  EXPECT_TRUE(reused());
  std::ofstream(dir / "recipe.json") << R"({"lr": 0.2})";
  EXPECT_FALSE(reused());
  EXPECT_NE(nlohmann::json::parse(std::ifstream(dir / "res" / "table3_text" / "inputs.json"))["inputs"]["files"].dump().find("recipe.json"),
            std::string::npos);
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

// Bad input that used to run (issue 15): a train_subset larger than the data, a model size of 0 or -1.
TEST(TrainCli, SilentlyAcceptedInputIsRefusedNamingTheKey) {
  TempDir dir;
  const std::string head = R"({"data": {"dataset": "synthetic", "synthetic": {"n": 64, "classes": 4, "channels": 1, "size": 8})";
  const std::string tail = R"(, "optimizer": {"name": "sgd", "options": {"lr": 0.1}}, "epochs": 1, "batch_size": 32})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {head + R"(, "train_subset": 1000}, "model": {"name": "small_cnn"})" + tail, "data.train_subset = 1000 is larger"},
      {head + R"(, "test_subset": 1000}, "model": {"name": "small_cnn"})" + tail, "data.test_subset = 1000 is larger"},
      {head + R"(}, "model": {"name": "small_cnn", "options": {"width1": 0}})" + tail, "options.width1 = 0 must be in [1,"},
      {head + R"(}, "model": {"name": "small_cnn", "options": {"hidden": -3}})" + tail, "options.hidden = -3 must be in [1,"},
      {head + R"(}, "model": {"name": "small_cnn", "options": {"width2": 2.5}})" + tail, "options.width2 = 2.5 must be an integer"},
      {head + R"(}, "model": {"name": "small_cnn", "options": {"widht1": 4}})" + tail, "did you mean 'width1'"},
  };
  for (const auto& [cfg, says] : cases) {
    std::ofstream(dir / "t.json") << cfg;
    const auto r = run("flatmin --threads 1 train --no-progress --config " + (dir / "t.json").string() + " --out " +
                           (dir / "run").string(), dir);
    EXPECT_EQ(r.code, 2) << cfg << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("flatmin: error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << says << " in " << r.err;
    EXPECT_FALSE(fs::exists(dir / "run")) << cfg;
  }
}

TEST(Cli, MistypedSubcommandIsNamedWithTheNearest) {
  TempDir dir;
  for (const auto& [cmd, says] : std::vector<std::pair<std::string, std::string>>{
           {"flatmin --threads 1 trian --config x.json", "unknown subcommand 'trian' (did you mean 'train'?"},
           {"flatmin-theory --threads 1 escape --config x.json", "unknown subcommand 'escape' (did you mean 'escape-time'?"},
           {"flatmin", "A subcommand is required"}}) {
    const auto r = run(cmd, dir);
    EXPECT_EQ(r.code, 2) << cmd << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << says << " in " << r.err;
  }
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
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(dir / "g.manifest.json")).at("status"), "ok");
}

TEST(TheoryCli, MIAdamGainOverflowIsDivergedNotInfRows) {
  // lr^n x gain = (1e10)^40 x ... overflows at step 1: exit 1, one line, no CSV, manifest "diverged"
  TempDir dir;
  const auto r = run("flatmin-theory miadam-gain --kappa 0.9 --order 40 --lr 1e10 --steps 5 --out " + (dir / "g.csv").string(), dir);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("flatmin-theory: diverged: miadam-gain: step 1: step_ratio", 0), 0u) << r.err;
  EXPECT_FALSE(fs::exists(dir / "g.csv"));
  const auto m = nlohmann::json::parse(std::ifstream(dir / "g.manifest.json"));
  EXPECT_EQ(m.at("status"), "diverged");
  EXPECT_NE(m.at("message").get<std::string>().find("overflows"), std::string::npos);
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
      {"--sync-bn", "--sync-bn needs --world-size > 1"},  // one rank: the flag would do nothing (issue 15)
      {"--world-size 0", "--world-size 0 must be in [1, 4096]"},
      {"--world-size 2 --rank 2", "--rank 2 is not in [0, --world-size 2)"},
  };
#ifndef FLATMIN_HAVE_NCCL  // a build without NCCL refuses it before any rendezvous or file
  {
    cases.push_back({"--dist-backend nccl", "--dist-backend nccl: distributed: backend nccl requested"});  // one rank, too
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

// ---- --threads in either position, --version, TorchScript in and out of `flatmin train` --------------------

namespace {

/// Runs `code` with /usr/bin/python3 in `dir` (as script.py with `args`); the exit status, stderr in `err`.
int python(const std::string& code, const TempDir& dir, const std::string& args = "", std::string* err = nullptr) {
  write(dir / "script.py", code);
  const std::string cmd = "cd " + dir.path().string() + " && /usr/bin/python3 script.py " + args + " > py_out.txt 2> py_err.txt";
  const int status = std::system(cmd.c_str());
  if (err) *err = slurp(dir / "py_err.txt");
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool have_python_torch() { return std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") == 0; }

}  // namespace

// `--threads` is the executables' option, accepted before and after every subcommand: --threads=-1 is refused
// by the one check after parsing (so the parse succeeded and bound the value) in both positions.
TEST(Cli, ThreadsIsAcceptedBeforeAndAfterEverySubcommand) {
  TempDir dir;
  struct Prog {
    std::string name, says;
    std::vector<std::pair<std::string, std::string>> subcommands;  // name, its required arguments
  };
  const std::vector<Prog> progs = {
      {"flatmin", "--threads = -1 must be >= 0",
       {{"optim-replay", "--spec s.json --out o.csv"}, {"reproduce", ""}, {"simulate", "trajectories --config c.json --out o"},
        {"hessian", "--out o"}, {"train", "--config c.json"}, {"sweep", "--config c.json"}, {"list-optimizers", ""}}},
      {"flatmin-theory", "--threads = -1 must be >= 0",
       {{"escape-time", "--config c.json --out o"}, {"sweep", "--config c.json --out o"}, {"regret", "--config c.json --out o"},
        {"flow", "--config c.json --out o"}, {"validate", ""}, {"miadam-gain", "--out o.csv"}}},
  };
  for (const auto& p : progs) {
    for (const auto& [sub, rest] : p.subcommands) {
      for (const std::string& cmd : {p.name + " --threads=-1 " + sub + " " + rest, p.name + " " + sub + " --threads=-1 " + rest,
                                     p.name + " " + sub + " " + rest + " --threads=-1"}) {
        const auto r = run(cmd, dir);
        EXPECT_EQ(r.code, 2) << cmd << ": " << r.err;
        EXPECT_NE(r.err.find(p.says), std::string::npos) << cmd << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << cmd << ": " << r.err;
      }
    }
  }
  // and the value is the one used, in either position
  write(dir / "s.json", kSpec);
  for (const auto& [cmd, threads] : std::vector<std::pair<std::string, int>>{
           {"flatmin optim-replay --threads 2 --spec s.json --out a.csv", 2}, {"flatmin --threads 3 optim-replay --spec s.json --out a.csv", 3}}) {
    const auto c = run(cmd.substr(0, cmd.find("--spec")) + "--spec " + (dir / "s.json").string() + " --out " + (dir / "a.csv").string(), dir);
    ASSERT_EQ(c.code, 0) << cmd << ": " << c.err;
    EXPECT_EQ(nlohmann::json::parse(std::ifstream(dir / "a.manifest.json"))["intra_op_threads"].get<int>(), threads) << cmd;
  }
  const auto theory = run("flatmin-theory miadam-gain --threads 1 --kappa 0.5 --steps 3 --out " + (dir / "g.csv").string(), dir);
  EXPECT_EQ(theory.code, 0) << theory.err;
  EXPECT_TRUE(fs::exists(dir / "g.csv"));
}

// --version: program and version, the source tree's git SHA, the LibTorch version, the build type; exit 0.
TEST(Cli, VersionPrintsVersionGitShaLibtorchAndBuildType) {
  TempDir dir;
  const std::string src = fs::path(FLATMIN_TEST_DATA_DIR).parent_path().parent_path().string();
  ASSERT_EQ(std::system(("git -C " + src + " rev-parse HEAD > " + (dir / "sha.txt").string() + " 2>/dev/null").c_str()), 0);
  std::string sha = slurp(dir / "sha.txt");
  sha = sha.substr(0, sha.find('\n'));
  ASSERT_EQ(sha.size(), 40u);
  for (const std::string prog : {"flatmin", "flatmin-theory"}) {
    for (const std::string& args : {prog + " --version", prog + " --threads 1 --version"}) {
      const auto r = run(args, dir);
      ASSERT_EQ(r.code, 0) << args << ": " << r.err;
      std::istringstream out(slurp(dir / "stdout.txt"));
      std::vector<std::string> lines;
      for (std::string l; std::getline(out, l);) lines.push_back(l);
      ASSERT_EQ(lines.size(), 4u) << args << ": " << slurp(dir / "stdout.txt");
      EXPECT_EQ(lines[0].rfind(prog + " ", 0), 0u) << lines[0];
      EXPECT_GT(lines[0].size(), prog.size() + 1) << lines[0];
      EXPECT_EQ(lines[1].rfind("git sha: " + sha, 0), 0u) << lines[1];
      if (prog == "flatmin") {
        EXPECT_EQ(lines[2].rfind("libtorch: ", 0), 0u) << lines[2];
        EXPECT_TRUE(lines[2].size() > 10 && std::isdigit(static_cast<unsigned char>(lines[2][10]))) << lines[2];
      } else {
        EXPECT_EQ(lines[2], "libtorch: not linked (LibTorch-free)");
      }
      EXPECT_EQ(lines[3].rfind("build type: ", 0), 0u) << lines[3];
      EXPECT_GT(lines[3].size(), std::string("build type: ").size()) << lines[3];
    }
  }
}

namespace {

// A user's architecture as TorchScript (BatchNorm included), for 4 classes, and the same for 3 classes.
const char* kMakeTorchScriptModels = R"PY(
import torch
class Net(torch.nn.Module):
    def __init__(self, classes: int):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4, classes)
    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).mean([2, 3]))
torch.manual_seed(0)
torch.jit.script(Net(4)).save("net4.pt")
torch.jit.script(Net(3)).save("net3.pt")
rgb = Net(4)
rgb.conv = torch.nn.Conv2d(3, 4, 3, padding=1)  # expects 3 channels, the data has 1
torch.jit.script(rgb).save("net_rgb.pt")
)PY";

nlohmann::json ts_recipe(const nlohmann::json& model) {
  return {{"name", "ts"},
          {"data", {{"dataset", "synthetic"}, {"synthetic", {{"n", 64}, {"classes", 4}, {"size", 8}, {"seed", 2}}}}},
          {"model", model},
          {"optimizer", {{"name", "adam"}, {"options", {{"lr", 0.01}}}}},
          {"epochs", 1},
          {"batch_size", 16},
          {"seed", 1}};
}

}  // namespace

// "model": {"torchscript": "net.pt"}: the module's parameters are trained by a registry optimizer, its BatchNorm
// buffers are updated in train mode, model.pt is the trained module (Python loads and runs it), and
// `flatmin hessian --checkpoint` rebuilds it from the run.
TEST(TrainCli, TorchScriptModelTrainsAndPythonRunsTheResult) {
  if (!have_python_torch()) GTEST_SKIP() << "/usr/bin/python3 has no torch";
  TempDir dir;
  std::string err;
  ASSERT_EQ(python(kMakeTorchScriptModels, dir, "", &err), 0) << err;
  std::ofstream(dir / "t.json") << ts_recipe({{"torchscript", (dir / "net4.pt").string()}}).dump();
  const auto run_dir = dir / "run";
  const auto r = run("flatmin train --threads 1 --no-progress --config " + (dir / "t.json").string() + " --out " + run_dir.string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto result = nlohmann::json::parse(std::ifstream(run_dir / "result.json"));
  EXPECT_EQ(result["status"], "finished");
  EXPECT_EQ(result["parameters"].get<int>(), 4 * 9 + 4 + 2 * 4 + 4 * 4 + 4);  // conv, bn (weight, bias), fc
  const int batches = (result["train_size"].get<int>() + 15) / 16;
  const auto config = nlohmann::json::parse(std::ifstream(run_dir / "config.json"));
  EXPECT_EQ(config["model"]["name"], "torchscript");
  EXPECT_EQ(config["model"]["options"]["path"], (dir / "net4.pt").string());
  ASSERT_EQ(python(R"PY(
import sys, torch
m = torch.jit.load("run/model.pt")
init = torch.jit.load("net4.pt")
final = torch.jit.load("run/model_final.pt")   # the Module::save archive: the same weights
assert not m.training
assert int(m.bn.num_batches_tracked) == int(sys.argv[1]), (int(m.bn.num_batches_tracked), sys.argv[1])
assert float(m.bn.running_mean.abs().sum()) > 0
for name, p in init.named_parameters():
    assert not torch.equal(p, dict(m.named_parameters())[name]), name + " was not trained"
for name, p in list(final.named_parameters()) + list(final.named_buffers()):
    q = dict(list(m.named_parameters()) + list(m.named_buffers()))[name]
    assert torch.equal(p, q), name
y = m(torch.randn(5, 1, 8, 8))
assert y.shape == (5, 4), y.shape
)PY",
                   dir, std::to_string(batches), &err),
            0)
      << err;
  const auto h = run("flatmin hessian --threads 1 --checkpoint " + run_dir.string() + " --top-k 1 --out " + (dir / "h").string(), dir);
  ASSERT_EQ(h.code, 0) << h.err;
  const auto s = nlohmann::json::parse(std::ifstream(dir / "h" / "summary.json"));
  EXPECT_EQ(s["n_params"].get<int>(), result["parameters"].get<int>());
  EXPECT_EQ(s["top_eigenvalues"].size(), 1u);
}

// A missing or corrupt file, a model whose logits do not match the dataset's classes, or both model forms:
// one line naming the problem (and the file), exit 2, no run folder.
TEST(TrainCli, BadTorchScriptModelIsOneLineExit2NothingWritten) {
  if (!have_python_torch()) GTEST_SKIP() << "/usr/bin/python3 has no torch";
  TempDir dir;
  std::string err;
  ASSERT_EQ(python(kMakeTorchScriptModels, dir, "", &err), 0) << err;
  write(dir / "corrupt.pt", "not a TorchScript archive");
  const std::string missing = (dir / "missing.pt").string(), corrupt = (dir / "corrupt.pt").string(),
                    net3 = (dir / "net3.pt").string(), net1ch = (dir / "net_rgb.pt").string();
  const std::vector<std::pair<nlohmann::json, std::vector<std::string>>> cases = {
      {{{"torchscript", missing}}, {missing, "no such file"}},
      {{{"torchscript", corrupt}}, {corrupt, "not a TorchScript module", "not a zip archive"}},
      {{{"torchscript", net1ch}}, {net1ch, "forward of a training batch of shape [2, 1, 8, 8] failed", "3 channels"}},
      {{{"torchscript", net3}}, {net3, "[2, 3]", "has 4 classes", "must be [2, 4]"}},
      {{{"torchscript", net3}, {"name", "small_cnn"}}, {"either 'torchscript'"}},
      {{{"torchscript", ""}}, {"empty path"}},
  };
  for (const auto& [model, says] : cases) {
    std::ofstream(dir / "t.json") << ts_recipe(model).dump();
    const auto r = run("flatmin train --threads 1 --no-progress --config " + (dir / "t.json").string() + " --out " +
                           (dir / "run").string(),
                       dir);
    EXPECT_EQ(r.code, 2) << model.dump() << ": " << r.err;
    EXPECT_EQ(r.err.rfind("flatmin: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    for (const auto& s : says) EXPECT_NE(r.err.find(s), std::string::npos) << "'" << s << "' in " << r.err;
    EXPECT_EQ(r.err.find("Exception raised from"), std::string::npos) << r.err;  // LibTorch's trailer is cut
    EXPECT_FALSE(fs::exists(dir / "run")) << model.dump();
  }
}

// A built-in (C++) model's run folder holds model.pt, a TorchScript trace that Python runs: the final weights
// under the model's parameter names, eval mode (an image's logits do not depend on its batch), any batch size.
TEST(TrainCli, BuiltInModelIsWrittenAsTorchScriptPythonRuns) {
  if (!have_python_torch()) GTEST_SKIP() << "/usr/bin/python3 has no torch";
  TempDir dir;
  std::ofstream(dir / "t.json") << ts_recipe({{"name", "small_resnet"}, {"options", {{"widths", {8, 16}}, {"blocks", {1, 1}}}}}).dump();
  const auto r = run("flatmin train --threads 1 --no-progress --config " + (dir / "t.json").string() + " --out " + (dir / "run").string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  std::string err;
  ASSERT_EQ(python(R"PY(
import torch
m = torch.jit.load("run/model.pt")
final = torch.jit.load("run/model_final.pt")   # the Module::save archive of the same epoch
a = dict(list(final.named_parameters()) + list(final.named_buffers()))
b = dict(list(m.named_parameters()) + list(m.named_buffers()))
assert sorted(a) == sorted(b), (sorted(a), sorted(b))
for k in a:
    assert torch.equal(a[k], b[k]), k
assert float(b["bn1.running_var"].sub(1).abs().sum()) > 0   # trained BatchNorm statistics
x = torch.randn(7, 1, 8, 8)
y = m(x)
assert y.shape == (7, 4), y.shape
assert torch.allclose(m(x[:1]), y[:1], atol=1e-5), "not in eval mode"
)PY",
                   dir, "", &err),
            0)
      << err;
}

namespace {

using flatmin::common::testing_support::expect_bad_outputs_refused;

// issue 15: every command checks its output location (under /proc, a file used as a folder, an existing
// folder where a file goes, an unwritable parent) before any work: one line naming the flag and the path,
// exit 2, nothing written. The inputs are valid, so the output location is the only thing wrong.
const char* kTinyRecipe = R"({"name": "t", "data": {"dataset": "synthetic", "synthetic": {"n": 64}},
  "model": {"name": "small_cnn"}, "optimizer": {"name": "sgd", "options": {"lr": 0.1}}, "epochs": 1, "batch_size": 32})";

TEST(OutputLocationCli, FlatminCommandsRefuseUnusableOutputBeforeAnyWork) {
  TempDir dir;
  write(dir / "s.json", kSpec);
  const std::string in = dir.path().string() + "/";
  expect_bad_outputs_refused("flatmin", "--out", true, dir, [&](const std::string& o) {
    return "flatmin optim-replay --spec " + in + "s.json --out " + o;
  });
  expect_bad_outputs_refused("flatmin", "--out", false, dir, [&](const std::string& o) {
    return "flatmin --threads 1 reproduce --only dualadam_warmup --out " + o;
  });
  write(dir / "sim.json", R"({"landscape": {"name": "yang"}, "n": 3, "steps": 200,
    "optimizers": [{"name": "adam", "options": {"lr": 0.05}}]})");
  expect_bad_outputs_refused("flatmin", "--out", false, dir, [&](const std::string& o) {
    return "flatmin --threads 1 simulate study --config " + in + "sim.json --out " + o;
  });
  write(dir / "t.json", kTinyRecipe);
  expect_bad_outputs_refused("flatmin", "--out", false, dir, [&](const std::string& o) {
    return "flatmin --threads 1 train --no-progress --config " + in + "t.json --out " + o;
  });
  write(dir / "sw.json", std::string(R"({"base": )") + kTinyRecipe +
                             R"(, "optimizers": [{"name": "sgd", "options": {"lr": 0.1}}], "seeds": [1]})");
  expect_bad_outputs_refused("flatmin", "--out", false, dir, [&](const std::string& o) {
    return "flatmin --threads 1 sweep --no-progress --config " + in + "sw.json --out " + o;
  });
  for (const bool slurm : {false, true}) {  // the sweep file's own "out", run or written as a SLURM array
    for (const auto& b : flatmin::common::testing_support::bad_outputs(dir, false)) {
      write(dir / "sw2.json", std::string(R"({"base": )") + kTinyRecipe + R"(, "out": ")" + b.path +
                                  R"(", "optimizers": [{"name": "sgd", "options": {"lr": 0.1}}], "seeds": [1]})");
      const auto r = run("flatmin --threads 1 sweep --no-progress --config " + in + "sw2.json" + (slurm ? " --print-slurm" : ""), dir);
      EXPECT_EQ(r.code, 2) << b.why << "\n" << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
      EXPECT_NE(r.err.find("sweep \"out\" " + b.path), std::string::npos) << r.err;
    }
  }
}

TEST(OutputLocationCli, TheoryCommandsRefuseUnusableOutputBeforeAnyWork) {
  TempDir dir;
  const std::string in = dir.path().string() + "/";
  write(dir / "esc.json", R"({"lr": 0.1, "paths": 16, "t_max": 100})");
  write(dir / "sweep.json", R"({"studies": [{"name": "x", "axis": "B_over_eta", "vary": "lr", "values": [0.1, 0.2], "base": {"paths": 16}}]})");
  write(dir / "regret.json", R"({"problem": "noisy_quadratic", "T": 200, "reps": 2})");
  write(dir / "flow.json", R"({"lr": 0.1})");
  write(dir / "validate.json", R"({"defaults": {"paths": 16}, "mc_checks": [{"claim": "m", "config": {"lr": 0.1}}]})");
  for (const std::string cmd : {"escape-time", "sweep", "regret", "flow", "validate"}) {
    const std::string cfg = in + (cmd == "escape-time" ? std::string("esc") : cmd) + ".json";
    expect_bad_outputs_refused("flatmin-theory", "--out", false, dir, [&](const std::string& o) {
      return "flatmin-theory --threads 1 " + cmd + " --config " + cfg + " --out " + o;
    });
  }
  expect_bad_outputs_refused("flatmin-theory", "--out", true, dir, [&](const std::string& o) {
    return "flatmin-theory miadam-gain --steps 10 --out " + o;
  });
}

}  // namespace

namespace {

/// One `flatmin`/`flatmin-theory` run that must be bad input: exit 2, one line with the prefix, naming every
/// string of `names`.
void expect_one_line_error(const std::string& cmd, const std::vector<std::string>& names, const TempDir& dir) {
  const auto r = run(cmd, dir);
  const std::string prog = cmd.rfind("flatmin-theory", 0) == 0 ? "flatmin-theory" : "flatmin";
  EXPECT_EQ(r.code, 2) << cmd << "\n" << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << cmd << "\n" << r.err;
  EXPECT_EQ(r.err.rfind(prog + ": error: ", 0), 0u) << cmd << "\n" << r.err;
  for (const auto& n : names) EXPECT_NE(r.err.find(n), std::string::npos) << cmd << ": message lacks '" << n << "'\n" << r.err;
}

std::string with(const std::string& base_json, const std::function<void(nlohmann::json&)>& edit) {
  auto j = nlohmann::json::parse(base_json);
  edit(j);
  return j.dump();
}

// issue 15: a wrong JSON type names the key and the expected type (train, sweep, reproduce with a config of
// one's own), before anything is written.
TEST(InputTypesCli, WrongTypesNameTheKeyAndTheExpectedType) {
  TempDir dir;
  const std::string in = dir.path().string() + "/";
  const std::string out = " --out " + in + "o";
  write(dir / "t.json", with(kTinyRecipe, [](auto& j) { j["data"]["std"] = 0.0; }));
  expect_one_line_error("flatmin --threads 1 train --no-progress --config " + in + "t.json" + out, {"'std'", "an array of numbers"}, dir);
  write(dir / "t.json", with(kTinyRecipe, [](auto& j) { j["epochs"] = "3"; }));
  expect_one_line_error("flatmin --threads 1 train --no-progress --config " + in + "t.json" + out, {"'epochs'", "an integer"}, dir);
  const auto sweep = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = {{"base", nlohmann::json::parse(kTinyRecipe)}, {"optimizers", {{{"name", "sgd"}, {"options", {{"lr", 0.1}}}}}},
                        {"seeds", {1}}};
    edit(j);
    write(dir / "sw.json", j.dump());
    return "flatmin --threads 1 sweep --no-progress --config " + in + "sw.json" + out;
  };
  expect_one_line_error(sweep([](auto& j) { j["overrides"] = {1}; }), {"'overrides'", "an object"}, dir);
  expect_one_line_error(sweep([](auto& j) { j["optimizers"] = {{"name", "sgd"}}; }), {"'optimizers'", "an array"}, dir);
  expect_one_line_error(sweep([](auto& j) { j["seeds"] = 1; }), {"'seeds'", "an array of integers"}, dir);
  expect_one_line_error(sweep([](auto& j) { j["optimizers"][0]["options"] = {1}; }), {"options", "object"}, dir);
  // reproduce --config: every value has the JSON kind of the shipped reproduce.json's
  const auto repro = [&](const std::function<void(nlohmann::json&)>& edit) {
    std::ifstream shipped(fs::path(FLATMIN_TEST_DATA_DIR).parent_path().parent_path() / "experiments" / "configs" / "reproduce.json");
    auto j = nlohmann::json::parse(shipped);
    edit(j["targets"]["dualadam_warmup"]);
    write(dir / "r.json", j.dump());
    return "flatmin --threads 1 reproduce --only dualadam_warmup --config " + in + "r.json" + out;
  };
  expect_one_line_error(repro([](auto& t) { t["sig_digits"] = "2"; }), {"dualadam_warmup", "'sig_digits'", "a number", "\"2\""}, dir);
  expect_one_line_error(repro([](auto& t) { t["t"] = 5; }), {"'t'", "an array"}, dir);
  expect_one_line_error(repro([](auto& t) { t["reference"][1][2] = "x"; }), {"'reference[1][2]'", "a number"}, dir);
  expect_one_line_error(repro([](auto& t) { t["options"] = {1}; }), {"'options'", "an object"}, dir);
  expect_one_line_error(repro([](auto& t) { t["notes"] = "x"; }), {"'notes'", "an object of strings"}, dir);
  expect_one_line_error(repro([](auto& t) { t["skip"] = 3; }), {"'skip'", "a string"}, dir);
  EXPECT_FALSE(fs::exists(dir / "o"));
}

// issue 15: every count has a documented bound (docs/robustness.md "Bounds"), checked before any work: the
// message names the key or flag and the bound.
TEST(BoundsCli, CountsAboveTheirBoundAreBadInputNamingTheBound) {
  TempDir dir;
  const std::string in = dir.path().string() + "/";
  const std::string out = " --out " + in + "o";
  std::string spec = kSpec;
  spec.replace(spec.find("\"steps\": 40"), 11, "\"steps\": 1e18");
  write(dir / "s.json", spec);
  expect_one_line_error("flatmin optim-replay --spec " + in + "s.json --out " + in + "o.csv", {"steps = 1e+18", "[0, 10000000]"}, dir);
  expect_one_line_error("flatmin-theory miadam-gain --steps 1000000000000000000 --out " + in + "g.csv", {"--steps", "1e7"}, dir);
  expect_one_line_error("flatmin-theory miadam-gain --order 1000 --out " + in + "g.csv", {"--order", "64"}, dir);
  write(dir / "sim.json", R"({"landscape": {"name": "yang"}, "n": 3, "steps": 1e18, "optimizers": [{"name": "adam", "options": {"lr": 0.05}}]})");
  expect_one_line_error("flatmin --threads 1 simulate study --config " + in + "sim.json" + out, {"steps = 1e+18", "1e9"}, dir);
  write(dir / "esc.json", R"({"paths": 1000, "max_steps": 1e10})");
  expect_one_line_error("flatmin --threads 1 simulate escape --config " + in + "esc.json" + out, {"max_steps", "1e9"}, dir);
  write(dir / "t.json", with(kTinyRecipe, [](auto& j) { j["epochs"] = 1e18; }));
  expect_one_line_error("flatmin --threads 1 train --no-progress --config " + in + "t.json" + out, {"epochs = 1e+18", "1e6"}, dir);
  write(dir / "t.json", with(kTinyRecipe, [](auto& j) { j["data"]["synthetic"]["n"] = 100000000; }));
  expect_one_line_error("flatmin --threads 1 train --no-progress --config " + in + "t.json" + out, {"synthetic.n", "1e7"}, dir);
  write(dir / "t.json", kTinyRecipe);
  expect_one_line_error("flatmin --threads 1 train --no-progress --stop-after 10000000 --config " + in + "t.json" + out,
                        {"--stop-after", "1e6"}, dir);
  expect_one_line_error("flatmin --threads 100000 train --no-progress --config " + in + "t.json" + out, {"--threads", "4096"}, dir);
  write(dir / "sw.json", nlohmann::json({{"base", nlohmann::json::parse(kTinyRecipe)},
                                         {"optimizers", {{{"name", "sgd"}, {"options", {{"lr", 0.1}}}}}},
                                         {"seeds", std::vector<int>(200000, 1)}}).dump());
  expect_one_line_error("flatmin --threads 1 sweep --no-progress --config " + in + "sw.json" + out, {"seeds", "1e5"}, dir);
  write(dir / "reg.json", R"({"T": 1000, "threads": 100000})");
  expect_one_line_error("flatmin-theory regret --config " + in + "reg.json" + out, {"threads", "4096"}, dir);
  write(dir / "e.json", R"({"lr": 0.1, "dt": 1e-6, "t_max": 1e6})");
  expect_one_line_error("flatmin-theory escape-time --config " + in + "e.json" + out, {"t_max/dt", "1e9"}, dir);
  EXPECT_FALSE(fs::exists(dir / "o"));
  EXPECT_FALSE(fs::exists(dir / "o.csv"));
  EXPECT_FALSE(fs::exists(dir / "g.csv"));
}

// issue 15: a sweep checks every run (labels, options) before it creates any folder: a label cannot leave the
// sweep folder, and an out-of-range option of the last optimizer leaves nothing behind.
TEST(SweepCli, UnsafeLabelsAndOutOfRangeOptionsAreRefusedBeforeAnyFolder) {
  TempDir dir;
  const std::string in = dir.path().string() + "/";
  const auto sweep = [&](const nlohmann::json& optimizers) {
    write(dir / "sw.json", nlohmann::json({{"base", nlohmann::json::parse(kTinyRecipe)}, {"optimizers", optimizers},
                                           {"seeds", {1, 2}}, {"noise_rates", {0.0, 0.2}}}).dump());
    return "flatmin --threads 1 sweep --no-progress --config " + in + "sw.json --out " + in + "deep/sweep";
  };
  fs::create_directories(dir / "deep");
  for (const std::string& label :
       std::vector<std::string>{"../../evil", "..", ".", "", "a/b", "tab\there", std::string(101, 'x'), "caf\xc3\xa9"}) {
    const nlohmann::json opts = {{{"name", "sgd"}, {"options", {{"lr", 0.1}}}, {"label", label}}};
    expect_one_line_error(sweep(opts), {"optimizers[0].label", "[A-Za-z0-9._+-]"}, dir);
    EXPECT_FALSE(fs::exists(dir / "deep" / "sweep")) << label;
    EXPECT_FALSE(fs::exists(dir / "evil")) << label;
  }
  for (const std::string& label : std::vector<std::string>{"adam-1.e3_x", std::string(100, 'x')}) {  // allowed (checked with --print-slurm: nothing runs)
    const nlohmann::json opts = {{{"name", "sgd"}, {"options", {{"lr", 0.1}}}, {"label", label}}};
    const auto r = run(sweep(opts) + " --print-slurm", dir);
    EXPECT_EQ(r.code, 0) << label << "\n" << r.err;
  }
  fs::remove_all(dir / "deep" / "sweep");
  const nlohmann::json opts = {{{"name", "sgd"}, {"options", {{"lr", 0.1}}}},
                               {{"name", "miadam1"}, {"label", "mi"}, {"options", {{"lr", 0.01}, {"kappa", 1.5}}}}};
  expect_one_line_error(sweep(opts), {"sweep: run mi_noise0_seed1", "kappa"}, dir);
  EXPECT_FALSE(fs::exists(dir / "deep" / "sweep"));
}

}  // namespace
