#include "experiments/commands/reproduce.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/Parallel.h>

#include "common/config.h"
#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/format.h"
#include "common/json_io.h"
#include "common/limits.h"
#include "common/nearest.h"
#include "common/output_path.h"
#include "common/progress.h"
#include "common/status.h"
#include "experiments/commands/common_cli.h"
#include "experiments/commands/reproduce_target.h"

namespace flatmin::experiments {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string fmt(double x) {
  if (std::isnan(x)) return "—";  // qualitative claim: no number on the paper's side
  std::ostringstream os;
  os.precision(4);
  os << x;
  return os.str();
}

/// The keys each target of reproduce.json reads (besides the keys every target may have — source, claim,
/// notes, about, paper, conditions, not_reproducible, skip — and profiles, whose objects may override any
/// of them): a typo'd key is an InputError naming the nearest one, before anything runs.
void check_target_keys(const std::string& name, const json& cfg, const std::string& where) {
  static const std::map<std::string, std::vector<std::string>> keys = {
      {"miadam_step_ratio", {"options", "gradient", "steps_per_epoch", "epochs_after_switch", "reference", "sig_digits"}},
      {"dualadam_warmup", {"options", "t", "g", "reference", "sig_digits"}},
      {"sim_yang_landscape", {"reference"}},
      {"sim_fig2_yang", {"claims", "simulation"}},
      {"sim_fig2_multiwell", {"claims", "oscillation_claim", "simulation"}},
      {"sim_start_study", {"runs"}},
      {"sim_escape", {"adaptive", "sgd", "sharpness", "simulation_common"}},
      {"sim_regret", {"reference", "sig_digits", "simulation"}},
      {"theory", {"config_file", "suite"}},
      {"train_adam_vs_miadam1", {"baseline", "method", "reference_diff_pp", "setting", "sweep", "workers", "data_dir"}},
      {"label_noise_rate", {"rate", "seed"}},
      // the train-comparison targets (reproduce_compare.cpp) share one key list
      {"table1_cpu", {"sweep", "workers", "data_dir", "setting", "power", "claims", "paper_table", "noise_check", "classes"}},
      {"table4_label_noise_cpu", {"sweep", "workers", "data_dir", "setting", "power", "claims", "paper_table", "noise_check", "classes"}},
      {"adam_cm_train_cpu", {"sweep", "workers", "data_dir", "setting", "power", "claims", "paper_table", "noise_check", "classes"}},
      {"adai_train_cpu", {"sweep", "workers", "data_dir", "setting", "power", "claims", "paper_table", "noise_check", "classes"}},
      {"fig3_hessian", {"baseline", "hessian", "sweep", "trace_sigmas", "workers", "data_dir"}},
      {"table2_imagenet", {"printed", "denominator", "reference", "alpha", "would_run"}},
      {"fig1_filtering", {"steps", "burn_in", "segment", "batch_size", "min_bin", "orders", "kappa", "tolerance", "high_frequency",
                          "coordinate", "seed", "data_dir", "train_subset", "optimizer"}},
      {"dualadam_ablation_cpu", {"sweep", "workers", "data_dir", "setting", "z", "equivalence_margin_pp", "dualadam", "adam",
                                 "adam_warmup", "invadam", "escape"}},
      {"adam_cm_toy", {"z", "exploration", "buffer"}},
      {"adai_claims", {"z", "threads", "common", "dynamics", "minimum", "saddle", "e_row"}},
      {"table3_text", {"printed", "runs", "z_min", "baseline", "method", "would_run"}}};
  const auto it = keys.find(name);
  if (it == keys.end()) return;  // a target added without a key list: not checked
  std::vector<std::string> known = {"source", "claim", "notes", "about", "profiles", "paper", "conditions", "not_reproducible", "skip"};
  known.insert(known.end(), it->second.begin(), it->second.end());
  FLATMIN_CHECK(cfg.is_object(), where << ": target '" << name << "' must be an object");
  for (const auto& [k, v] : cfg.items()) {
    if (std::find(known.begin(), known.end(), k) == known.end())
      throw common::InputError(where + ": target '" + name + "': " + common::unknown_name_message("key", k, known));
  }
  if (cfg.contains("profiles") && cfg.at("profiles").is_object()) {
    for (const auto& [p, over] : cfg.at("profiles").items()) {
      if (!over.is_object()) continue;
      for (const auto& [k, v] : over.items()) {
        if (k == "profiles" || std::find(known.begin(), known.end(), k) == known.end())
          throw common::InputError(where + ": target '" + name + "': profile '" + p + "': " +
                                   common::unknown_name_message("key", k, it->second));
      }
    }
  }
}

/// "a number", "a string", … — the JSON kind of `v` as a message names it.
std::string kind_name(const json& v) {
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

bool same_kind(const json& a, const json& b) { return (a.is_number() && b.is_number()) || a.type() == b.type(); }

/// A target's values must have the JSON kind of the shipped reproduce.json's (`ref`, key by key, recursively; a
/// list's entries that of the shipped list's entries when those share one kind): the runners read them with
/// typed accessors, so a wrong type is an InputTypeError naming the key and the expected kind before anything
/// runs, not a `[json.exception.type_error]` during it. Keys the shipped target lacks, and nulls, are not checked.
void check_types_like(const json& ref, const json& v, const std::string& key, const std::string& where) {
  if (ref.is_null() || v.is_null()) return;
  if (!same_kind(ref, v)) throw common::InputTypeError(where + ": '" + key + "' must be " + kind_name(ref) + ", got " + v.dump());
  if (ref.is_object()) {
    for (const auto& [k, x] : v.items()) {
      if (ref.contains(k)) check_types_like(ref.at(k), x, key.empty() ? k : key + "." + k, where);
    }
  } else if (ref.is_array() && !ref.empty()) {
    const bool uniform = std::all_of(ref.begin(), ref.end(), [&](const json& e) { return same_kind(e, ref.front()); });
    for (size_t i = 0; i < v.size(); ++i) {
      const json& r = uniform ? ref.front() : (i < ref.size() ? ref.at(i) : json());
      check_types_like(r, v.at(i), key + "[" + std::to_string(i) + "]", where);
    }
  }
}

/// The keys every target may have, read as strings (skip, source, claim), objects of strings (notes, conditions)
/// or a string / object of strings (paper).
void check_common_target_types(const json& cfg, const std::string& where) {
  auto fail = [&](const std::string& key, const std::string& what) {
    throw common::InputTypeError(where + ": '" + key + "' must be " + what + ", got " + cfg.at(key).dump());
  };
  for (const char* key : {"skip", "source", "claim"}) {
    if (cfg.contains(key) && !cfg.at(key).is_null() && !cfg.at(key).is_string()) fail(key, "a string");
  }
  auto strings_object = [](const json& o) {
    return o.is_object() && std::all_of(o.begin(), o.end(), [](const json& e) { return e.is_string(); });
  };
  for (const char* key : {"notes", "conditions"}) {
    if (cfg.contains(key) && !strings_object(cfg.at(key))) fail(key, "an object of strings (quantity -> text)");
  }
  if (cfg.contains("paper") && !cfg.at("paper").is_string() && !strings_object(cfg.at("paper")))
    fail("paper", "a string or an object of strings (row target -> paper)");
}

/// The paper a row belongs to: cfg "paper" is a string ("001") or an object of row target → paper with
/// "*" as the default (a target whose rows come from several papers, e.g. theory/<section>).
std::string paper_of(const json& cfg, const std::string& row_target) {
  if (!cfg.contains("paper")) return "";
  const json& p = cfg.at("paper");
  if (p.is_string()) return p.get<std::string>();
  FLATMIN_CHECK(p.is_object(), "'paper' must be a string or an object of row target -> paper");
  if (p.contains(row_target)) return p.at(row_target).get<std::string>();
  return p.value("*", std::string());
}

/// cfg "not_reproducible": [{"quantity", "reason", "reference" (number or null), "paper"}]: claims of the
/// paper that this profile cannot check here (e.g. GPU-scale tables); reported with verdict
/// "not_reproducible", the reason as the note and no value of ours.
std::vector<ReportRow> not_reproducible_rows(const json& list, const std::string& target, const std::string& where) {
  std::vector<ReportRow> rows;
  if (list.is_null()) return rows;
  FLATMIN_CHECK(list.is_array(), where << ": 'not_reproducible' must be an array");
  for (const auto& e : list) {
    FLATMIN_CHECK(e.is_object(), where << ": a not_reproducible entry must be an object");
    common::ConfigReader c(e, where + ": not_reproducible entry");
    c.allow({"paper"});
    ReportRow r;
    r.target = c.string("target", target);
    r.quantity = c.string("quantity");
    r.reference = c.has("reference") && e.at("reference").is_number() ? c.number("reference") : std::nan("");
    r.ours = std::nan("");
    r.holds = false;
    r.note = c.string("reason");
    c.finish();
    r.verdict = "not_reproducible";
    rows.push_back(r);
  }
  return rows;
}

std::string verdict_of(const ReportRow& r) { return !r.verdict.empty() ? r.verdict : r.holds ? "holds" : "differs"; }

std::string verdict_md(const std::string& v) {
  if (v == "holds") return "holds";
  if (v == "holds_when") return "holds only when (see note)";
  if (v == "not_reproducible") return "*not reproducible here*";
  return "**differs**";
}

json number_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

// ---- reuse: a target whose inputs did not change keeps its results ---------------------------------------

/// FNV-1a 64 of the bytes, as 16 hex digits.
std::string fnv1a_hex(const char* data, size_t n, uint64_t h = 1469598103934665603ULL) {
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string inputs_hash(const json& inputs) {
  const std::string s = inputs.dump();  // object keys sorted: the same inputs give the same text
  return fnv1a_hex(s.data(), s.size());
}

/// The code that computes the results: the source tree's git SHA and dirty flag (as the manifests record them)
/// and a hash of this executable (a clean tree at the same commit whose binary was rebuilt differently, or any
/// uncommitted change that was built, changes it).
json this_code_version() {
  const json m = make_manifest("reproduce", {}).to_json();
  std::ifstream exe("/proc/self/exe", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(exe)), std::istreambuf_iterator<char>());
  return {{"git_sha", m.value("git_sha", std::string())}, {"git_dirty", m.value("git_dirty", json())},
          {"executable_fnv1a", bytes.empty() ? json(nullptr) : json(fnv1a_hex(bytes.data(), bytes.size()))}};
}

/// The config files a target's config names (any string value ending in ".json" that is a file relative to
/// experiments/configs or to the source tree, e.g. a sweep's base recipe or the theory suite's config_file):
/// name → FNV-1a of its bytes, so that editing such a file is a changed input too.
void referenced_files(const json& j, json& out) {
  if (j.is_object() || j.is_array()) {
    for (const auto& v : j) referenced_files(v, out);
    return;
  }
  if (!j.is_string()) return;
  const std::string v = j.get<std::string>();
  if (v.size() < 6 || v.compare(v.size() - 5, 5, ".json") != 0 || out.contains(v)) return;
  for (const fs::path& p : {fs::path(FLATMIN_SOURCE_DIR) / "experiments/configs" / v, fs::path(FLATMIN_SOURCE_DIR) / v}) {
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) continue;
    std::ifstream in(p, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    out[v] = fnv1a_hex(bytes.data(), bytes.size());
    return;
  }
}

json row_to_json(const ReportRow& r) {
  return {{"target", r.target}, {"quantity", r.quantity}, {"reference", number_or_null(r.reference)},
          {"ours", number_or_null(r.ours)}, {"holds", r.holds}, {"note", r.note}, {"verdict", r.verdict}};
}

/// The rows of a finished result of these inputs (dir/inputs.json with this hash, dir/rows.json, an ok manifest),
/// or nothing.
std::optional<std::vector<ReportRow>> reusable_rows(const fs::path& dir, const std::string& hash) {
  try {
    if (!fs::exists(dir / "inputs.json") || !fs::exists(dir / "rows.json") || !fs::exists(dir / "manifest.json") ||
        !fs::exists(dir / "summary.json"))
      return std::nullopt;
    if (common::read_json_file(dir / "inputs.json").value("hash", std::string()) != hash) return std::nullopt;
    if (common::read_json_file(dir / "manifest.json").value("status", std::string()) != "ok") return std::nullopt;
    std::vector<ReportRow> rows;
    for (const auto& j : common::read_json_file(dir / "rows.json")) {
      ReportRow r;
      r.target = j.at("target");
      r.quantity = j.at("quantity");
      r.reference = j.at("reference").is_number() ? j.at("reference").get<double>() : std::nan("");
      r.ours = j.at("ours").is_number() ? j.at("ours").get<double>() : std::nan("");
      r.holds = j.at("holds");
      r.note = j.at("note");
      r.verdict = j.at("verdict");
      rows.push_back(r);
    }
    return rows;
  } catch (const std::exception&) {  // an unreadable earlier result is simply redone
    return std::nullopt;
  }
}

}  // namespace

bool agrees_to_digits(double ours, double reference, int sig) {
  if (!std::isfinite(ours)) return false;
  if (reference == 0.0) return std::abs(ours) < 0.5 * std::pow(10.0, -sig);
  const double unit = std::pow(10.0, std::floor(std::log10(std::abs(reference))) - (sig - 1));
  return std::abs(ours - reference) <= 0.5 * unit * (1 + 1e-9);
}

train::SweepArgs target_sweep_args(const json& cfg, const fs::path& dir, const TargetContext& ctx, int default_workers) {
  train::SweepArgs s;
  s.config = cfg.at("sweep");
  s.config_dir = fs::path(FLATMIN_SOURCE_DIR) / "experiments/configs";
  s.profile = ctx.profile;
  s.device = ctx.device;
  s.out = dir / "sweep";
  const json workers = cfg.value("workers", json(default_workers));
  FLATMIN_CHECK(workers.is_number_integer() && workers.get<int64_t>() >= 0 && workers.get<int64_t>() <= common::limits::kThreads,
                "reproduce target: 'workers' must be an integer in [0, " << common::limits::kThreads << "], got " << workers.dump());
  s.workers = workers.get<int>();
  s.threads = at::get_num_threads();
  s.exe = fs::read_symlink("/proc/self/exe");
  const json data_dir = cfg.value("data_dir", json(""));
  FLATMIN_CHECK(data_dir.is_string(), "reproduce target: 'data_dir' must be a string, got " << data_dir.dump());
  s.data_dir = data_dir.get<std::string>();
  return s;
}

const std::map<std::string, TargetRunner>& reproduce_targets() {
  static const std::map<std::string, TargetRunner> targets = [] {
    std::map<std::string, TargetRunner> t;
    add_optim_targets(t);
    add_theory_targets(t);
    add_sim_targets(t);
    add_train_targets(t);
    add_fig3_targets(t);
    add_table_targets(t);
    add_fig1_targets(t);
    add_adam_cm_targets(t);
    add_compare_targets(t);
    add_adai_targets(t);
    return t;
  }();
  return targets;
}

int run_reproduce(const ReproduceArgs& args, const std::vector<std::string>& argv) {
  common::check_output_dir(args.out, "--out");  // before any work (issue 15)
  parse_device(args.device);  // training, simulation and Hessian targets run there; theory and optimizer probes on the CPU
  const fs::path config_path = args.config.empty() ? fs::path(FLATMIN_SOURCE_DIR) / "experiments/configs/reproduce.json"
                                                   : fs::path(args.config);
  const json config = common::read_json_file(config_path);
  {
    common::ConfigReader r(config, config_path.string());
    r.allow({"about", "notes", "not_reproducible", "papers"});
    if (!r.has("targets")) {
      r.finish();  // a misspelt key ("targetz") is named with its nearest known key
      throw common::InputError(config_path.string() + ": no 'targets' object");
    }
    r.object("targets");
    r.finish();
  }
  const auto& runners = reproduce_targets();
  std::vector<std::string> names;
  for (const auto& [name, r] : runners) names.push_back(name);
  const TargetContext ctx{args.profile, args.device, 0};
  for (const auto& name : args.only) {
    if (runners.count(name) == 0) throw common::InputError("--only: " + common::unknown_name_message("target", name, names));
  }
  // The shipped targets fix the JSON kind of every value (a --config of one's own is checked against them).
  const fs::path shipped_path = fs::path(FLATMIN_SOURCE_DIR) / "experiments/configs/reproduce.json";
  std::error_code ec;
  const json shipped = fs::equivalent(shipped_path, config_path, ec) || !fs::is_regular_file(shipped_path, ec)
                           ? json::object() : common::read_json_file(shipped_path).value("targets", json::object());
  for (const auto& [name, cfg] : config["targets"].items()) {  // every target's keys and types, before anything runs
    if (runners.count(name) == 0) throw common::InputError(config_path.string() + ": " + common::unknown_name_message("target", name, names));
    check_target_keys(name, cfg, config_path.string());
    const std::string where = config_path.string() + ": target '" + name + "'";
    const json merged = common::merge_profile(cfg, args.profile, "target '" + name + "'");
    check_common_target_types(merged, where);
    if (shipped.contains(name)) {
      check_types_like(common::merge_profile(shipped.at(name), args.profile, "target '" + name + "'"), merged, "", where);
    }
  }
  const fs::path out(args.out);
  const json code_version = this_code_version();
  std::vector<std::string> reused_targets;
  std::vector<ReportRow> report;
  json report_json = json::array();
  json skipped = json::array();
  auto add_json_row = [&](const ReportRow& r, const std::string& source, const std::string& paper) {
    report_json.push_back({{"target", r.target}, {"quantity", r.quantity}, {"reference", number_or_null(r.reference)},
                           {"ours", number_or_null(r.ours)}, {"verdict", verdict_of(r)}, {"source", source},
                           {"paper", paper}, {"note", r.note}});
  };
  for (const auto& [name, cfg] : config["targets"].items()) {
    FLATMIN_CHECK(runners.count(name) == 1, config_path.string() << ": unknown target '" << name << "'");
    if (!args.only.empty() && std::find(args.only.begin(), args.only.end(), name) == args.only.end()) continue;
    const fs::path dir = out / name;
    const json merged_for_inputs = common::merge_profile(cfg, args.profile, "target '" + name + "'");
    json files = json::object();
    referenced_files(merged_for_inputs, files);
    const json inputs = {{"target", name}, {"config", merged_for_inputs}, {"files", files}, {"profile", args.profile},
                         {"device", args.device}, {"code", code_version}};
    const std::string hash = inputs_hash(inputs);
    if (!args.force) {
      if (auto reused = reusable_rows(dir, hash)) {  // the same inputs made these results: keep them
        std::cout << "reproduce: " << name << " reused (inputs unchanged, " << hash << "; --force to redo)\n";
        reused_targets.push_back(name);
        for (const auto& r : *reused) add_json_row(r, cfg.value("source", ""), paper_of(cfg, r.target));
        report.insert(report.end(), reused->begin(), reused->end());
        continue;
      }
    }
    // Inputs changed, --force, or no finished result: start from an empty folder (a training target's sweep
    // would otherwise skip runs finished under other inputs), except for an unfinished run of the same inputs
    // (no inputs.json yet), which resumes.
    if (fs::exists(dir / "inputs.json")) fs::remove_all(dir);
    fs::create_directories(dir);
    auto manifest = make_manifest("reproduce " + name, argv);
    manifest.set_config({{"profile", args.profile}, {"device", args.device}, {"target", cfg}});
    json summary = json::object();
    std::vector<ReportRow> rows;
    const json merged = common::merge_profile(cfg, args.profile, "target '" + name + "'");
    if (merged.contains("skip") && !merged.at("skip").is_null()) {  // e.g. too heavy for the smoke profile
      const std::string why = merged.at("skip").get<std::string>();
      summary = {{"skipped", why}, {"profile", args.profile}, {"checks", 0}, {"checks_holding", 0}};
      common::write_json_atomic(dir / "summary.json", summary);
      manifest.finish(common::RunStatus::ok, "skipped in profile " + args.profile + ": " + why);
      manifest.write(dir / "manifest.json");
      skipped.push_back({{"target", name}, {"reason", why}, {"paper", paper_of(cfg, name)}});
      std::cout << "reproduce: " << name << " skipped (" << why << ")\n";
      continue;
    }
    try {  // a divergence is a run-time outcome of this target: its manifest says so
      rows = common::record_divergence(manifest, dir / "manifest.json", [&] { return runners.at(name)(merged, dir, summary, ctx); });
    } catch (const nlohmann::json::exception& e) {
      throw common::InputError(config_path.string() + ": target '" + name + "': " + e.what());
    }
    const json notes = cfg.value("notes", json::object());
    const json conditions = merged.value("conditions", json::object());
    for (auto& r : rows) {
      if (notes.contains(r.quantity)) r.note = notes[r.quantity].get<std::string>();
      // "conditions": quantity prefix → the condition under which the paper's claim holds here; only a
      // row that holds becomes "holds_when" (one that differs stays "differs").
      for (const auto& [prefix, cond] : conditions.items()) {
        if (r.holds && r.verdict.empty() && r.quantity.rfind(prefix, 0) == 0) {
          r.verdict = "holds_when";
          r.note = "holds only when " + cond.get<std::string>() + (r.note.empty() ? "" : "; " + r.note);
        }
      }
    }
    int held = 0, target_checks = 0;
    for (const auto& r : rows) {
      held += r.holds;
      target_checks += verdict_of(r) != "not_reproducible";
    }
    summary["checks"] = target_checks;
    summary["checks_holding"] = held;
    const auto nr = not_reproducible_rows(merged.value("not_reproducible", json()), name, "target '" + name + "'");
    summary["not_reproducible"] = nr.size() + (rows.size() - size_t(target_checks));
    rows.insert(rows.end(), nr.begin(), nr.end());
    common::write_json_atomic(dir / "summary.json", summary);
    manifest.finish();
    manifest.write(dir / "manifest.json");
    json rows_json = json::array();
    for (const auto& r : rows) rows_json.push_back(row_to_json(r));
    common::write_json_atomic(dir / "rows.json", rows_json);
    common::write_json_atomic(dir / "inputs.json", {{"hash", hash}, {"inputs", inputs}});  // last: marks the result finished
    for (const auto& r : rows) add_json_row(r, cfg.value("source", ""), paper_of(cfg, r.target));
    report.insert(report.end(), rows.begin(), rows.end());
  }
  if (args.only.empty()) {  // claims of papers that no target can check here (config top level)
    for (const auto& r : not_reproducible_rows(config.value("not_reproducible", json()), "not_reproducible_here",
                                               config_path.string())) {
      std::string paper;
      for (const auto& e : config.at("not_reproducible"))
        if (e.at("quantity") == r.quantity) paper = e.value("paper", std::string());
      add_json_row(r, "", paper);
      report.push_back(r);
    }
  }
  std::ostringstream md;
  int held = 0, checks = 0;
  json counts = {{"holds", 0}, {"holds_when", 0}, {"differs", 0}, {"not_reproducible", 0}};
  for (const auto& r : report) {
    held += r.holds;
    checks += verdict_of(r) != "not_reproducible";
    counts[verdict_of(r)] = counts[verdict_of(r)].get<int>() + 1;
  }
  md << "# flatmin reproduce report (profile " << args.profile << ")\n\n"
     << held << " of " << checks << " checks hold";
  if (counts["holds_when"].get<int>() > 0) md << " (" << counts["holds_when"].get<int>() << " of them only under a stated condition)";
  md << ".";
  if (counts["not_reproducible"].get<int>() > 0) md << " " << counts["not_reproducible"].get<int>() << " claims are not reproducible here.";
  if (!skipped.empty()) md << " Skipped in this profile: " << skipped.size() << " targets.";
  md << "\n\n| target | quantity | paper/spec | ours | verdict | note |\n|---|---|---|---|---|---|\n";
  for (const auto& r : report) {
    md << "| " << r.target << " | " << r.quantity << " | " << fmt(r.reference) << " | " << fmt(r.ours) << " | "
       << verdict_md(verdict_of(r)) << " | " << r.note << " |\n";
  }
  for (const auto& s : skipped)
    md << "| " << s["target"].get<std::string>() << " | — | — | — | skipped | " << s["reason"].get<std::string>() << " |\n";
  md << "\nSources and claims: experiments/configs/reproduce.json; per-target data and manifests in the target folders.\n";
  common::write_json_atomic(out / "report.json", {{"profile", args.profile}, {"checks", checks},
                                                  {"holding", held}, {"verdicts", counts}, {"skipped", skipped},
                                                  {"reused", reused_targets},
                                                  {"papers", config.value("papers", json::object())},
                                                  {"rows", report_json}});
  common::write_text_atomic(out / "report.md", md.str());
  std::cout << held << " of " << checks << " checks hold; report: " << (out / "report.md").string() << "\n";
  return 0;
}

}  // namespace flatmin::experiments
