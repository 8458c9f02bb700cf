// Reproduce targets for the MIAdam tables that cannot be rerun here (Table 2: ImageNet-1k; Table 3: BERT/RoBERTa
// text classification). Each reports its claims as "not reproducible here" with the reason and the exact command
// and config that would run them where the data, weights and code exist (written to would_run.json), and checks
// what can be checked from the printed numbers themselves: Table 2's values on the k/256 grid (one 256-image
// batch, not the 50,000-image validation set; reproduction-targets.md §3.2), Table 3's MIAdam1-vs-Adam
// differences against their standard errors. The printed tables are transcribed in experiments/configs/
// reproduce.json; every number of the rows is computed here from that transcription. No LibTorch in this file.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>

#include "common/atomic_file.h"
#include "common/config.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/json_io.h"
#include "experiments/commands/reproduce_target.h"

namespace flatmin::experiments {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

/// cfg "would_run": [{"quantity", "reference" (number or null), "reason", "missing", "command", "config" (object),
/// "config_file"}]: one not_reproducible row per entry (note = reason + what is missing + the command), the config
/// written to dir/config_file ("{config}" in the command is its path) and would_run.json listing every entry, so the
/// command and its config are files a reader can take to a machine that has the data.
std::vector<ReportRow> would_run_rows(const json& cfg, const std::string& target, const fs::path& dir, json& summary) {
  std::vector<ReportRow> rows;
  const json& list = cfg.at("would_run");
  FLATMIN_CHECK(list.is_array() && !list.empty(), target << ": 'would_run' must be a non-empty array");
  json out = json::array();
  for (const auto& e : list) {
    FLATMIN_CHECK(e.is_object(), target << ": every would_run entry must be an object");
    common::ConfigReader r(e, target + ": would_run entry");
    ReportRow row;
    row.target = target;
    row.quantity = r.string("quantity");
    row.reference = r.has("reference") && e.at("reference").is_number() ? r.number("reference") : std::nan("");
    row.ours = std::nan("");
    const std::string reason = r.string("reason"), missing = r.string("missing"), config_file = r.string("config_file");
    std::string command = r.string("command");
    const json config = r.raw("config", json::object());
    r.finish();
    FLATMIN_CHECK(!config_file.empty() && config_file.find('/') == std::string::npos && config_file != "would_run.json",
                  target << ": would_run config_file '" << config_file << "' must be a plain file name");
    // "{config}" in the command is the written config file
    const fs::path written = dir / config_file;
    for (size_t at = command.find("{config}"); at != std::string::npos; at = command.find("{config}", at))
      command.replace(at, 8, written.string());
    common::write_json_atomic(written, config);
    row.note = reason + ". Would run (once " + missing + "): " + command;
    row.verdict = "not_reproducible";
    rows.push_back(row);
    out.push_back({{"quantity", row.quantity}, {"reason", reason}, {"missing", missing}, {"command", command},
                   {"config_file", written.string()}});
  }
  common::write_json_atomic(dir / "would_run.json", out);
  summary["would_run"] = out;
  return rows;
}

// ---- Table 2: ImageNet-1k top-1, printed values on the 100·k/256 grid ------------------------------------

/// x rounded (half up) and truncated to two decimals, in hundredths (integers: no float comparisons later).
int64_t hundredths_rounded(double x) { return static_cast<int64_t>(std::floor(x * 100.0 + 0.5)); }
int64_t hundredths_truncated(double x) { return static_cast<int64_t>(std::floor(x * 100.0 + 1e-9)); }

double binomial_tail(int n, int k, double p) {  // P(X >= k), X ~ Bin(n, p)
  double s = 0;
  for (int j = k; j <= n; ++j) s += std::exp(std::lgamma(n + 1.0) - std::lgamma(j + 1.0) - std::lgamma(n - j + 1.0)) *
                                    std::pow(p, j) * std::pow(1 - p, n - j);
  return s;
}

std::vector<ReportRow> table2_imagenet(const json& cfg, const fs::path& dir, json& summary, const TargetContext&) {
  const std::string T = "table2_imagenet";
  const json& printed = cfg.at("printed");
  const auto columns = printed.at("columns").get<std::vector<std::string>>();
  const int64_t D = cfg.at("denominator").get<int64_t>();
  FLATMIN_CHECK(D >= 1, T << ": denominator must be >= 1");
  // The grid: every two-decimal percentage that is 100k/D rounded (half up) or truncated, k = 0..D.
  std::set<int64_t> rounded, truncated;
  for (int64_t k = 0; k <= D; ++k) {
    const double x = 100.0 * double(k) / double(D);
    rounded.insert(hundredths_rounded(x));
    truncated.insert(hundredths_truncated(x));
  }
  std::set<int64_t> grid = rounded;
  grid.insert(truncated.begin(), truncated.end());
  // Chance model: a two-decimal percentage uniform on {0.00, 0.01, ..., 100.00} hits the grid with probability
  // |grid| / 10001 (|rounded| / 10001 for the rounded grid alone); the values are independent.
  const double cells = 10001.0;
  const double p_grid = double(grid.size()) / cells, p_rounded = double(rounded.size()) / cells;
  common::AtomicFile file(dir / "table.csv");
  common::CsvWriter csv(file.stream(), {"optimizer", "column", "printed", "k", "k_over_D_percent", "is_rounded", "is_truncated"});
  int n = 0, n_rounded = 0, n_grid = 0;
  json cells_json = json::array();
  for (const auto& [opt, vals] : printed.at("rows").items()) {
    const auto v = vals.get<std::vector<double>>();
    FLATMIN_CHECK(v.size() == columns.size(), T << ": printed row '" << opt << "' must have one value per column");
    for (size_t c = 0; c < v.size(); ++c) {
      const int64_t h = hundredths_rounded(v[c]);  // the printed value in hundredths (it has two decimals)
      const auto k = static_cast<int64_t>(std::llround(v[c] * double(D) / 100.0));
      const double exact = 100.0 * double(k) / double(D);
      const bool is_r = hundredths_rounded(exact) == h, is_t = hundredths_truncated(exact) == h;
      ++n;
      n_rounded += is_r;
      n_grid += is_r || is_t;
      csv.row_strings({opt, columns[c], fmtg(v[c], 6), std::to_string(k), fmtg(exact, 8), is_r ? "1" : "0", is_t ? "1" : "0"});
      cells_json.push_back({{"optimizer", opt}, {"column", columns[c]}, {"printed", v[c]}, {"k", k}, {"k_over_D", exact},
                            {"rounded", is_r}, {"truncated", is_t}});
    }
  }
  file.commit();
  const double p_value = binomial_tail(n, n_grid, p_grid), p_value_rounded = binomial_tail(n, n_rounded, p_rounded);
  const double alpha = cfg.at("alpha").get<double>();
  summary["cells"] = cells_json;
  summary["values"] = n;
  summary["on_grid"] = n_grid;
  summary["correctly_rounded"] = n_rounded;
  summary["chance_probability_grid"] = p_grid;
  summary["chance_probability_rounded"] = p_rounded;
  summary["p_value"] = p_value;
  summary["p_value_rounded_only"] = p_value_rounded;
  const json& ref = cfg.at("reference");
  std::vector<ReportRow> rows;
  const std::string Ds = std::to_string(D);
  auto count_row = [&](const std::string& q, const std::string& key, int ours, const std::string& note) {
    const double r = ref.at(key).get<double>();
    rows.push_back({T, q, r, double(ours), double(ours) == r, note});
  };
  count_row("printed top-1 values that are 100·k/" + Ds + " rounded or truncated to 2 decimals (of " + std::to_string(n) + ")",
            "on_grid", n_grid, "reproduction-targets.md §3.2: all 12 sit on the 1/" + Ds + " grid");
  std::string truncated_cells;
  for (const auto& c : cells_json) {
    if (!c.at("rounded").get<bool>() && c.at("truncated").get<bool>())
      truncated_cells += (truncated_cells.empty() ? "" : ", ") + c.at("optimizer").get<std::string>() + " " +
                         c.at("column").get<std::string>() + " " + fmtg(c.at("printed").get<double>()) + " = " +
                         std::to_string(c.at("k").get<int64_t>()) + "/" + Ds + " = " + fmtg(c.at("k_over_D").get<double>(), 7) + " truncated";
  }
  count_row("of them the correctly rounded value of 100·k/" + Ds, "correctly_rounded", n_rounded,
            truncated_cells.empty() ? "every on-grid value is correctly rounded" : "the others: " + truncated_cells);
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "chance model: a two-decimal percentage uniform on 0.00..100.00 lands on the grid with p = %zu/10001 = %.4f "
                "(rounded grid alone: %.4f, P(>= %d of %d rounded) = %.2g); holds iff p-value < %.0e (the spec's 1e-19 counts all 12 "
                "as rounded hits)",
                grid.size(), p_grid, p_rounded, n_rounded, n, p_value_rounded, alpha);
  rows.push_back({T, "p-value of >= " + std::to_string(n_grid) + " of " + std::to_string(n) + " grid hits by chance (scored on " + Ds +
                         " images, not the 50,000-image validation set)",
                  ref.at("p_value").get<double>(), p_value, p_value < alpha, buf});
  auto nr = would_run_rows(cfg, T, dir, summary);
  rows.insert(rows.end(), nr.begin(), nr.end());
  return rows;
}

// ---- Table 3: text classification, MIAdam1 - Adam against 2 standard errors ------------------------------

std::vector<ReportRow> table3_text(const json& cfg, const fs::path& dir, json& summary, const TargetContext&) {
  const std::string T = "table3_text";
  const json& printed = cfg.at("printed");
  const auto columns = printed.at("columns").get<std::vector<std::string>>();
  const double runs = cfg.at("runs").get<double>(), z_min = cfg.at("z_min").get<double>();
  FLATMIN_CHECK(runs >= 2, T << ": runs must be >= 2");
  const std::string a = cfg.at("baseline"), b = cfg.at("method");
  std::vector<ReportRow> rows;
  common::AtomicFile file(dir / "table.csv");
  common::CsvWriter csv(file.stream(), {"dataset", "model", "baseline_mean", "baseline_std", "method_mean", "method_std",
                                        "diff_pp", "se_pp", "z", "holds"});
  int cells = 0, significant = 0;
  json per = json::array();
  for (const auto& [dataset, table] : printed.at("datasets").items()) {
    FLATMIN_CHECK(table.contains(a) && table.contains(b), T << ": dataset '" << dataset << "' lacks '" << a << "' or '" << b << "'");
    for (size_t c = 0; c < columns.size(); ++c) {
      const auto ra = table.at(a).at(c).get<std::vector<double>>(), rb = table.at(b).at(c).get<std::vector<double>>();
      FLATMIN_CHECK(ra.size() == 2 && rb.size() == 2, T << ": every cell is [mean, std]");
      const double diff = rb[0] - ra[0], se = std::sqrt((ra[1] * ra[1] + rb[1] * rb[1]) / runs), z = diff / se;
      const bool holds = z >= z_min;
      ++cells;
      significant += holds;
      csv.row_strings({dataset, columns[c], fmtg(ra[0], 6), fmtg(ra[1], 4), fmtg(rb[0], 6), fmtg(rb[1], 4), fmtg(diff, 6), fmtg(se, 6),
               fmtg(z, 6), holds ? "1" : "0"});
      per.push_back({{"dataset", dataset}, {"model", columns[c]}, {"diff_pp", diff}, {"se_pp", se}, {"z", z}, {"holds", holds}});
      char note[240];
      std::snprintf(note, sizeof note, "%s %.2f±%.2f vs %s %.2f±%.2f: diff %+.2f pp, SE %.3f pp (std/√%g each), z = %.2f %s %g",
                    b.c_str(), rb[0], rb[1], a.c_str(), ra[0], ra[1], diff, se, runs, z, holds ? ">=" : "<", z_min);
      rows.push_back({T, dataset + " " + columns[c] + ": (" + b + " − " + a + ") / SE (paper: " + b + " significantly better)", z_min, z,
                      holds, note});
    }
  }
  file.commit();
  summary["cells"] = per;
  summary["cells_significant"] = significant;
  rows.push_back({T, "cells where " + b + " beats " + a + " by >= " + fmtg(z_min) + " SE (of " + std::to_string(cells) + ")",
                  double(cells), double(significant), significant == cells,
                  "paper: 'MIAdam significantly outperforms Adam in text classification tasks' (all cells); SE from the printed "
                  "std over the stated 3 runs"});
  auto nr = would_run_rows(cfg, T, dir, summary);
  rows.insert(rows.end(), nr.begin(), nr.end());
  return rows;
}

}  // namespace

void add_table_targets(std::map<std::string, TargetRunner>& targets) {
  targets["table2_imagenet"] = table2_imagenet;
  targets["table3_text"] = table3_text;
}

}  // namespace flatmin::experiments
