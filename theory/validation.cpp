#include "theory/validation.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>

#include "common/config.h"
#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/format.h"
#include "common/json_io.h"
#include "common/progress.h"
#include "theory/escape.h"
#include "theory/escape_nd.h"
#include "theory/landscape.h"
#include "theory/predictions.h"
#include "theory/quadrature.h"
#include "theory/regret.h"
#include "theory/runs.h"
#include "theory/sweep.h"
#include "theory/yang_escape.h"

namespace flatmin::theory {

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string fmt(double v, int prec = 4) {
  if (!std::isfinite(v)) return std::isnan(v) ? "-" : (v > 0 ? "inf" : "-inf");
  std::ostringstream s;
  s << std::setprecision(prec) << v;
  return s.str();
}

double quoted_tol(double v, int sig) { return 0.5 * std::pow(10.0, std::floor(std::log10(std::abs(v))) - sig + 1); }

nlohmann::json merged(const nlohmann::json& defaults, const nlohmann::json& c) {
  nlohmann::json out = defaults;
  out.update(c);
  return out;
}

struct Mc {
  double mean = 0, se = 0;
  EscapeProblem p;
};

/// Refuses a Monte Carlo case whose estimated cost (paths × min(τ, t_max)/dt) exceeds the budget.
void check_budget(const nlohmann::json& c, double est, double tau_est, double max_particle_steps) {
  FLATMIN_CHECK(est <= max_particle_steps, "validation case " << c.dump() << " would take about " << est
                                                              << " particle-steps (estimated tau " << tau_est
                                                              << "), more than max_particle_steps = " << max_particle_steps);
}

Mc run_mc(const nlohmann::json& c, double max_particle_steps) {
  Mc m;
  m.p = parse_escape_problem(c);
  const EscapeRun run = parse_escape_run(c);
  // Refuse runs that would take hours: estimate the cost from the oracle (or the formula).
  double tau_est = m.p.overdamped() ? exact_escape_time(m.p) : predict(m.p).tau;
  if (std::isfinite(tau_est)) {
    check_budget(c, static_cast<double>(run.paths) * std::min(tau_est, m.p.t_max) / m.p.dt, tau_est, max_particle_steps);
  }
  const auto r = run_escape_mc(m.p, run);
  FLATMIN_CHECK(r.censored == 0, "validation: " << r.censored << " paths censored at t_max for " << c.dump() << "; raise t_max");
  m.mean = r.mean;
  m.se = r.stderr_;
  return m;
}

/// One Monte Carlo comparison's configs (escape configs with the defaults merged in) and its tolerance.
struct Pair {
  std::string claim;
  nlohmann::json a, b;  ///< e.g. SGD and momentum, Adam and MIAdam
  double tol = 0;
  bool expect_slower = false;  ///< kappa_controls: "expect": "slower" (else "faster")
};

/// One {claim, config} entry: the escape config with the defaults merged in, a reference value and its digits.
struct Single {
  std::string claim;
  nlohmann::json config;
  double reference = 0, coef = 1;
  int sig = 3;
};

/// What every section sees: the resolved config, the profile, the Monte Carlo budget, what the validate
/// steps parsed, and what the run steps produce (rows, details).
struct ValidationContext {
  nlohmann::json cfg;  ///< profile applied
  std::string profile;      ///< "quick" or "full"
  nlohmann::json defaults;  ///< escape keys merged under every escape config
  double max_particle_steps = 5e9;
  // parsed by the validate steps
  std::vector<Single> oracle, mc, nd_kramers;
  std::vector<Pair> momentum, kappa;
  Pair adai, theorem1, yang_sde;
  nlohmann::json slopes, nd_slopes;  ///< sweep configs with the defaults merged in
  RegretConfig regret;
  std::int64_t decay_window = 100;
  Single yang;                        ///< `config` holds the reference values
  YangEscapeConfig yang_adam, yang_miadam;
  std::vector<double> yang_adam_lrs;
  // produced by the run steps
  std::vector<ValidationRow> rows;
  ValidationDetails details;

  nlohmann::json esc(const nlohmann::json& c) const { return merged(defaults, c); }
  Mc escape_mc(const nlohmann::json& c) const { return run_mc(c, max_particle_steps); }
};

/// Both Monte Carlo runs of a pair and the ratio b/a with its delta-method standard error.
struct PairRun {
  Mc a, b;
  double ratio = 0, se = 0;
};
PairRun run_pair(const ValidationContext& ctx, const Pair& p) {
  PairRun r{ctx.escape_mc(p.a), ctx.escape_mc(p.b)};
  r.ratio = r.b.mean / r.a.mean;
  r.se = r.ratio * std::sqrt(std::pow(r.a.se / r.a.mean, 2) + std::pow(r.b.se / r.b.mean, 2));
  return r;
}
/// Parses both escape configs of a pair (InputError before any run).
void parse_pair(const Pair& p) {
  parse_escape_problem(p.a);
  parse_escape_problem(p.b);
}

/// A section of the suite: its config key, progress label, cost weight (for the ETA), and its two steps:
/// validate (parse into the context; InputError on bad input) and run (append rows).
struct Section {
  const char* key;
  const char* label;
  std::int64_t weight;
  void (*validate)(ValidationContext&, const nlohmann::json&);
  void (*run)(ValidationContext&);
};

/// A reader over one entry of a section that rejects unknown keys up front (so a typo is named before a
/// missing key); "claim" and "notes" (free text) are always allowed.
common::ConfigReader entry_reader(const nlohmann::json& v, std::string where, std::initializer_list<std::string_view> keys) {
  common::ConfigReader e(v, std::move(where));
  e.allow(keys);
  e.allow({"claim", "notes"});
  e.finish();
  return e;
}

/// Calls f(reader) for each entry of a section that is a list (readers named "<key>[i]").
template <class F>
void for_entries(const nlohmann::json& v, const char* key, std::initializer_list<std::string_view> keys, F&& f) {
  FLATMIN_CHECK(v.is_array(), "validation config: '" << key << "' must be an array of entries, got " << v.dump());
  for (std::size_t i = 0; i < v.size(); ++i) {
    common::ConfigReader e = entry_reader(v[i], std::string(key) + "[" + std::to_string(i) + "]", keys);
    f(e);
  }
}

/// A sweep section's config with the suite's defaults under its own.
nlohmann::json sweep_with_defaults(const ValidationContext& ctx, const nlohmann::json& v, const char* key) {
  FLATMIN_CHECK(v.is_object(), "'" << key << "' must be a sweep config object");
  nlohmann::json out = v;
  nlohmann::json d = ctx.defaults;
  if (out.contains("defaults")) d.update(out.at("defaults"));
  out["defaults"] = d;
  return out;
}

/// Rows of a slope section (claim from the study's "claim", else `what`).
void slope_rows(ValidationContext& ctx, const nlohmann::json& sweep, const char* section, const std::string& suffix) {
  const auto studies = run_sweeps(sweep, false);
  std::size_t i = 0;
  for (const auto& s : studies) {
    common::ConfigReader sc(sweep.at("studies").at(i++), section);
    ValidationRow r{section, sc.string("claim", s.dynamics + ": d log(tau)/d " + to_string(s.axis) + suffix), s.predicted_full_slope,
                    s.fitted, s.fitted_se, s.holds, ""};
    r.note = "|fit - pred| <= 3 se + " + fmt(s.rel_tol, 2) + "|pred|; exponent-only slope " + fmt(s.predicted_slope) +
             ", exact-oracle slope " + fmt(s.exact_slope);
    ctx.rows.push_back(r);
    ctx.details.slopes.push_back(s);
  }
}

/// Yang 2020's sharp minimum a+ and the saddle u+ towards it (theory.md §11.4), located (never hard-coded).
EscapeGeometry yang_geometry() {
  const auto cps = Yang2020::critical_points(6.0);
  const CriticalPoint* a = nullptr;
  const CriticalPoint* u = nullptr;
  for (const auto& c : cps) {
    if (std::abs(c.x[0] - 0.5) < 1e-6 && c.x[1] > 1.5 && c.x[1] < 2.5 && c.index == 0) a = &c;
    if (std::abs(c.x[0] - 0.5) < 1e-6 && c.x[1] > 0.8 && c.x[1] < 1.5 && c.index == 1) u = &c;
  }
  FLATMIN_CHECK(a && u, "Yang 2020: the sharp minimum a+ or the saddle u+ was not found");
  return escape_geometry(*a, *u);
}

// ---- (1) quadrature oracle vs quoted values
void validate_oracle(ValidationContext& ctx, const nlohmann::json& v) {
  for_entries(v, "oracle_checks", {"config", "reference", "sig"}, [&](common::ConfigReader& e) {
    Single s;
    s.claim = e.string("claim", "exact 1-D quadrature = quoted value");
    FLATMIN_CHECK(e.has("config") && e.has("reference"), e.where() << ": oracle_checks entries need config and a numeric reference");
    s.config = ctx.esc(e.object("config"));
    s.reference = e.number("reference");
    s.sig = static_cast<int>(e.integer("sig", 3, 1, 17));  // significant digits of a double
    parse_escape_problem(s.config);
    ctx.oracle.push_back(s);
  });
}
void run_oracle(ValidationContext& ctx) {
  for (const auto& o : ctx.oracle) {
    const auto p = parse_escape_problem(o.config);
    ValidationRow r{"oracle", o.claim, o.reference, exact_escape_time(p), 0, false, ""};
    r.holds = std::abs(r.measured - o.reference) <= quoted_tol(o.reference, o.sig);
    r.note = "agrees to " + std::to_string(o.sig) + " significant digits";
    ctx.rows.push_back(r);
  }
}

// ---- (2) Monte Carlo vs oracle
void validate_mc(ValidationContext& ctx, const nlohmann::json& v) {
  for_entries(v, "mc_checks", {"config"}, [&](common::ConfigReader& e) {
    Single s;
    s.claim = e.string("claim", "MC escape time = exact quadrature");
    FLATMIN_CHECK(e.has("config"), e.where() << ": mc_checks entries need config");
    s.config = ctx.esc(e.object("config"));
    FLATMIN_CHECK(parse_escape_problem(s.config).overdamped(), "mc_checks need overdamped 1-D dynamics (an exact oracle)");
    parse_escape_run(s.config);
    ctx.mc.push_back(s);
  });
}
void run_mc_checks(ValidationContext& ctx) {
  for (const auto& o : ctx.mc) {
    const auto m = ctx.escape_mc(o.config);
    const double exact = exact_escape_time(m.p), bias = discretisation_bias(m.p);
    ValidationRow r{"mc", o.claim, exact, m.mean, m.se, false, ""};
    r.holds = std::abs(m.mean - exact - bias) <= 3 * m.se + std::abs(bias);
    r.note = "|MC - exact - bias| <= 3 se + |bias|; EM bias est " + fmt(bias, 3) + ", formula " + predict(m.p).formula + " = " +
             fmt(predict(m.p).tau);
    ctx.rows.push_back(r);
  }
}

// ---- (3) slopes
void validate_slopes(ValidationContext& ctx, const nlohmann::json& v) { ctx.slopes = sweep_with_defaults(ctx, v, "slopes"); }
void run_slopes(ValidationContext& ctx) { slope_rows(ctx, ctx.slopes, "slope", ""); }

// ---- (4) momentum
void validate_momentum(ValidationContext& ctx, const nlohmann::json& v) {
  for_entries(v, "momentum", {"base", "beta1", "rel_tol"}, [&](common::ConfigReader& e) {
    Pair m;
    m.claim = e.string("claim", "tau_M/tau_SGD");
    FLATMIN_CHECK(e.has("base") && e.has("beta1"), e.where() << ": momentum entries need base and beta1");
    m.a = ctx.esc(e.object("base"));
    m.b = m.a;
    m.b["beta1"] = e.number("beta1");
    m.tol = e.number("rel_tol", 0.15);
    parse_pair(m);
    ctx.momentum.push_back(m);
  });
}
void run_momentum(ValidationContext& ctx) {
  for (const auto& m : ctx.momentum) {
    const auto [sgd, mom, rr, se] = run_pair(ctx, m);
    const double pred = predict(mom.p).tau / predict(sgd.p).tau;
    ValidationRow r{"momentum", m.claim, pred, rr, se, false, ""};
    r.holds = std::abs(rr - pred) <= 3 * se + m.tol * pred;
    r.note = "ratio of " + predict(mom.p).formula + " to " + predict(sgd.p).formula + "; |meas - pred| <= 3 se + " + fmt(m.tol, 2) +
             " pred";
    ctx.rows.push_back(r);
  }
}

// ---- (5) adai
void validate_adai(ValidationContext& ctx, const nlohmann::json& v) {
  common::ConfigReader e = entry_reader(v, "adai", {"base", "rel_tol"});
  ctx.adai.claim = e.string("claim", "(E) tau_Adai/tau_SGD (same exponent, momentum prefactor)");
  FLATMIN_CHECK(e.has("base"), "adai needs base");
  ctx.adai.a = ctx.esc(e.object("base"));
  ctx.adai.tol = e.number("rel_tol", 0.15);
  ctx.adai.b = ctx.adai.a;
  ctx.adai.b["dynamics"] = "adai";
  ctx.adai.b.erase("beta1");
  parse_pair(ctx.adai);
}
void run_adai(ValidationContext& ctx) {
  const auto& a = ctx.adai;
  const auto [sgd, adai, rr, se] = run_pair(ctx, a);
  const double pred = predict(adai.p).tau / predict(sgd.p).tau;
  ValidationRow r{"adai", a.claim, pred, rr, se, false, ""};
  r.holds = std::abs(rr - pred) <= 3 * se + a.tol * pred;
  r.note = "|meas - pred| <= 3 se + " + fmt(a.tol, 2) + " pred";
  ctx.rows.push_back(r);
}

// ---- (6) Theorem 1
/// Reads {adam, miadam, rel_tol} (escape configs, the defaults merged in) of `section`.
Pair read_adam_miadam(const ValidationContext& ctx, const nlohmann::json& v, const char* section, double tol) {
  common::ConfigReader e = entry_reader(v, section, {"adam", "miadam", "rel_tol"});
  FLATMIN_CHECK(e.has("adam") && e.has("miadam"), section << " needs adam and miadam configs");
  Pair t;
  t.a = ctx.esc(e.object("adam"));
  t.b = ctx.esc(e.object("miadam"));
  t.tol = e.number("rel_tol", tol);
  return t;
}
void validate_theorem1(ValidationContext& ctx, const nlohmann::json& v) {
  ctx.theorem1 = read_adam_miadam(ctx, v, "theorem1", 0.25);
  parse_pair(ctx.theorem1);
}
void run_theorem1(ValidationContext& ctx) {
  const auto& t = ctx.theorem1;
  const auto [adam, mi, rr, se] = run_pair(ctx, t);
  const auto pa = predict(adam.p), pm = predict(mi.p);
  ctx.rows.push_back({"theorem1", "Theorem 1: phi_MIAdam1(kappa=1) < phi_Adam (ratio < 1)", pm.tau / pa.tau, rr, se, rr + 3 * se < 1.0,
                      "predicted = Eq.14 time-integrated mean / Eq.15; holds if measured + 3 se < 1"});
  ctx.rows.push_back({"theorem1", "Eq. 14 (rate 1/phi14(t) integrated) = MC mean escape time of MIAdam1", pm.tau, mi.mean, mi.se,
                      std::abs(mi.mean - pm.tau) <= 3 * mi.se + t.tol * pm.tau, "|meas - pred| <= 3 se + " + fmt(t.tol, 2) + " pred"});
  ctx.rows.push_back({"theorem1", "Eq. 15 (Adam) = MC mean escape time of Adam", pa.tau, adam.mean, adam.se,
                      std::abs(adam.mean - pa.tau) <= 3 * adam.se + t.tol * pa.tau,
                      "|meas - pred| <= 3 se + " + fmt(t.tol, 2) + " pred (asymptotic prefactor; theory.md 5 warns it can differ)"});
}

// ---- (7) κ controls
void validate_kappa(ValidationContext& ctx, const nlohmann::json& v) {
  for_entries(v, "kappa_controls", {"adam", "miadam", "expect"}, [&](common::ConfigReader& e) {
    FLATMIN_CHECK(e.has("adam") && e.has("miadam") && e.has("expect"), "kappa_controls need adam, miadam, expect");
    Pair k;
    k.expect_slower = e.choice("expect", "slower", {"slower", "faster"}) == "slower";
    k.claim = e.string("claim", std::string("MIAdam1 kappa<1 escapes ") + (k.expect_slower ? "slower" : "faster") + " than Adam");
    k.a = ctx.esc(e.object("adam"));
    k.b = ctx.esc(e.object("miadam"));
    parse_pair(k);
    ctx.kappa.push_back(k);
  });
}
void run_kappa(ValidationContext& ctx) {
  for (const auto& k : ctx.kappa) {
    const auto [adam, mi, rr, se] = run_pair(ctx, k);
    const bool slower = k.expect_slower;
    const double g = std::pow(mi.p.lr / (1 - mi.p.kappa), mi.p.order);
    ValidationRow r{"kappa", k.claim, predict(mi.p).tau / predict(adam.p).tau, rr, se, slower ? rr - 3 * se > 1.0 : rr + 3 * se < 1.0, ""};
    r.note = "lr/(1-kappa) = " + fmt(g, 3) + "; predicted = " + predict(mi.p).formula + " / (D); holds if ratio " +
             (slower ? "- 3 se > 1" : "+ 3 se < 1");
    ctx.rows.push_back(r);
  }
}

// ---- (8) Theorem 2
void validate_regret(ValidationContext& ctx, const nlohmann::json& v) {
  FLATMIN_CHECK(v.is_object(), "'regret' must be a regret config object");
  nlohmann::json r = v;
  ctx.decay_window = common::ConfigReader(v, "regret").integer("decay_window", ctx.decay_window, 2, 1000000000);
  r.erase("decay_window");
  r.erase("claim");
  ctx.regret = parse_regret_config(r);
  FLATMIN_CHECK(ctx.decay_window >= 2 && ctx.regret.T / ctx.decay_window >= 10,
                "regret decay_window must be >= 2 and T/decay_window >= 10");
}
void run_regret_section(ValidationContext& ctx) {
  const auto curves = run_regret(ctx.regret);
  const std::int64_t decay_window = ctx.decay_window;
  for (const auto& c : curves) {
    // R/T at T and at T/decay_window (nearest checkpoint at or below)
    const double last = c.mean.back();
    std::size_t j = 0;
    for (std::size_t i = 0; i < c.t.size(); ++i)
      if (c.t[i] <= c.t.back() / decay_window) j = i;
    const double early = c.mean[j];
    const double decay = last / early;
    const bool adam = c.opt.name == "adam";
    ValidationRow r{"regret", "", adam ? 0.0 : 1.0, decay, 0, false, ""};
    std::ostringstream note;
    note << "R/T = " << fmt(early, 3) << " at T=" << c.t[j] << ", " << fmt(last, 3) << " at T=" << c.t.back() << " ("
         << ctx.regret.problem << ", reps " << ctx.regret.reps << ")";
    if (adam) {
      r.claim = "Adam: R(T)/T -> 0 (ratio R/T(T) / R/T(T/" + std::to_string(decay_window) + ") <= " + fmt(10.0 / decay_window, 2) + ")";
      r.holds = decay <= 10.0 / static_cast<double>(decay_window);  // at least ~T^{-1/2} for window 100
    } else {
      std::ostringstream cl;
      cl << "Theorem 2: MIAdam1 kappa=" << c.opt.kappa << " R(T)/T does not -> 0 (ratio >= ~1)";
      r.claim = cl.str();
      r.holds = decay > 0.5;
      if (c.opt.kappa < 1) note << "; kappa<1 decaying contradicts a literal reading of 'for all kappa in (0,1]'";
    }
    r.measured_se = 0;
    r.note = note.str();
    ctx.rows.push_back(r);
  }
  ctx.details.regret = curves;
}

// ---- (9) Yang landscape
void validate_yang(ValidationContext& ctx, const nlohmann::json& v) {
  common::ConfigReader e = entry_reader(v, "yang", {"reference", "sig"});
  ctx.yang.sig = static_cast<int>(e.integer("sig", 4, 1, 17));
  common::ConfigReader ref(e.object("reference"), "yang.reference");
  for (const char* name : {"dL", "H_ae", "H_ue", "det_quarter"})
    if (ref.has(name)) ctx.yang.config[name] = ref.number(name);
  ref.finish();
}
void run_yang(ValidationContext& ctx) {
  const auto g = yang_geometry();
  const int sig = ctx.yang.sig;
  const std::pair<const char*, double> items[] = {{"dL", g.dL}, {"H_ae", g.H_ae}, {"H_ue", g.H_ue}, {"det_quarter", g.det_ratio_quarter}};
  for (const auto& [name, val] : items) {
    if (!ctx.yang.config.contains(name)) continue;
    const double rv = ctx.yang.config.at(name).get<double>();
    ctx.rows.push_back({"yang", std::string("Yang 2020 a+ -> u+: ") + name + " (theory.md 11.4)", rv, val, 0,
                        std::abs(val - rv) <= quoted_tol(rv, sig), "agrees to " + std::to_string(sig) + " significant digits"});
  }
}

// ---- (10) Theorem 1 on Yang 2020 (discrete optimizers, theory.md §9)
void validate_yang_theorem1(ValidationContext& ctx, const nlohmann::json& v) {
  common::ConfigReader e = entry_reader(v, "yang_theorem1", {"adam", "miadam", "adam_lrs"});
  FLATMIN_CHECK(e.has("adam") && e.has("miadam"), "yang_theorem1 needs adam and miadam configs");
  ctx.yang_adam = parse_yang_escape(e.object("adam"));
  ctx.yang_miadam = parse_yang_escape(e.object("miadam"));
  if (e.has("adam_lrs")) {
    ctx.yang_adam_lrs = e.numbers("adam_lrs", {});
    FLATMIN_CHECK(ctx.yang_adam_lrs.size() >= 2, "yang_theorem1.adam_lrs needs >= 2 learning rates");
    for (const double lr : ctx.yang_adam_lrs) FLATMIN_CHECK(lr > 0, "adam_lrs must be positive numbers");
  }
}
void run_yang_theorem1(ValidationContext& ctx) {
  const auto& ac = ctx.yang_adam;
  const auto& mc = ctx.yang_miadam;
  const auto ar = run_yang_escape(ac), mr = run_yang_escape(mc);
  FLATMIN_CHECK(ar.censored == 0 && mr.censored == 0, "yang_theorem1: paths censored at max_steps (Adam " << ar.censored
                                                          << ", MIAdam1 " << mr.censored << "); raise max_steps or lower delta");
  const double rr = mr.mean_time / ar.mean_time;
  const double se = rr * std::sqrt(std::pow(ar.stderr_time / ar.mean_time, 2) + std::pow(mr.stderr_time / mr.mean_time, 2));
  std::ostringstream note;
  note << "discrete, noise " << ac.noise << " H/delta, delta " << ac.delta << ", lr " << ac.lr << "; t = lr*steps: Adam "
       << fmt(ar.mean_time) << ", MIAdam1 " << fmt(mr.mean_time) << "; holds if ratio + 3 se < 1";
  ctx.rows.push_back({"yang", "Theorem 1 on Yang 2020 (a+ -> b): phi_MIAdam1(kappa=" + fmt(mc.kappa, 3) + ") < phi_Adam", kNaN, rr, se,
                      rr + 3 * se < 1.0, note.str()});
  if (ctx.yang_adam_lrs.empty()) return;
  // Eq. 15: log φ linear in √δ/α with slope 2ΔL(ϱ/√H_ae + (1−ϱ)/√|H_ue|); fit ϱ (spec §9.4).
  const auto geo = yang_geometry();
  std::vector<double> xs, ys, sys;
  for (const double lr : ctx.yang_adam_lrs) {
    auto c = ac;
    c.lr = lr;
    const auto r = run_yang_escape(c);
    FLATMIN_CHECK(r.censored == 0, "yang_theorem1: " << r.censored << " Adam paths censored at lr " << c.lr);
    xs.push_back(std::sqrt(c.delta) / c.lr);
    ys.push_back(std::log(r.mean_time));
    sys.push_back(r.stderr_time / r.mean_time);
  }
  double slope, sse;
  weighted_slope(xs, ys, sys, slope, sse);
  const double ia = 1 / std::sqrt(geo.H_ae), iu = 1 / std::sqrt(std::abs(geo.H_ue));
  const double rho = (slope / (2 * geo.dL) - iu) / (ia - iu);
  const double rho_se = sse / (2 * geo.dL) / std::abs(ia - iu);
  std::ostringstream n2;
  n2 << "slope of log phi vs sqrt(delta)/lr = " << fmt(slope) << " +- " << fmt(sse, 2) << " over lr "
     << ctx.cfg.at("yang_theorem1").at("adam_lrs").dump()
     << "; rho = (slope/(2 dL) - 1/sqrt|H_ue|)/(1/sqrt H_ae - 1/sqrt|H_ue|); holds if 0 < rho < 1";
  ctx.rows.push_back({"yang", "Eq. 15 on Yang 2020: fitted path parameter rho lies in (0, 1)", kNaN, rho, rho_se, rho > 0 && rho < 1,
                      n2.str()});
}

// ---- d-dimensional escape (escape_nd.h)
void validate_nd_kramers(ValidationContext& ctx, const nlohmann::json& v) {
  for_entries(v, "nd_kramers", {"config", "asym_coef"}, [&](common::ConfigReader& e) {
    Single s;
    s.claim = e.string("claim", "d-dim MC = Eyring-Kramers (A)");
    FLATMIN_CHECK(e.has("config") && is_nd_config(e.object("config")),
                  e.where() << ": nd_kramers entries need a config with a d-dimensional landscape");
    s.config = ctx.esc(e.object("config"));
    s.coef = e.number("asym_coef", 1.0);
    const auto p = parse_escape_problem_nd(s.config);
    FLATMIN_CHECK(p.noise == NoiseType::White && p.dynamics == DynamicsType::Sgd && p.beta1 == 0,
                  "nd_kramers needs white noise with overdamped sgd (Eyring-Kramers (A))");
    parse_escape_run(s.config);
    ctx.nd_kramers.push_back(s);
  });
}
void run_nd_kramers(ValidationContext& ctx) {
  for (const auto& o : ctx.nd_kramers) {
    const auto& c = o.config;
    const auto p = parse_escape_problem_nd(c);
    const auto run = parse_escape_run(c);
    const auto pred = predict_nd(p);
    check_budget(c, static_cast<double>(run.paths) * std::min(pred.tau, p.t_max) / p.dt, pred.tau, ctx.max_particle_steps);
    const auto r = run_escape_mc_nd(p, run);
    FLATMIN_CHECK(r.censored == 0, "nd_kramers: " << r.censored << " paths censored at t_max for " << c.dump());
    // Eyring–Kramers is the leading term of an expansion in T/ΔL: allow 3 se plus asym_coef·(T/ΔL)·τ_EK
    // (docs/theory.md "d dimensions": the 1-D exact/EK ratio at T/ΔL = 0.2 is 1.076, i.e. coefficient 0.38).
    const double asym = o.coef * p.T / p.geom.dL * pred.tau;
    ValidationRow row{"nd", o.claim, pred.tau, r.mean, r.stderr_, false, ""};
    row.holds = std::abs(r.mean - pred.tau) <= 3 * r.stderr_ + asym;
    std::ostringstream n;
    n << "|MC - EK| <= 3 se + " << fmt(o.coef, 2) << "(T/dL) EK = " << fmt(3 * r.stderr_ + asym) << "; d = " << p.dim()
      << ", |lambda_u| = " << fmt(std::abs(p.geom.H_ue)) << ", |det H_u|/det H_a = "
      << fmt(std::abs(p.u.eigenvalues.prod() / p.a.eigenvalues.prod())) << ", T/dL = " << fmt(p.T / p.geom.dL, 3);
    row.note = n.str();
    ctx.rows.push_back(row);
    if (has_exact_oracle(p)) {
      const EscapeProblem m = marginal_problem(p);
      const double exact = exact_escape_time(m), bias = discretisation_bias(m);
      ValidationRow ex{"nd", o.claim + ": MC = exact theta_1-marginal quadrature", exact, r.mean, r.stderr_, false, ""};
      ex.holds = std::abs(r.mean - exact - bias) <= 3 * r.stderr_ + std::abs(bias);
      ex.note = "separable well: |MC - exact - bias| <= 3 se + |bias|; EM bias est " + fmt(bias, 3);
      ctx.rows.push_back(ex);
    }
  }
}

void validate_nd_slopes(ValidationContext& ctx, const nlohmann::json& v) { ctx.nd_slopes = sweep_with_defaults(ctx, v, "nd_slopes"); }
void run_nd_slopes(ValidationContext& ctx) { slope_rows(ctx, ctx.nd_slopes, "nd_slope", " in d dims"); }

void validate_yang_sde(ValidationContext& ctx, const nlohmann::json& v) {
  ctx.yang_sde = read_adam_miadam(ctx, v, "yang_sde_theorem1", 0.25);
  const auto pa = parse_escape_problem_nd(ctx.yang_sde.a);
  const auto pm = parse_escape_problem_nd(ctx.yang_sde.b);
  FLATMIN_CHECK(pa.dynamics == DynamicsType::Adam && pm.dynamics == DynamicsType::MIAdam && pm.kappa == 1.0,
                "yang_sde_theorem1: adam must use dynamics adam, miadam dynamics miadam with kappa 1");
  parse_escape_run(ctx.yang_sde.a);
  parse_escape_run(ctx.yang_sde.b);
}
void run_yang_sde(ValidationContext& ctx) {
  const auto& ca = ctx.yang_sde.a;
  const auto& cm = ctx.yang_sde.b;
  const auto pa = parse_escape_problem_nd(ca), pm = parse_escape_problem_nd(cm);
  const auto ra = run_escape_mc_nd(pa, parse_escape_run(ca));
  const auto rm = run_escape_mc_nd(pm, parse_escape_run(cm));
  FLATMIN_CHECK(ra.censored == 0 && rm.censored == 0, "yang_sde_theorem1: paths censored at t_max (Adam " << ra.censored
                                                                                                        << ", MIAdam1 " << rm.censored << ")");
  // ϱ fitted once from Adam's Monte Carlo (theory.md §9.4): log φ15 is linear in ϱ, so
  // ϱ = log(τ_Adam/φ15(0)) / log(φ15(1)/φ15(0)). Then Eq. 14 with that ϱ predicts MIAdam1.
  const auto& g = pa.geom;
  auto phi15 = [&](double rho) { return phi_adam_eq15(pa.lr, pa.batch, pa.beta1, g.dL, g.H_ae, g.H_ue, g.det_ratio_quarter, rho); };
  const double l0 = std::log(phi15(0.0)), l1 = std::log(phi15(1.0));
  const double rho = (std::log(ra.mean) - l0) / (l1 - l0);
  const double rho_se = ra.stderr_ / ra.mean / std::abs(l1 - l0);
  ctx.rows.push_back({"yang_sde", "Eq. 15 via the SDE on Yang 2020: rho fitted from Adam's escape time lies in (0, 1)", kNaN, rho, rho_se,
                      rho > 0 && rho < 1,
                      "Adam tau = " + fmt(ra.mean) + " +- " + fmt(ra.stderr_, 2) + "; rho = log(tau/phi15(0))/log(phi15(1)/phi15(0))"});
  const double rho_c = std::clamp(rho, 0.0, 1.0);
  const double pred_mi = mean_time_eq14(pm.lr, pm.batch, pm.beta1, pm.geom.dL, pm.geom.H_ae, pm.geom.H_ue, pm.geom.det_ratio_quarter, rho_c);
  const double q = rm.mean / ra.mean;
  const double q_se = q * std::sqrt(std::pow(rm.stderr_ / rm.mean, 2) + std::pow(ra.stderr_ / ra.mean, 2));
  std::ostringstream n;
  n << "SDE on Yang 2020 from a+ across u+, Hessian noise |H|/delta; Adam tau = " << fmt(ra.mean) << " +- " << fmt(ra.stderr_, 2)
    << ", MIAdam1 kappa=1 tau = " << fmt(rm.mean) << " +- " << fmt(rm.stderr_, 2) << "; predicted = Eq. 14(rho)/tau_Adam; holds if ratio + 3 se < 1";
  ctx.rows.push_back({"yang_sde", "Theorem 1 via the SDE on Yang 2020: MIAdam1 (kappa=1) escapes a+ faster than Adam", pred_mi / ra.mean, q,
                      q_se, q + 3 * q_se < 1, n.str()});
  const double tol = ctx.yang_sde.tol;
  std::ostringstream n2;
  n2 << "Eq. 14 survival-integrated (rate 1/phi14(t)) with rho = " << fmt(rho_c, 3) << " fitted from Adam; holds if |MC - pred| <= 3 se + "
     << fmt(tol, 2) << " pred";
  ctx.rows.push_back({"yang_sde", "Theorem 1 via the SDE on Yang 2020: MIAdam1 (kappa=1) mean escape time = Eq. 14", pred_mi, rm.mean,
                      rm.stderr_, std::abs(rm.mean - pred_mi) <= 3 * rm.stderr_ + tol * pred_mi, n2.str()});
}

/// The suite, in run order; weights are rough cost estimates (Monte Carlo sections dominate) for the ETA.
const Section kSections[] = {
    {"oracle_checks", "oracle checks", 1, validate_oracle, run_oracle},
    {"mc_checks", "Monte Carlo vs quadrature", 10, validate_mc, run_mc_checks},
    {"slopes", "slope studies", 40, validate_slopes, run_slopes},
    {"momentum", "momentum (C)", 60, validate_momentum, run_momentum},
    {"adai", "adai (E)", 50, validate_adai, run_adai},
    {"theorem1", "Theorem 1 (Eq. 14 vs Eq. 15)", 10, validate_theorem1, run_theorem1},
    {"kappa_controls", "kappa controls", 10, validate_kappa, run_kappa},
    {"regret", "Theorem 2 regret", 10, validate_regret, run_regret_section},
    {"yang", "Yang 2020 critical points", 1, validate_yang, run_yang},
    {"yang_theorem1", "Theorem 1 on Yang 2020 (discrete Adam vs MIAdam1)", 5, validate_yang_theorem1, run_yang_theorem1},
    {"nd_kramers", "d-dim Monte Carlo vs Eyring-Kramers", 20, validate_nd_kramers, run_nd_kramers},
    {"nd_slopes", "d-dim slope studies", 30, validate_nd_slopes, run_nd_slopes},
    {"yang_sde_theorem1", "Theorem 1 on Yang 2020 via the SDE", 10, validate_yang_sde, run_yang_sde},
};

}  // namespace

nlohmann::json resolve_validation_profile(const nlohmann::json& cfg, const std::string& profile) {
  FLATMIN_CHECK(cfg.is_object(), "validation config must be a JSON object");
  return common::merge_profile(cfg, profile, "validation config");
}

std::vector<ValidationRow> run_validation(const nlohmann::json& raw, const std::string& profile, bool progress,
                                          ValidationDetails* details) {
  FLATMIN_CHECK(profile == "quick" || profile == "full", "profile '" << profile << "' is not quick or full");
  ValidationContext ctx;
  ctx.profile = profile;
  ctx.cfg = resolve_validation_profile(raw, profile);
  common::ConfigReader top(ctx.cfg, "validation config");
  top.allow({"notes"});
  ctx.defaults = top.object("defaults");
  ctx.max_particle_steps = top.number("max_particle_steps", ctx.max_particle_steps);
  std::vector<const Section*> present;
  for (const auto& s : kSections)
    if (top.has(s.key)) present.push_back(&s);
  top.finish();
  top.require(ctx.max_particle_steps > 0, "max_particle_steps", ctx.max_particle_steps, "> 0");
  // ---- validate every section before running any
  for (const Section* s : present) s->validate(ctx, ctx.cfg.at(s->key));
  // ---- run, with one progress line per section and an ETA over the sections' weights
  std::int64_t total_weight = 0, done_weight = 0;
  for (const Section* s : present) total_weight += s->weight;
  std::unique_ptr<common::Progress> eta;
  if (progress) eta = std::make_unique<common::Progress>("validate (cost units)", total_weight, 10.0);
  auto section_start = std::chrono::steady_clock::now();
  auto announce = [&](const std::string& what) {
    if (!progress) return;
    eta->update(done_weight);
    if (what == "done") eta->finish();
    const auto now = std::chrono::steady_clock::now();
    std::cerr << "validate: " << what << " (previous section " << std::fixed << std::setprecision(1)
              << std::chrono::duration<double>(now - section_start).count() << " s)" << std::endl;
    section_start = now;
  };
  for (const Section* s : present) {
    announce(s->label);
    s->run(ctx);
    done_weight += s->weight;
  }
  announce("done");
  if (details) *details = ctx.details;
  return ctx.rows;
}

nlohmann::json to_json(const std::vector<ValidationRow>& rows) {
  nlohmann::json a = nlohmann::json::array();
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  for (const auto& r : rows)
    a.push_back({{"section", r.section}, {"claim", r.claim}, {"predicted", num(r.predicted)}, {"measured", num(r.measured)},
                 {"measured_stderr", num(r.measured_se)}, {"holds", r.holds}, {"note", r.note}});
  return a;
}

std::string format_table(const std::vector<ValidationRow>& rows) {
  std::ostringstream s;
  std::size_t w = 5;
  for (const auto& r : rows) w = std::max(w, r.claim.size());
  w = std::min<std::size_t>(w, 90);
  s << std::left << std::setw(static_cast<int>(w)) << "claim" << " | " << std::setw(11) << "predicted" << " | "
    << std::setw(20) << "measured" << " | verdict\n";
  s << std::string(w + 50, '-') << "\n";
  for (const auto& r : rows) {
    std::string meas = fmt(r.measured);
    if (r.measured_se > 0) meas += " +- " + fmt(r.measured_se, 2);
    s << std::left << std::setw(static_cast<int>(w)) << r.claim.substr(0, w) << " | " << std::setw(11) << fmt(r.predicted)
      << " | " << std::setw(20) << meas << " | " << (r.holds ? "holds" : "FAILS") << "\n";
  }
  return s.str();
}

void write_validation_outputs(const std::vector<ValidationRow>& rows, const ValidationDetails& details,
                              const std::filesystem::path& dir, const std::string& profile) {
  std::size_t fails = 0;
  for (const auto& r : rows) fails += r.holds ? 0 : 1;
  {
    common::AtomicFile f(dir / "validation.csv");
    common::CsvWriter csv(f.stream(), {"section", "claim", "predicted", "measured", "measured_stderr", "verdict", "note"});
    for (const auto& r : rows)
      csv.row_strings({r.section, r.claim, common::format_double(r.predicted), common::format_double(r.measured),
                       common::format_double(r.measured_se), r.holds ? "holds" : "fails", r.note});
    f.commit();
  }
  nlohmann::json slopes = nlohmann::json::array();
  for (const auto& s : details.slopes) slopes.push_back(to_json(s));
  common::write_json_atomic(dir / "validation.json", {{"profile", profile}, {"rows", to_json(rows)}, {"holds", rows.size() - fails},
                                                      {"fails", fails}, {"slopes", slopes}});
  if (!details.slopes.empty()) write_sweep_csvs(details.slopes, dir / "slopes");
  if (!details.regret.empty()) write_regret_csv(details.regret, dir / "regret" / "regret.csv");
}

}  // namespace flatmin::theory
