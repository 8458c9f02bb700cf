// `flatmin hessian` end to end (file contract, compat reproduction, one-line errors with exit 2 and
// nothing written). LibTorch-free: runs the built binary on the committed fixture.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using flatmin::common::testing_support::TempDir;

namespace {

const std::string kData = std::string(FLATMIN_TEST_DATA_DIR) + "/pyhessian/";
const std::string kBin = std::string(FLATMIN_BIN_DIR) + "/flatmin";

flatmin::common::testing_support::CliRun run(const std::string& args, const TempDir& tmp) {
  return flatmin::common::testing_support::run_cli("flatmin --threads 1 hessian " + args, tmp);
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

int lines(const fs::path& p) {
  std::ifstream in(p);
  int n = 0;
  std::string l;
  while (std::getline(in, l)) ++n;
  return n;
}

const nlohmann::json& reference() {
  static const nlohmann::json ref = read_json(kData + "compat_reference.json");
  return ref;
}

}  // namespace

TEST(HessianCli, AccurateRunWritesTheContractAndMatchesTheExactSpectrum) {
  TempDir tmp;
  const auto out = tmp / "run";
  const auto r = run("--model " + kData + "mlp_bn.pt --data " + kData + "mlp_bn_data.pt --loss cross_entropy --out " +
                         out.string() + " --top-k 2 --trace --density --slq-runs 3 --num-bins 300 --dtype float64",
                     tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto s = read_json(out / "summary.json");
  const auto& ex = reference()["exact"];
  ASSERT_EQ(s["top_eigenvalues"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const double e = ex["top"][i].get<double>();
    EXPECT_NEAR(s["top_eigenvalues"][i]["value"].get<double>(), e, 1e-8 * std::abs(e));
    EXPECT_LT(s["top_eigenvalues"][i]["residual"].get<double>(), 1e-5);
  }
  const double tr = ex["trace"].get<double>();
  EXPECT_LT(std::abs(s["trace"]["estimate"].get<double>() - tr), 3 * s["trace"]["stderr"].get<double>());
  EXPECT_GE(s["trace"]["n"].get<int>(), 10);
  EXPECT_EQ(s["n_params"].get<int>(), 135);
  EXPECT_EQ(s["n_samples"].get<int>(), 32);
  EXPECT_EQ(s["hvp_count"].get<int>(),
            s["solver"]["products"].get<int>() + s["trace"]["products"].get<int>() + 3 * 100);
  EXPECT_EQ(lines(out / "slq_nodes.csv"), 1 + 3 * 100);
  EXPECT_EQ(lines(out / "esd.csv"), 1 + 300);
  EXPECT_EQ(lines(out / "eigs.csv"), 1 + 2);
  EXPECT_EQ(lines(out / "trace_samples.csv"), 1 + s["trace"]["n"].get<int>());
  const auto m = read_json(out / "manifest.json");
  EXPECT_EQ(m["status"], "ok");
  EXPECT_EQ(m["libraries"]["spectra"], "1.0.1");
  // progress per stage on stderr (the ETA appears in the periodic lines of runs longer than 10 s)
  EXPECT_NE(r.err.find("hessian density (SLQ) (HVPs): 300/300"), std::string::npos) << r.err;
}

TEST(HessianCli, CompatPyhessianReproducesTheReference) {
  TempDir tmp;
  const auto out = tmp / "compat";
  const auto& ref = reference();
  const auto r = run("--model " + kData + "mlp_bn.pt --data " + kData + "mlp_bn_data.pt --out " + out.string() +
                         " --compat pyhessian --top-k 2 --trace --density --dtype float64 --seed 1",
                     tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto s = read_json(out / "summary.json");
  for (int i = 0; i < 2; ++i) {
    const double e = ref["float64"]["eigenvalues"][i].get<double>();
    EXPECT_NEAR(s["top_eigenvalues"][i]["value"].get<double>(), e, 1e-10 * std::abs(e));
  }
  EXPECT_EQ(s["trace"]["samples"].size(), ref["float64"]["trace_samples"].size());
  EXPECT_EQ(s["hvp_count"].get<int>(), ref["float64"]["hvp_count"].get<int>());
  EXPECT_EQ(s["solver"]["name"], "pyhessian_power_iteration");
}

TEST(HessianCli, BadInputIsOneLineExitTwoAndNothingWritten) {
  TempDir tmp;
  const std::string m = kData + "mlp_bn.pt", d = kData + "mlp_bn_data.pt";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--model " + kData + "nope.pt --data " + d, "does not exist"},
      {"--model " + d + " --data " + d, "cannot load TorchScript model"},
      {"--model " + m + " --data " + m, "cannot load data"},
      {"--model " + m + " --data " + kData + "bad_labels_data.pt", "labels out of range"},
      {"--model " + m + " --data " + kData + "bad_shape_data.pt", "forward failed"},
      {"--model " + m + " --data " + d + " --param-filter nothing_matches", "selects no trainable parameter"},
      {"--model " + m + " --data " + d + " --loss mse", "needs floating-point targets"},
      {"--model " + m + " --data " + d + " --top-k 1000", "--top-k"},
  };
  for (const auto& [args, needle] : cases) {
    const auto out = tmp / "never";
    const auto r = run(args + " --out " + out.string(), tmp);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find("flatmin: error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << needle << " in " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(out)) << args;
  }
}

#ifdef FLATMIN_HAVE_GLOO
TEST(HessianCli, TwoProcessesOverGlooEqualOneProcess) {
  TempDir tmp;
  const std::string common = " --threads 1 hessian --model " + kData + "mlp_bn.pt --data " + kData +
                             "mlp_bn_data.pt --top-k 2 --trace --trace-max-samples 40 --dtype float64";
  const auto one = tmp / "one";
  ASSERT_EQ(run("--model " + kData + "mlp_bn.pt --data " + kData + "mlp_bn_data.pt --top-k 2 --trace "
                "--trace-max-samples 40 --dtype float64 --out " + one.string(), tmp).code, 0);
  const auto two = tmp / "two";
  const std::string env = "FLATMIN_WORLD_SIZE=2 FLATMIN_DIST_INIT=file://" + (tmp / "store").string();
  const std::string cmd = "(" + env + " FLATMIN_RANK=1 " + kBin + common + " --out " + (tmp / "rank1").string() +
                          " 2>/dev/null & " + env + " FLATMIN_RANK=0 " + kBin + common + " --out " + two.string() +
                          " 2>/dev/null; r0=$?; wait $!; r1=$?; test $r0 -eq 0 -a $r1 -eq 0)";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_FALSE(fs::exists(tmp / "rank1"));  // only rank 0 writes
  const auto s1 = read_json(one / "summary.json"), s2 = read_json(two / "summary.json");
  EXPECT_EQ(s2["world_size"].get<int>(), 2);
  EXPECT_EQ(s2["n_samples"].get<int>(), 32);
  for (int i = 0; i < 2; ++i) {
    const double a = s1["top_eigenvalues"][i]["value"].get<double>(), b = s2["top_eigenvalues"][i]["value"].get<double>();
    EXPECT_NEAR(a, b, 1e-10 * std::abs(a));
  }
  EXPECT_NEAR(s1["trace"]["estimate"].get<double>(), s2["trace"]["estimate"].get<double>(),
              1e-10 * std::abs(s1["trace"]["estimate"].get<double>()));
}
#endif
