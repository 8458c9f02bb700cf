// End-to-end tests of flatmin-theory's escape-time / sweep / regret / validate subcommands.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"
#include "theory/validation.h"

namespace {

using flatmin::common::testing_support::TempDir;
namespace fs = std::filesystem;

flatmin::common::testing_support::CliRun run(const std::string& args, const TempDir& dir) {
  return flatmin::common::testing_support::run_cli("flatmin-theory " + args, dir);
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
nlohmann::json read(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

TEST(TheoryCli, EscapeTimeWritesSummaryWithIssueKeys) {
  TempDir dir;
  write(dir / "c.json", R"({"landscape": {"type": "double_well", "dL": 1, "k": 1.5}, "noise": "sgd_shaped",
    "dynamics": "sgd", "lr": 0.1, "batch": 1, "beta1": 0, "dt": 0.002, "paths": 64, "seed": 3, "t_max": 1000})");
  const auto r = run("escape-time --config " + (dir / "c.json").string() + " --out " + (dir / "out").string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto s = read(dir / "out" / "summary.json");
  for (const char* key : {"mean_escape_time", "stderr", "paths", "exact", "predicted", "config"}) EXPECT_TRUE(s.contains(key)) << key;
  EXPECT_EQ(s["paths"], 64);
  EXPECT_NEAR(s["exact"].get<double>(), 8.36, 0.005);  // theory.md §8(a)
  EXPECT_EQ(s["config"]["landscape"]["k"], 1.5);
  EXPECT_TRUE(fs::exists(dir / "out" / "manifest.json"));
  EXPECT_TRUE(fs::exists(dir / "out" / "survival.csv"));
  EXPECT_EQ(read(dir / "out" / "manifest.json")["status"], "ok");
}

TEST(TheoryCli, BadConfigIsOneLineExit2AndNothingWritten) {
  TempDir dir;
  for (const std::string cfg : {R"({"lr": -0.1})", R"({"dynamics": "lion"})", R"({"noise": "white", "T": 0})", R"({"paths": 1})",
                                R"({"lr": 0.1,)"}) {
    write(dir / "bad.json", cfg);
    const auto r = run("escape-time --config " + (dir / "bad.json").string() + " --out " + (dir / "o").string(), dir);
    EXPECT_EQ(r.code, 2) << cfg;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("flatmin-theory: error: ", 0), 0u) << r.err;
    EXPECT_FALSE(fs::exists(dir / "o")) << cfg;
  }
  write(dir / "bad.json", R"({"studies": [{"name": "x", "axis": "nope", "vary": "lr", "values": [0.1, 0.2], "base": {}}]})");
  EXPECT_EQ(run("sweep --config " + (dir / "bad.json").string() + " --out " + (dir / "o").string(), dir).code, 2);
  write(dir / "bad.json", R"({"T": 100, "beta1": 0.99, "beta2": 0.5})");
  EXPECT_EQ(run("regret --config " + (dir / "bad.json").string() + " --out " + (dir / "o").string(), dir).code, 2);
  write(dir / "bad.json", R"({"mc_checks": [{"config": {"dynamics": "momentum"}}]})");
  EXPECT_EQ(run("validate --config " + (dir / "bad.json").string() + " --out " + (dir / "o").string(), dir).code, 2);
  EXPECT_FALSE(fs::exists(dir / "o"));
}

TEST(TheoryCli, MultiDimEscapeTimeAndFlow) {
  TempDir dir;
  write(dir / "y.json", R"({"landscape": {"type": "yang"}, "noise": "white", "T": 2.0, "dynamics": "sgd", "lr": 0.1,
    "dt": 0.001, "paths": 32, "seed": 3})");
  auto r = run("escape-time --config " + (dir / "y.json").string() + " --out " + (dir / "out").string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  auto s = read(dir / "out" / "summary.json");
  for (const char* key : {"mean_escape_time", "stderr", "paths", "exact", "predicted", "config"}) EXPECT_TRUE(s.contains(key)) << key;
  EXPECT_TRUE(s["exact"].is_null());
  EXPECT_TRUE(s["predicted"].is_number());
  EXPECT_TRUE(fs::exists(dir / "out" / "manifest.json"));
  write(dir / "q.json", R"({"landscape": {"type": "quadratic_double_well", "d": 3, "lambda": [2, 5]}, "noise": "white", "T": 0.5,
    "paths": 32})");
  r = run("escape-time --config " + (dir / "q.json").string() + " --out " + (dir / "out_q").string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  s = read(dir / "out_q" / "summary.json");
  EXPECT_TRUE(s["exact"].is_number());
  EXPECT_EQ(s["config"]["landscape"]["d"], 3);
  write(dir / "f.json", R"({"landscape": {"type": "yang"}, "start": [0.5, 1.6], "dynamics": "adam", "lr": 0.01, "t_end": 2, "t_out": 0.1})");
  r = run("flow --config " + (dir / "f.json").string() + " --out " + (dir / "flow").string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "flow" / "trajectory.csv"));
  EXPECT_TRUE(read(dir / "flow" / "summary.json")["final_theta"].is_array());
  EXPECT_EQ(read(dir / "flow" / "manifest.json")["status"], "ok");
  for (const std::string cfg : {R"({"landscape": {"type": "quadratic_double_well", "d": 9}})", R"({"landscape": {"type": "yang"}, "noise": "sgd_shaped"})",
                                R"({"landscape": {"type": "yang"}, "dt": 0.5})"}) {
    write(dir / "bad.json", cfg);
    const auto b = run("escape-time --config " + (dir / "bad.json").string() + " --out " + (dir / "o").string(), dir);
    EXPECT_EQ(b.code, 2) << cfg;
    EXPECT_EQ(std::count(b.err.begin(), b.err.end(), '\n'), 1) << b.err;
    EXPECT_FALSE(fs::exists(dir / "o")) << cfg;
  }
  for (const std::string cfg : {R"({"landscape": {"type": "yang"}, "start": [1]})", R"({"dynamics": "lion"})", R"({"t_end": -1})"}) {
    write(dir / "bad.json", cfg);
    const auto b = run("flow --config " + (dir / "bad.json").string() + " --out " + (dir / "o").string(), dir);
    EXPECT_EQ(b.code, 2) << cfg;
    EXPECT_EQ(std::count(b.err.begin(), b.err.end(), '\n'), 1) << b.err;
    EXPECT_FALSE(fs::exists(dir / "o")) << cfg;
  }
}

TEST(TheoryCli, RegretWritesCsv) {
  TempDir dir;
  write(dir / "r.json", R"({"problem": "noisy_quadratic", "T": 2000, "reps": 4})");
  const auto r = run("regret --config " + (dir / "r.json").string() + " --out " + (dir / "out").string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream csv(dir / "out" / "regret.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "t,optimizer,kappa,R_over_T,lo95,hi95");
}

TEST(TheoryCli, ValidateSmallSuite) {
  TempDir dir;
  write(dir / "v.json", R"({"defaults": {"paths": 50, "seed": 1},
    "oracle_checks": [{"claim": "q", "config": {"lr": 0.1}, "reference": 44.0, "sig": 3}],
    "mc_checks": [{"claim": "m", "config": {"lr": 0.1}}],
    "regret": {"T": 10000},
    "yang": {"reference": {"dL": 7.0591}, "sig": 4}})");
  const auto r = run("validate --profile quick --config " + (dir / "v.json").string() + " --out " + (dir / "out").string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto v = read(dir / "out" / "validation.json");
  ASSERT_EQ(v["rows"].size(), 1u + 1u + 3u + 1u);
  EXPECT_TRUE(v["rows"][0]["holds"].get<bool>());
  EXPECT_TRUE(v["rows"][5]["holds"].get<bool>());
  // Theorem 2 rows: Adam decays, MIAdam1 kappa=1 does not, kappa=0.98 decays (literal Theorem 2 fails).
  EXPECT_TRUE(v["rows"][2]["holds"].get<bool>());
  EXPECT_TRUE(v["rows"][3]["holds"].get<bool>());
  EXPECT_FALSE(v["rows"][4]["holds"].get<bool>());
}

TEST(TheoryValidation, ProfilesMergeAndUnknownSectionsFail) {
  const nlohmann::json cfg = {{"defaults", {{"paths", 10}}}, {"profiles", {{"full", {{"defaults", {{"paths", 99}}}}}}}};
  EXPECT_EQ(flatmin::theory::resolve_validation_profile(cfg, "full")["defaults"]["paths"], 99);
  EXPECT_EQ(flatmin::theory::resolve_validation_profile(cfg, "quick")["defaults"]["paths"], 10);
  EXPECT_THROW(flatmin::theory::run_validation({{"bogus", 1}}, "quick"), std::exception);
}

}  // namespace

// ---- outcomes and key typos (issue 11) ------------------------------------------------------------------

TEST(TheoryCli, DivergedEscapeIsOneLineExit1AndManifestSaysDiverged) {
  // The quartic wall of the double well sends a path started at -1e120 to -inf in the first Euler step: a valid
  // config whose run diverges. Exit 1 (not the bad-input 2), one line naming path and time, manifest "diverged".
  TempDir dir;
  write(dir / "c.json", R"({"landscape": {"type": "double_well", "dL": 1, "k": 1}, "noise": "white", "T": 0.1,
    "dynamics": "sgd", "lr": 0.1, "dt": 0.01, "start": -1e120, "paths": 16, "seed": 1, "t_max": 10})");
  const auto r = run("--threads 1 escape-time --config " + (dir / "c.json").string() + " --out " + (dir / "out").string(), dir);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("flatmin-theory: diverged: path ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(" at t = 0.01"), std::string::npos) << r.err;
  const auto m = read(dir / "out" / "manifest.json");
  EXPECT_EQ(m["status"], "diverged");
  EXPECT_NE(m["message"].get<std::string>().find("diverged: path "), std::string::npos) << m["message"];
  EXPECT_FALSE(fs::exists(dir / "out" / "summary.json"));
  EXPECT_FALSE(fs::exists(dir / "out" / "survival.csv"));
}

TEST(TheoryCli, TypoedKeyNamesTheNearestKey) {
  TempDir dir;
  struct Case {
    std::string cmd, cfg, nearest;
  };
  const std::vector<Case> cases = {
      {"escape-time", R"({"dtt": 0.01})", "'dt'"},
      {"escape-time", R"({"landscape": {"type": "double_well", "dl": 1}})", "'dL'"},
      {"escape-time", R"({"noise": {"type": "white", "TT": 1}})", "'T'"},
      {"escape-time", R"({"landscape": {"type": "quadratic_double_well", "lamda": [2]}})", "'lambda'"},
      {"sweep", R"({"studies": [{"name": "x", "axis": "log_k", "vary": "k", "values": [1, 2], "base": {}, "rel_tol": 0.1,
                   "claimm": ""}]})", "'claim'"},
      {"sweep", R"({"studies": [{}], "default": {}})", "'defaults'"},
      {"regret", R"({"T": 100, "betaa1": 0.9})", "'beta1'"},
      {"flow", R"({"dynamic": "sgd"})", "'dynamics'"},
      {"validate", R"({"mc_check": []})", "'mc_checks'"},
      {"validate", R"({"mc_checks": [{"confg": {}}]})", "'config'"},
      {"validate", R"({"theorem1": {"adam": {}, "miadam": {}, "rel_tl": 0.1}})", "'rel_tol'"},
      // a typo of a required key is named as a typo, not reported as the key missing
      {"sweep", R"({"studies": [{"nme": "x", "axis": "log_k", "vary": "k", "values": [1, 2], "base": {}}]})", "'name'"},
      {"escape-time", R"({"landscape": {"type": "polynomial", "coefs": [0, 0, -2, 0, 1]}})", "'coeffs'"},
      {"escape-time", R"({"noise": {"tyype": "white"}})", "'type'"},
      {"regret", R"({"optimizers": [{"nam": "adam"}]})", "'name'"},
  };
  for (const auto& c : cases) {
    write(dir / "bad.json", c.cfg);
    const auto r = run(c.cmd + " --config " + (dir / "bad.json").string() + " --out " + (dir / "o").string(), dir);
    EXPECT_EQ(r.code, 2) << c.cmd << " " << c.cfg << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("did you mean " + c.nearest), std::string::npos) << c.cmd << " " << c.cfg << ": " << r.err;
    EXPECT_FALSE(fs::exists(dir / "o")) << c.cfg;
  }
}

TEST(TheoryCli, WrongTypeNamesTheKeyAndTheExpectedType) {
  // Every theory config goes through common::ConfigReader: a value of the wrong type is bad input (exit 2, before
  // any work) naming the key and the type it must have.
  TempDir dir;
  struct Case {
    std::string cmd, cfg, expected;
  };
  const std::vector<Case> cases = {
      {"escape-time", R"({"lr": "0.1"})", "'lr' must be a number"},
      {"escape-time", R"({"order": 1.5})", "'order' must be an integer"},
      {"escape-time", R"({"paths": 2.5})", "'paths' must be an integer"},
      {"escape-time", R"({"landscape": {"type": "double_well", "k": true}})", "'k' must be a number"},
      {"escape-time", R"({"landscape": {"type": "quadratic_double_well", "lambda": 2}})", "'lambda' must be an array of numbers"},
      {"escape-time", R"({"landscape": {"type": "yang"}, "dynamics": 3})", "'dynamics' must be a string"},
      {"sweep", R"({"studies": [{"name": "x", "axis": "log_k", "vary": "k", "values": 1, "base": {}}]})", "'values' must be an array"},
      {"regret", R"({"T": "100"})", "'T' must be an integer"},
      {"flow", R"({"start": "x"})", "'start' must be an array of numbers"},
      {"validate", R"({"max_particle_steps": "1"})", "'max_particle_steps' must be a number"},
  };
  for (const auto& c : cases) {
    write(dir / "bad.json", c.cfg);
    const auto r = run(c.cmd + " --config " + (dir / "bad.json").string() + " --out " + (dir / "o").string(), dir);
    EXPECT_EQ(r.code, 2) << c.cmd << " " << c.cfg << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.cmd << " " << c.cfg << ": " << r.err;
    EXPECT_FALSE(fs::exists(dir / "o")) << c.cfg;
  }
}

TEST(TheoryCli, ValidateChecksEverySectionBeforeRunningAny) {
  // A bad last section (yang_sde_theorem1 wants adam and miadam dynamics) fails with exit 2 before the first
  // section (a Monte Carlo check) runs: no progress line, nothing written.
  TempDir dir;
  write(dir / "v.json", R"({"defaults": {"paths": 50, "seed": 1},
    "mc_checks": [{"claim": "m", "config": {"lr": 0.1}}],
    "yang_sde_theorem1": {"adam": {"landscape": {"type": "yang"}, "noise": "hessian", "dynamics": "sgd"},
                          "miadam": {"landscape": {"type": "yang"}, "noise": "hessian", "dynamics": "sgd"}}})");
  const auto r = run("validate --profile quick --config " + (dir / "v.json").string() + " --out " + (dir / "out").string(), dir);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("yang_sde_theorem1"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("validate: "), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(TheoryCli, DivergedFlowAndRegretAreOneLineExit1AndManifestSaysDiverged) {
  // Valid configs whose runs leave the finite numbers. flow: started at 1e120 the double well's gradient 4·dL·k²θ³
  // overflows, so the state after the first output step is inf/NaN (the flow is lr-free in continuous time, so
  // a huge lr alone cannot do it). regret: alpha = 1e300 throws Adam's iterate to 1e300, so f_t and R(t)/t are inf
  // from t = 2. Each: exit 1 (not the bad-input 2), one line naming where, manifest "diverged", no results.
  TempDir dir;
  struct Case {
    std::string cmd, cfg, where, result;
  };
  const std::vector<Case> cases = {
      {"flow", R"({"start": [1e120], "t_end": 1, "t_out": 0.1})", "flow: iterate non-finite at t = ", "trajectory.csv"},
      {"regret", R"({"alpha": 1e300, "T": 100})", "regret: adam R(t)/t = inf non-finite at t = 2", "regret.csv"},
  };
  for (const auto& c : cases) {
    write(dir / "c.json", c.cfg);
    const fs::path out = dir / ("out_" + c.cmd);
    const auto r = run(c.cmd + " --config " + (dir / "c.json").string() + " --out " + out.string(), dir);
    EXPECT_EQ(r.code, 1) << c.cmd << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("flatmin-theory: diverged: " + c.where, 0), 0u) << r.err;
    const auto m = read(out / "manifest.json");
    EXPECT_EQ(m["status"], "diverged") << c.cmd;
    EXPECT_NE(m["message"].get<std::string>().find("diverged: " + c.where), std::string::npos) << m["message"];
    EXPECT_FALSE(fs::exists(out / "summary.json")) << c.cmd;
    EXPECT_FALSE(fs::exists(out / c.result)) << c.cmd;
  }
}
