#pragma once
/// \file
/// flatmin-theory subcommands (thin: read config → theory library → write files). LibTorch-free.
#include <filesystem>
#include <string>
#include <vector>

namespace flatmin::experiments {

struct TheoryArgs {
  std::filesystem::path config, out;
  std::string profile = "quick";
  int threads = 0;
  std::vector<std::string> argv;
};

/// DIR/summary.json, DIR/survival.csv, DIR/manifest.json.
int run_escape_time_cmd(const TheoryArgs& a);
/// DIR/sweep_<name>.csv per study, DIR/slopes.csv, DIR/summary.json, DIR/manifest.json.
int run_sweep_cmd(const TheoryArgs& a);
/// DIR/regret.csv (t, optimizer, kappa, R_over_T, lo95, hi95), DIR/summary.json, DIR/manifest.json.
int run_regret_cmd(const TheoryArgs& a);
/// DIR/trajectory.csv (t, step, theta_0.., value), DIR/summary.json, DIR/manifest.json.
int run_flow_cmd(const TheoryArgs& a);
/// Prints the table; DIR/validation.json, DIR/validation.csv, DIR/slopes/*.csv, DIR/regret/regret.csv, DIR/manifest.json.
int run_validate_cmd(const TheoryArgs& a);

}  // namespace flatmin::experiments
