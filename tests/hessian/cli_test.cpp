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
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/bad_output.h"
#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using flatmin::common::testing_support::slurp;
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
      {"--model " + kData + "nope.pt --data " + d, "nope.pt': no such file"},
      {"--model " + tmp.path().string() + " --data " + d, "is a folder, not a file"},
      {"--model " + m + " --data " + tmp.path().string(), "is a folder, not a file"},
      {"--model " + d + " --data " + d, "cannot load TorchScript model"},
      {"--model " + m + " --data " + m, "cannot load data"},
      {"--model " + m + " --data " + kData + "bad_labels_data.pt", "labels out of range"},
      {"--model " + m + " --data " + kData + "bad_shape_data.pt", "forward failed"},
      {"--model " + m + " --data " + d + " --param-filter nothing_matches", "selects no trainable parameter"},
      {"--model " + m + " --data " + d + " --loss mse", "needs floating-point targets"},
      {"--model " + m + " --data " + d + " --top-k 1000", "--top-k"},
      {"--model " + m + " --data " + d + " --max-hvps -1", "--max-hvps -1 must be >= 0"},
      {"--model " + m + " --data " + d + " --max-seconds -2", "--max-seconds -2 must be >= 0"},
  };
  for (const auto& [args, needle] : cases) {
    const auto out = tmp / "never";
    const auto r = run(args + " --out " + out.string(), tmp);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find("flatmin: error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << needle << " in " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.find("frame #"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("Exception raised from"), std::string::npos) << r.err;
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

namespace {

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto i = text.find(needle); i != std::string::npos; i = text.find(needle, i + 1)) ++n;
  return n;
}

}  // namespace

// --max-hvps: the stage that reaches the budget stops with what it has (the trace samples so far), the later
// stages are skipped, status not_converged, one warning line, files written, exit 0 (the non-converged
// convention); the stages before it are untouched.
TEST(HessianCli, HvpBudgetStopsTheStageThatReachesItAndSkipsTheRest) {
  TempDir tmp;
  const std::string io = "--model " + kData + "mlp_bn.pt --data " + kData + "mlp_bn_data.pt --dtype float64 ";
  const auto free_run = run(io + "--top-k 2 --out " + (tmp / "free").string(), tmp);
  ASSERT_EQ(free_run.code, 0) << free_run.err;
  const auto f = read_json(tmp / "free" / "summary.json");
  EXPECT_EQ(f["status"], "ok");
  EXPECT_EQ(f["budget"]["exhausted"], false);
  EXPECT_EQ(f["budget"]["max_hvps"].get<int>(), 100000);  // the default
  const int topk = f["hvp_count"].get<int>();
  EXPECT_NE(free_run.err.find("hessian top-k (Spectra) (HVPs, at most)"), std::string::npos) << free_run.err;
  EXPECT_EQ(free_run.err.find("warning"), std::string::npos) << free_run.err;

  // rtol 0: the trace never converges by itself; the budget leaves it 15 samples
  const auto out = tmp / "cut";
  const auto r = run(io + "--top-k 2 --trace --trace-rtol 0 --density --max-hvps " + std::to_string(topk + 15) + " --out " +
                         out.string(),
                     tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto s = read_json(out / "summary.json");
  EXPECT_EQ(s["status"], "not_converged");
  EXPECT_EQ(s["budget"]["exhausted"], true);
  EXPECT_EQ(s["hvp_count"].get<int>(), topk + 15);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(s["top_eigenvalues"][i]["value"], f["top_eigenvalues"][i]["value"]);
  EXPECT_EQ(s["trace"]["n"].get<int>(), 15);
  EXPECT_EQ(s["trace"]["converged"], false);
  EXPECT_TRUE(s["trace"]["estimate"].is_number());
  EXPECT_TRUE(s["esd"].is_null());
  EXPECT_FALSE(fs::exists(out / "esd.csv"));
  EXPECT_EQ(lines(out / "trace_samples.csv"), 1 + 15);
  const std::string msg = s["message"].get<std::string>();
  EXPECT_NE(msg.find("budget exhausted in trace (hutchinson) (HVP budget max_hvps = " + std::to_string(topk + 15) + " spent)"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("density skipped"), std::string::npos) << msg;
  EXPECT_EQ(read_json(out / "manifest.json")["status"], "not_converged");
  EXPECT_EQ(read_json(out / "manifest.json")["config"]["max_hvps"].get<int>(), topk + 15);
  EXPECT_EQ(count_of(r.err, "flatmin: warning: "), 2) << r.err;
  EXPECT_NE(r.err.find("flatmin: warning: budget exhausted in trace (hutchinson)"), std::string::npos) << r.err;

  // a budget inside top-k: no eigenpairs, nothing after it
  const auto t = run(io + "--top-k 2 --trace --max-hvps 5 --out " + (tmp / "topk").string(), tmp);
  ASSERT_EQ(t.code, 0) << t.err;
  const auto st = read_json(tmp / "topk" / "summary.json");
  EXPECT_EQ(st["status"], "not_converged");
  EXPECT_EQ(st["hvp_count"].get<int>(), 5);
  EXPECT_TRUE(st["top_eigenvalues"].empty());
  EXPECT_EQ(st["solver"]["status"], "not_converged");
  EXPECT_TRUE(st["trace"]["estimate"].is_null());
  EXPECT_EQ(lines(tmp / "topk" / "eigs.csv"), 1);
  EXPECT_NE(t.err.find("flatmin: warning: budget exhausted in top-k (Spectra)"), std::string::npos) << t.err;
  EXPECT_NE(t.err.find("flatmin: warning: trace skipped"), std::string::npos) << t.err;
}

// --max-seconds: a wall-clock budget (here spent before the first product) stops the analysis the same way;
// the SLQ density keeps its finished runs when the budget ends it mid-way.
TEST(HessianCli, TimeBudgetAndPartialDensity) {
  TempDir tmp;
  const std::string io = "--model " + kData + "mlp_bn.pt --data " + kData + "mlp_bn_data.pt --dtype float64 ";
  const auto r = run(io + "--top-k 1 --max-seconds 1e-9 --out " + (tmp / "t").string(), tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto s = read_json(tmp / "t" / "summary.json");
  EXPECT_EQ(s["status"], "not_converged");
  EXPECT_EQ(s["hvp_count"].get<int>(), 0);
  EXPECT_NE(s["message"].get<std::string>().find("time budget max_seconds = 1e-09 spent"), std::string::npos) << s["message"];
  // SLQ: 3 runs of 20 steps, budget 50: two runs kept, the density from them
  const auto d = run(io + "--top-k 0 --density --slq-runs 3 --slq-steps 20 --num-bins 50 --max-hvps 50 --out " + (tmp / "d").string(), tmp);
  ASSERT_EQ(d.code, 0) << d.err;
  const auto sd = read_json(tmp / "d" / "summary.json");
  EXPECT_EQ(sd["status"], "not_converged");
  EXPECT_EQ(sd["esd"]["runs"].get<int>(), 2);
  EXPECT_EQ(lines(tmp / "d" / "slq_nodes.csv"), 1 + 2 * 20);
  EXPECT_EQ(lines(tmp / "d" / "esd.csv"), 1 + 50);
  EXPECT_NE(sd["message"].get<std::string>().find("2 of 3 runs kept"), std::string::npos) << sd["message"];
  EXPECT_NE(d.err.find("hessian density (SLQ) (HVPs): 50/50"), std::string::npos) << d.err;
}

// A trace that does not meet its stopping rule by --trace-max-samples: one warning line and trace.converged false;
// the status stays ok (the run did what it was asked; only the budget or top-k change the status).
TEST(HessianCli, TraceThatDoesNotConvergeWarnsOnce) {
  TempDir tmp;
  const auto r = run("--model " + kData + "mlp_bn.pt --data " + kData + "mlp_bn_data.pt --top-k 0 --trace --trace-rtol 0 "
                     "--trace-max-samples 20 --out " + (tmp / "o").string(),
                     tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto s = read_json(tmp / "o" / "summary.json");
  EXPECT_EQ(s["status"], "ok");
  EXPECT_EQ(s["trace"]["converged"], false);
  EXPECT_EQ(s["trace"]["n"].get<int>(), 20);
  EXPECT_EQ(s["budget"]["exhausted"], false);
  EXPECT_EQ(count_of(r.err, "flatmin: warning: "), 1) << r.err;
  EXPECT_NE(r.err.find("flatmin: warning: trace (hutchinson) did not converge: 20 samples"), std::string::npos) << r.err;
}

// docs/hessian.md's torch.jit.trace wrapper for a model with dict outputs, run as it stands in the docs; the
// Hessian of the traced wrapper is the exact Hessian of the original model's loss.
TEST(HessianCli, DictOutputModelThroughTheTracedWrapper) {
  if (std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0) GTEST_SKIP() << "/usr/bin/python3 has no torch";
  TempDir tmp;
  const std::string doc = slurp(fs::path(FLATMIN_TEST_DATA_DIR).parent_path().parent_path() / "docs" / "hessian.md");
  const auto section = doc.find("### Models whose forward returns a dict");
  ASSERT_NE(section, std::string::npos);
  const auto begin = doc.find("```python\n", section);
  ASSERT_NE(begin, std::string::npos);
  const auto end = doc.find("```", begin + 10);
  const std::string example = doc.substr(begin + 10, end - begin - 10);
  ASSERT_NE(example.find("torch.jit.trace(LogitsOnly(model)"), std::string::npos) << example;
  // the exact Hessian of the ORIGINAL model's mean cross-entropy, in float64
  const std::string reference = R"PY(
import json
m = model.double()
ps = list(m.parameters())
loss = torch.nn.functional.cross_entropy(m(x.double())["logits"], y)
g = torch.cat([t.reshape(-1) for t in torch.autograd.grad(loss, ps, create_graph=True)])
H = torch.stack([torch.cat([t.reshape(-1) for t in torch.autograd.grad(g[i], ps, retain_graph=True)]) for i in range(g.numel())])
json.dump({"top": torch.linalg.eigvalsh((H + H.T) / 2)[-1].item(), "trace": H.trace().item(), "n": g.numel()},
          open("ref.json", "w"))
)PY";
  std::ofstream(tmp / "example.py") << example << reference;
  ASSERT_EQ(std::system(("cd " + tmp.path().string() + " && /usr/bin/python3 example.py > py.txt 2>&1").c_str()), 0)
      << slurp(tmp / "py.txt");
  const auto ref = read_json(tmp / "ref.json");
  const auto r = run("--model " + (tmp / "model.pt").string() + " --data " + (tmp / "data.pt").string() +
                         " --dtype float64 --top-k 1 --trace --trace-method exact --out " + (tmp / "o").string(),
                     tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto s = read_json(tmp / "o" / "summary.json");
  EXPECT_EQ(s["n_params"].get<int>(), ref["n"].get<int>());
  const double top = ref["top"].get<double>(), tr = ref["trace"].get<double>();
  EXPECT_NEAR(s["top_eigenvalues"][0]["value"].get<double>(), top, 1e-8 * std::abs(top));
  EXPECT_NEAR(s["trace"]["estimate"].get<double>(), tr, 1e-8 * std::abs(tr));
  EXPECT_EQ(s["status"], "ok");
}

// issue 15: an unusable --out is refused before the model is loaded or a single HVP is computed (it used to be
// noticed only when the results were written): one line naming --out and the path, exit 2, nothing written.
TEST(HessianCli, UnusableOutIsRefusedBeforeAnyWork) {
  TempDir tmp;
  flatmin::common::testing_support::expect_bad_outputs_refused("flatmin", "--out", false, tmp, [&](const std::string& o) {
    return "flatmin --threads 1 hessian --model " + kData + "mlp_bn.pt --data " + kData +
           "mlp_bn_data.pt --loss cross_entropy --top-k 2 --trace --density --out " + o;
  });
}

// issue 15: the counts of an analysis have documented bounds (docs/robustness.md "Bounds"), checked before any HVP.
TEST(HessianCli, CountsAboveTheirBoundNameTheOptionAndTheBound) {
  TempDir tmp;
  const std::string base = "--model " + kData + "mlp_bn.pt --data " + kData + "mlp_bn_data.pt --out " + (tmp / "o").string() + " ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--density --num-bins 100000000", "--num-bins 100000000 must be in [2, 1e7]"},
      {"--trace --trace-max-samples 1000000000", "--trace-max-samples 1000000000 must be <= 1e8"},
      {"--density --slq-runs 1000000000", "--slq-runs 1000000000 must be in [0, 1e8]"},
      {"--trace --trace-block 100000", "--trace-block 100000 must be in [1, 4096]"},
      {"--top-k 1 --batch-size 10000000000", "--batch-size 10000000000 must be in [0, 1e9]"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = run(base + args, tmp);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
    EXPECT_FALSE(fs::exists(tmp / "o")) << args;
  }
}
