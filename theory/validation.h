#pragma once
/// \file
/// The theory validation suite (issue 5 "validate"): every claim of theory.md that the toolkit
/// checks numerically, as rows claim | predicted | measured | verdict. LibTorch-free; called by
/// `flatmin-theory validate` and meant for `flatmin reproduce`.
///
/// Config (experiments/configs/theory_validate.json documents every section):
///   defaults        escape keys merged under every escape config (paths, seed, threads, dt)
///   oracle_checks   [{claim, config, reference, sig}]   quadrature vs a quoted value
///   mc_checks       [{claim, config}]                   MC mean vs quadrature (3 se + EM bias)
///   slopes          sweep config ({"studies": [...]})   fitted vs predicted slopes
///   momentum        [{claim, base, beta1, rel_tol, reference?}]  τ_M/τ_SGD vs Kramers-with-mass / (C)
///   adai            {claim, base, rel_tol}              τ_Adai/τ_SGD vs (E)/(B)
///   theorem1        {adam, miadam, rel_tol}             MIAdam1 (κ=1) vs Adam, Eq. 14 vs MC
///   kappa_controls  [{claim, adam, miadam, expect}]     κ < 1: slower/faster than Adam
///   regret          regret config (+ "decay_window")    Theorem 2
///   yang            {reference: {dL, H_ae, H_ue, det_quarter}, sig}
///   yang_theorem1   {adam, miadam (yang_escape.h configs), adam_lrs?}  discrete Theorem 1 on Yang 2020, ϱ fit
///   nd_kramers      [{claim, config (d-dim, white, sgd), asym_coef?}]  d-dim MC vs Eyring–Kramers (A):
///                   |MC − EK| <= 3 se + asym_coef·(T/ΔL)·EK (default 1); plus MC vs the θ₁-marginal
///                   quadrature for the separable double well
///   nd_slopes       sweep config with d-dim bases                       fitted vs predicted slopes in d dims
///   yang_sde_theorem1 {adam, miadam (d-dim yang configs), rel_tol}     Theorem 1 via the SDE on Yang:
///                   ϱ fitted from Adam's MC (Eq. 15), MIAdam1 κ=1 vs Eq. 14, MIAdam1 faster than Adam
///   max_particle_steps  refuse a Monte Carlo case estimated (from the oracle/formula) above this (5e9)
///   profiles        {"quick": {...}, "full": {...}}     JSON merge-patches applied first

#include <functional>
#include <string>
#include <vector>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "theory/regret.h"
#include "theory/sweep.h"

namespace flatmin::theory {

struct ValidationRow {
  std::string section;   ///< e.g. "oracle", "mc", "slope", "momentum", "theorem1", "regret", "yang"
  std::string claim;
  double predicted = 0;  ///< the claim's value (NaN if qualitative)
  double measured = 0;
  double measured_se = 0;  ///< standard error of `measured` (0 if deterministic)
  bool holds = false;
  std::string note;      ///< criterion and extra numbers
};

/// Applies cfg["profiles"][profile] (JSON merge patch) and removes "profiles".
nlohmann::json resolve_validation_profile(const nlohmann::json& cfg, const std::string& profile);

/// Runs the suite. `profile` is "quick" or "full" (selects the merge patch; an absent profile is
/// allowed). `progress` prints one line per section to stderr. Throws common::InputError on a bad
/// config before any simulation runs. `details` (optional) receives the raw slope studies and
/// regret curves.
struct ValidationDetails {
  std::vector<SweepStudy> slopes;
  std::vector<RegretCurve> regret;
};
std::vector<ValidationRow> run_validation(const nlohmann::json& cfg, const std::string& profile, bool progress = false,
                                          ValidationDetails* details = nullptr);

/// Writes the suite's files into `dir` (atomically, each file complete or absent):
/// validation.json {profile, rows, holds, fails}, validation.csv (section, claim, predicted,
/// measured, measured_stderr, verdict, note), slopes/sweep_<name>.csv + slopes/slopes.csv,
/// regret/regret.csv. These are what paper_figures/fig_theory_*.py read.
void write_validation_outputs(const std::vector<ValidationRow>& rows, const ValidationDetails& details,
                              const std::filesystem::path& dir, const std::string& profile);

nlohmann::json to_json(const std::vector<ValidationRow>& rows);
/// Plain-text table: claim | predicted | measured | verdict.
std::string format_table(const std::vector<ValidationRow>& rows);

}  // namespace flatmin::theory
