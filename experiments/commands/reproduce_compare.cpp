// Training-comparison targets of `flatmin reproduce` (issue 14 items 2, 3, 6, 7): one generic runner driven by its
// config — a `flatmin sweep` (optimizers × seeds × label-noise rates on a data subset for a few epochs), an optional
// power calculation that chooses the number of seeds, and a list of claims evaluated on the sweep's aggregate:
//  * "beats": mean best test accuracy of `method` − `baseline` (pp). One noise level: Welch standard error of the
//    difference of the two means. Several levels: the paired differences over (noise level, seed) cells, SE =
//    sd/√k. Holds only when the difference has the claim's sign AND exceeds 2 SE; inside 2 SE the row says
//    "inconclusive at <profile> scale" with the SE and the detectable effect (80 % power, two-sided α 0.05).
//  * "best": `method` has the highest mean at every listed noise level, each margin over the runner-up > 2 SE
//    of that difference (single runs per cell, as Table 4: ranks only, said in the note).
//  * "noise_check": the realised corruption of the official label-noise rule at each level against its
//    expectation (selected/n)(1 − 1/C), within 4 binomial SE (as label_noise_rate).
// The targets table1_cpu, table4_label_noise_cpu, adam_cm_train_cpu and adai_train_cpu are this runner with their
// own configs (experiments/configs/reproduce.json). No LibTorch here: the runs are `flatmin train` processes.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "common/atomic_file.h"
#include "common/config.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/json_io.h"
#include "experiments/commands/reproduce_target.h"
#include "experiments/train/sweep.h"

namespace flatmin::experiments {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

/// Standard normal quantile Φ⁻¹(p) by bisection on Φ(x) = erfc(−x/√2)/2 (to 1e-12; p in (0, 1)).
double normal_quantile(double p) {
  double lo = -40, hi = 40;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

/// z_{1−α/2} + z_{power}: the difference of two means is detected with that power at two-sided level α when
/// it is this many standard errors.
double power_z(double alpha, double power) { return normal_quantile(1 - alpha / 2) + normal_quantile(power); }

std::string f2(double x, int prec = 2) {
  if (!std::isfinite(x)) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, x);
  return b;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? std::nan("") : s / double(v.size());
}

double sd_of(const std::vector<double>& v) {
  if (v.size() < 2) return std::nan("");
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size() - 1));
}

/// One (optimizer label, noise rate) cell of the sweep: best test accuracies in pp, per seed in seed order.
struct Cell {
  std::string label;
  double noise = 0;
  std::vector<double> acc;
  double time_s = 0;
  double realised = 0;
};

struct Cells {
  std::vector<Cell> cells;
  std::vector<std::string> labels;
  std::vector<double> noises;
  const Cell& at(const std::string& label, double noise) const {
    for (const auto& c : cells)
      if (c.label == label && c.noise == noise) return c;
    throw common::InputError("train comparison: no optimizer labelled '" + label + "' at noise " + f2(noise) +
                             " in the sweep (claims must name sweep labels)");
  }
};

Cells cells_of(const json& agg) {
  Cells out;
  for (const auto& r : agg.at("rows")) {
    Cell c;
    c.label = r.at("optimizer").get<std::string>();
    c.noise = r.at("noise_rate").get<double>();
    for (const auto& a : r.at("best_test_acc")) c.acc.push_back(100.0 * a.get<double>());
    c.time_s = r.at("train_time_s_mean").is_null() ? std::nan("") : r.at("train_time_s_mean").get<double>();
    c.realised = r.at("realised_noise_mean").is_null() ? std::nan("") : r.at("realised_noise_mean").get<double>();
    if (std::find(out.labels.begin(), out.labels.end(), c.label) == out.labels.end()) out.labels.push_back(c.label);
    if (std::find(out.noises.begin(), out.noises.end(), c.noise) == out.noises.end()) out.noises.push_back(c.noise);
    out.cells.push_back(std::move(c));
  }
  return out;
}

std::string noise_name(double p) { return p == 0 ? std::string("clean labels") : "noise " + f2(100 * p, 0) + " %"; }

/// The noise levels a claim covers: its "noise" list, or every level of the sweep.
std::vector<double> claim_noises(const json& c, const Cells& cells) {
  if (!c.contains("noise")) return cells.noises;
  std::vector<double> v = c.at("noise").get<std::vector<double>>();
  for (double p : v)
    FLATMIN_CHECK(std::find(cells.noises.begin(), cells.noises.end(), p) != cells.noises.end(),
                  "train comparison: claim noise level " << p << " is not in the sweep's noise_rates");
  return v;
}

struct Difference {
  double diff = std::nan(""), se = std::nan(""), mde = std::nan("");
  size_t n_method = 0, n_base = 0, k = 0;
  bool paired = false;
};

/// method − baseline (pp): Welch at one noise level, paired over (level, seed) cells at several.
Difference difference(const Cells& cells, const std::string& method, const std::string& base, const std::vector<double>& noises,
                      double z) {
  Difference d;
  if (noises.size() == 1) {
    const Cell &a = cells.at(method, noises[0]), &b = cells.at(base, noises[0]);
    d.diff = mean_of(a.acc) - mean_of(b.acc);
    d.n_method = a.acc.size();
    d.n_base = b.acc.size();
    if (d.n_method >= 2 && d.n_base >= 2) {
      const double sa = sd_of(a.acc), sb = sd_of(b.acc);
      d.se = std::sqrt(sa * sa / double(d.n_method) + sb * sb / double(d.n_base));
      d.mde = z * d.se;
    }
    return d;
  }
  std::vector<double> pairs;
  for (double p : noises) {
    const Cell &a = cells.at(method, p), &b = cells.at(base, p);
    for (size_t i = 0; i < std::min(a.acc.size(), b.acc.size()); ++i) pairs.push_back(a.acc[i] - b.acc[i]);
  }
  d.paired = true;
  d.k = pairs.size();
  d.diff = mean_of(pairs);
  if (d.k >= 2) {
    d.se = sd_of(pairs) / std::sqrt(double(d.k));
    d.mde = z * d.se;
  }
  return d;
}

std::string levels_text(const std::vector<double>& noises) {
  if (noises.size() == 1) return noise_name(noises[0]);
  std::string s;
  for (double p : noises) s += (s.empty() ? "" : "/") + f2(100 * p, 0);
  return "noise " + s + " %, paired over levels and seeds";
}

ReportRow beats_row(const std::string& target, const json& c, const Cells& cells, const std::string& profile, double z,
                    json& out) {
  const std::string method = c.at("method"), base = c.at("baseline");
  const auto noises = claim_noises(c, cells);
  const double ref = c.contains("reference") && c.at("reference").is_number() ? c.at("reference").get<double>() : std::nan("");
  const int sign = c.value("direction", std::isfinite(ref) && ref < 0 ? -1 : 1);
  const Difference d = difference(cells, method, base, noises, z);
  ReportRow row;
  row.target = target;
  row.quantity = c.value("quantity", method + " - " + base + " mean best test acc (pp), " + levels_text(noises));
  row.reference = ref;
  row.ours = d.diff;
  const bool have_se = std::isfinite(d.se);
  const bool significant = have_se && std::abs(d.diff) > 2 * d.se;
  const bool same_sign = (d.diff > 0) == (sign > 0);
  row.holds = significant && same_sign;
  std::ostringstream note;
  if (!have_se) {
    note << "fewer than 2 runs per side: no standard error, cannot decide";
  } else if (!significant) {
    note << "inconclusive at " << profile << " scale: |difference| " << f2(std::abs(d.diff)) << " pp < 2 SE = " << f2(2 * d.se)
         << " pp (detectable at 80 % power: " << f2(d.mde) << " pp)";
  } else {
    note << (same_sign ? "same direction as the claim, > 2 SE" : "opposite direction to the claim, > 2 SE") << " (SE "
         << f2(d.se) << " pp)";
  }
  if (d.paired) {
    note << "; " << d.k << " paired differences";
  } else if (noises.size() == 1) {
    const Cell &a = cells.at(method, noises[0]), &b = cells.at(base, noises[0]);
    note << "; " << method << " " << f2(mean_of(a.acc)) << "±" << f2(sd_of(a.acc)) << " % vs " << base << " "
         << f2(mean_of(b.acc)) << "±" << f2(sd_of(b.acc)) << " % (n=" << d.n_method << "/" << d.n_base << ", Welch)";
  }
  row.note = note.str();
  out = {{"kind", "beats"}, {"method", method}, {"baseline", base}, {"noise", noises}, {"diff_pp", d.diff},
         {"se_pp", have_se ? json(d.se) : json(nullptr)}, {"detectable_pp", std::isfinite(d.mde) ? json(d.mde) : json(nullptr)},
         {"paired", d.paired}, {"holds", row.holds}, {"quantity", row.quantity}};
  return row;
}

ReportRow best_row(const std::string& target, const json& c, const Cells& cells, json& out) {
  const std::string method = c.at("method");
  const auto noises = claim_noises(c, cells);
  std::vector<std::string> among = c.contains("among") ? c.at("among").get<std::vector<std::string>>() : cells.labels;
  int first = 0, resolved = 0;
  bool any_se = false;
  std::ostringstream note;
  json levels = json::array();
  for (double p : noises) {
    std::vector<std::pair<double, std::string>> ranked;
    for (const auto& l : among) ranked.push_back({mean_of(cells.at(l, p).acc), l});
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    const bool is_first = ranked[0].second == method;
    const std::string other = is_first ? ranked[1].second : ranked[0].second;
    const Difference d = difference(cells, method, other, {p}, 0);
    const bool res = is_first && std::isfinite(d.se) && d.diff > 2 * d.se;
    any_se = any_se || std::isfinite(d.se);
    first += is_first;
    resolved += res;
    int rank = 1;
    while (ranked[size_t(rank - 1)].second != method) ++rank;
    note << (levels.empty() ? "" : "; ") << (noises.size() > 1 ? f2(100 * p, 0) + " %: " : "") << "rank " << rank << " of "
         << ranked.size() << ", best " << ranked[0].second << " " << f2(ranked[0].first) << " %, "
         << (is_first ? "margin over " + other + " " : "gap to it ") << f2(std::abs(d.diff)) << " pp"
         << (std::isfinite(d.se) ? " (SE " + f2(d.se) + ")" : "");
    levels.push_back({{"noise", p}, {"rank", rank}, {"best", ranked[0].second}, {"margin_pp", d.diff},
                      {"se_pp", std::isfinite(d.se) ? json(d.se) : json(nullptr)}});
  }
  ReportRow row;
  row.target = target;
  row.quantity = c.value("quantity", method + " best of " + std::to_string(among.size()) + " optimizers (levels where it ranks first), " +
                                         levels_text(noises).substr(0, levels_text(noises).find(", paired")));
  row.reference = double(noises.size());
  row.ours = first;
  // With standard errors: first everywhere AND every margin resolved (> 2 SE). Single runs: ranks only.
  row.holds = any_se ? resolved == int(noises.size()) : first == int(noises.size());
  const std::string head = !any_se ? "single run per cell (as the paper's Table 4): ranks only, no SE; "
                           : row.holds ? "first, every margin > 2 SE; "
                           : first == int(noises.size()) ? "ranked first but not resolved (a margin < 2 SE); "
                                                         : "";
  row.note = head + note.str();
  out = {{"kind", "best"}, {"method", method}, {"levels", levels}, {"holds", row.holds}, {"quantity", row.quantity}};
  return row;
}

/// Realised corruption of the official rule (new label uniform over all C classes) at each noise level,
/// from the runs' result.json: within 4 binomial SE of (selected/n)(1 − 1/C). The corruption depends only on
/// the run seed, so the optimizers of one seed share it (checked): pooled over distinct seeds only.
std::vector<ReportRow> noise_rows(const std::string& target, const std::vector<train::SweepRun>& runs, int classes, json& out) {
  std::map<double, std::map<uint64_t, json>> by;
  bool shared = true;
  for (const auto& r : runs) {
    if (r.noise <= 0) continue;
    const json rep = common::read_json_file(r.dir / "result.json").at("label_noise");
    auto [it, fresh] = by[r.noise].emplace(r.seed, rep);
    if (!fresh && it->second.at("changed") != rep.at("changed")) shared = false;
  }
  std::vector<ReportRow> rows;
  out = json::array();
  const double q = 1.0 - 1.0 / classes;
  for (const auto& [p, reps] : by) {
    double changed = 0, selected = 0, n = 0;
    for (const auto& [seed, rep] : reps) {
      const double rate = rep.at("realised_rate").get<double>(), ch = rep.at("changed").get<double>();
      const double sel = rep.at("selected").get<double>();
      changed += ch;
      selected += sel;
      n += rate > 0 ? std::round(ch / rate) : std::round(sel / p);  // realised = changed/n; selected = floor(p n)
    }
    const double realised = n > 0 ? changed / n : 0, expect = n > 0 ? selected * q / n : 0;
    const double se = n > 0 ? std::sqrt(selected * q * (1 - q)) / n : 0;
    ReportRow row;
    row.target = target;
    row.quantity = "realised corruption at p=" + f2(p) + " (official rule, training subset, " + std::to_string(reps.size()) +
                   " seed(s) pooled)";
    row.reference = p * q;
    row.ours = realised;
    row.holds = n > 0 && std::abs(realised - expect) <= 4 * se && shared;
    row.note = "expected (selected/n)(1-1/C) = " + f2(expect, 4) + ", bound 4 SE = " + f2(4 * se, 4) +
               "; true rate 0.9 p, not p; " + (shared ? "every optimizer of a seed saw the same corrupted labels"
                                                       : "the optimizers of one seed saw DIFFERENT corruptions");
    out.push_back({{"noise", p}, {"realised", realised}, {"expected", expect}, {"se", se}, {"seeds", reps.size()},
                   {"shared_across_optimizers", shared}});
    rows.push_back(row);
  }
  return rows;
}

/// The power calculation that sets the seeds: n = ⌈2 (z σ / δ)²⌉ for a difference δ of two means with
/// per-run std σ, z = z_{1−α/2} + z_{power}; capped at max_seeds (the profile's budget), at least 2.
json plan_seeds(const json& p) {
  common::ConfigReader r(p, "power");
  r.allow({"sigma_source", "effect_source"});
  const double delta = r.number("effect_pp"), sigma = r.number("sigma_pp");
  const double alpha = r.number("alpha", 0.05), power = r.number("power", 0.8);
  const int64_t cap = r.integer("max_seeds", 0);
  const std::string method = r.string("method"), base = r.string("baseline");
  r.finish();
  r.require(delta > 0, "effect_pp", delta, "> 0");
  r.require(sigma > 0, "sigma_pp", sigma, "> 0");
  r.require(alpha > 0 && alpha < 1, "alpha", alpha, "in (0, 1)");
  r.require(power > 0.5 && power < 1, "power", power, "in (0.5, 1)");
  r.require(cap == 0 || cap >= 2, "max_seeds", cap, ">= 2 (0 = no cap)");
  const double z = power_z(alpha, power);
  const int64_t need = std::max<int64_t>(2, int64_t(std::ceil(2 * (z * sigma / delta) * (z * sigma / delta) - 1e-9)));
  const int64_t used = cap > 0 ? std::min(need, cap) : need;
  return {{"effect_pp", delta}, {"sigma_pp", sigma}, {"alpha", alpha}, {"power", power}, {"z", z}, {"seeds_required", need},
          {"seeds_used", used}, {"capped", used < need}, {"max_seeds", cap}, {"method", method}, {"baseline", base},
          {"planned_detectable_pp", z * sigma * std::sqrt(2.0 / double(used))},
          {"sigma_source", p.value("sigma_source", "")}, {"effect_source", p.value("effect_source", "")}};
}

/// The table in the paper's layout: per optimizer (and noise level) ours mean ± std and wall time beside the
/// paper's numbers (cfg "paper_table": {"caption", "rows": {label: [[mean, std|null, "time"|null], ...] per level}}).
json write_table(const fs::path& dir, const Cells& cells, const json& paper) {
  json rows = json::array();
  const json prow = paper.is_object() ? paper.value("rows", json::object()) : json::object();
  common::AtomicFile f(dir / "table.csv");
  common::CsvWriter w(f.stream(), {"optimizer", "noise_rate", "runs", "best_test_acc_mean_pp", "best_test_acc_std_pp", "train_time_s_mean",
                                   "paper_mean", "paper_std", "paper_time"});
  for (const auto& l : cells.labels) {
    for (size_t i = 0; i < cells.noises.size(); ++i) {
      const Cell& c = cells.at(l, cells.noises[i]);
      json pm = nullptr, ps = nullptr, pt = nullptr;
      if (prow.contains(l) && i < prow.at(l).size()) {
        const json& e = prow.at(l)[i];
        pm = e.at(0);
        ps = e.size() > 1 ? e.at(1) : json(nullptr);
        pt = e.size() > 2 ? e.at(2) : json(nullptr);
      }
      const double m = mean_of(c.acc), s = sd_of(c.acc);
      rows.push_back({{"optimizer", l}, {"noise", c.noise}, {"runs", c.acc.size()}, {"mean_pp", m},
                      {"std_pp", std::isfinite(s) ? json(s) : json(nullptr)}, {"time_s", std::isfinite(c.time_s) ? json(c.time_s) : json(nullptr)},
                      {"acc_pp", c.acc}, {"paper_mean", pm}, {"paper_std", ps}, {"paper_time", pt}});
      auto cell = [](const json& v) { return v.is_null() ? std::string() : v.is_string() ? v.get<std::string>() : f2(v.get<double>()); };
      w.row_strings({l, f2(c.noise), std::to_string(c.acc.size()), f2(m, 3), std::isfinite(s) ? f2(s, 3) : "", f2(c.time_s, 1), cell(pm),
                     cell(ps), cell(pt)});
    }
  }
  f.commit();
  // table.md: the paper's layout, ours (mean ± std, wall time) beside the paper's numbers per noise level
  std::ostringstream md;
  md << "| Optimizer |";
  for (double p : cells.noises) {
    const std::string lv = cells.noises.size() > 1 ? " " + f2(100 * p, 0) + " %" : "";
    md << " ours" << lv << " | time |" << (paper.is_object() ? " paper" + lv + " |" : "");
  }
  md << "\n|---|";
  for (size_t i = 0; i < cells.noises.size(); ++i) md << "---|---|" << (paper.is_object() ? "---|" : "");
  md << "\n";
  size_t k = 0;
  for (const auto& l : cells.labels) {
    md << "| " << l << " |";
    for (size_t i = 0; i < cells.noises.size(); ++i, ++k) {
      const json& r = rows[k];
      md << " " << f2(r.at("mean_pp").get<double>()) << (r.at("std_pp").is_null() ? "" : "±" + f2(r.at("std_pp").get<double>())) << " | "
         << (r.at("time_s").is_null() ? "" : f2(r.at("time_s").get<double>(), 0) + " s") << " |";
      if (paper.is_object()) {
        md << " " << (r.at("paper_mean").is_null() ? "—" : f2(r.at("paper_mean").get<double>()))
           << (r.at("paper_std").is_null() ? "" : "±" + f2(r.at("paper_std").get<double>()))
           << (r.at("paper_time").is_null() ? "" : " (" + r.at("paper_time").get<std::string>() + ")") << " |";
      }
    }
    md << "\n";
  }
  if (paper.is_object()) md << "\nPaper: " << paper.value("caption", "") << ". Ours: best test accuracy (%) over seeds, sample std, mean wall time of one run.\n";
  common::write_text_atomic(dir / "table.md", md.str());
  return rows;
}

std::vector<ReportRow> train_comparison(const std::string& target, const json& cfg_in, const fs::path& dir, json& summary,
                                        const TargetContext& ctx) {
  json cfg = cfg_in;
  const double z = power_z(0.05, 0.8);
  json plan = nullptr;
  if (cfg.contains("power") && !cfg.at("power").is_null()) {
    plan = plan_seeds(cfg.at("power"));
    std::vector<int64_t> seeds;
    for (int64_t s = 0; s < plan.at("seeds_used").get<int64_t>(); ++s) seeds.push_back(s);
    cfg["sweep"]["seeds"] = seeds;  // the power calculation chooses the seeds
  }
  const train::SweepArgs s = target_sweep_args(cfg, dir, ctx, 0);
  const auto runs = train::expand_sweep(s);
  const json agg = train::run_sweep(s);
  const Cells cells = cells_of(agg);
  std::vector<ReportRow> rows;
  json claims = json::array();
  for (const auto& c : cfg.value("claims", json::array())) {
    const std::string kind = c.at("kind");
    json out;
    if (kind == "beats") {
      rows.push_back(beats_row(target, c, cells, ctx.profile, z, out));
    } else if (kind == "best") {
      rows.push_back(best_row(target, c, cells, out));
    } else {
      throw common::InputError("train comparison '" + target + "': unknown claim kind '" + kind + "' (beats, best)");
    }
    claims.push_back(out);
  }
  if (!plan.is_null()) {  // did this run have the power to see the paper's effect? (measured σ, not the planned one)
    const std::string m = plan.at("method"), b = plan.at("baseline");
    const Cell &a = cells.at(m, cells.noises[0]), &bb = cells.at(b, cells.noises[0]);
    const double sa = sd_of(a.acc), sb = sd_of(bb.acc);
    const double sigma = std::sqrt(0.5 * (sa * sa + sb * sb));
    const double n = double(plan.at("seeds_used").get<int64_t>());
    const double mde = z * sigma * std::sqrt(2.0 / n);
    const double delta = plan.at("effect_pp");
    ReportRow row;
    row.target = target;
    row.quantity = "detectable " + m + " - " + b + " difference at n=" + std::to_string(int(n)) + " seeds (pp, 80 % power, alpha 0.05)";
    row.reference = delta;
    row.ours = mde;
    row.holds = std::isfinite(mde) && mde <= delta;
    row.note = "power calculation: n = ceil(2 (z sigma / delta)^2), z = " + f2(z) + "; planned sigma " +
               f2(plan.at("sigma_pp").get<double>()) + " pp (" + plan.at("sigma_source").get<std::string>() + ") needs n = " +
               std::to_string(plan.at("seeds_required").get<int64_t>()) + " for delta " + f2(delta) + " pp" +
               (plan.at("capped").get<bool>() ? "; capped at " + std::to_string(int(n)) + " by this profile's budget" : "") +
               "; measured sigma " + f2(sigma) + " pp -> detectable " + f2(mde) + " pp" +
               (row.holds ? "" : ": this profile cannot detect the paper's effect");
    plan["measured_sigma_pp"] = std::isfinite(sigma) ? json(sigma) : json(nullptr);
    plan["measured_detectable_pp"] = std::isfinite(mde) ? json(mde) : json(nullptr);
    rows.push_back(row);
  }
  if (cfg.value("noise_check", false)) {
    json nc;
    const auto nr = noise_rows(target, runs, cfg.value("classes", 10), nc);
    rows.insert(rows.end(), nr.begin(), nr.end());
    summary["noise_check"] = nc;
  }
  summary["setting"] = cfg.value("setting", "");
  summary["power"] = plan;
  summary["claims"] = claims;
  summary["aggregate"] = agg;
  summary["table"] = write_table(dir, cells, cfg.value("paper_table", json()));
  summary["paper_table"] = cfg.value("paper_table", json());
  summary["labels"] = cells.labels;
  summary["noise_rates"] = cells.noises;
  return rows;
}

std::vector<ReportRow> table1_cpu(const json& c, const fs::path& d, json& s, const TargetContext& x) {
  return train_comparison("table1_cpu", c, d, s, x);
}
std::vector<ReportRow> table4_label_noise_cpu(const json& c, const fs::path& d, json& s, const TargetContext& x) {
  return train_comparison("table4_label_noise_cpu", c, d, s, x);
}
std::vector<ReportRow> adam_cm_train_cpu(const json& c, const fs::path& d, json& s, const TargetContext& x) {
  return train_comparison("adam_cm_train_cpu", c, d, s, x);
}
std::vector<ReportRow> adai_train_cpu(const json& c, const fs::path& d, json& s, const TargetContext& x) {
  return train_comparison("adai_train_cpu", c, d, s, x);
}

}  // namespace

void add_compare_targets(std::map<std::string, TargetRunner>& targets) {
  targets["table1_cpu"] = table1_cpu;
  targets["table4_label_noise_cpu"] = table4_label_noise_cpu;
  targets["adam_cm_train_cpu"] = adam_cm_train_cpu;
  targets["adai_train_cpu"] = adai_train_cpu;
}

}  // namespace flatmin::experiments
