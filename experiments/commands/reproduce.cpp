#include "experiments/commands/reproduce.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/format.h"
#include "common/json_io.h"
#include "common/progress.h"
#include "experiments/commands/common_cli.h"
#include "optim/probes.h"

namespace flatmin::experiments {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

/// True when `ours` rounds to `reference` at `sig` significant digits (half a unit of the last digit).
bool agrees_to_digits(double ours, double reference, int sig) {
  if (reference == 0.0) return std::abs(ours) < 0.5 * std::pow(10.0, -sig);
  const double unit = std::pow(10.0, std::floor(std::log10(std::abs(reference))) - (sig - 1));
  return std::abs(ours - reference) <= 0.5 * unit * (1 + 1e-9);
}

struct ReportRow {
  std::string target, quantity;
  double reference, ours;
  bool holds;
  std::string note;  ///< from the config's "notes" (keyed by quantity): known caveats of the reference
};

double sum(const std::vector<double>& x, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += x[i];
  return s;
}

std::vector<ReportRow> miadam_step_ratio(const json& cfg, const fs::path& dir, json& summary) {
  const auto& options = cfg.at("options");
  const double g = cfg.at("gradient").get<double>();
  const int64_t spe = cfg.at("steps_per_epoch").get<int64_t>();
  const int64_t switch_epoch = options.at("switch_epoch").get<int64_t>();
  const int64_t mi_steps = (switch_epoch - 1) * spe;  // epochs 1..ζ−1 (official: epoch < sub_epoch)
  const int64_t steps = mi_steps + cfg.at("epochs_after_switch").get<int64_t>() * spe;
  const int sig = cfg.at("sig_digits").get<int>();
  const auto& ref = cfg.at("reference");
  json adam_opts = {{"lr", options.at("lr")}, {"betas", options.at("betas")}, {"eps", options.at("eps")}};
  const auto adam = optim::constant_gradient_displacements("adam", adam_opts, g, steps, spe);

  std::vector<ReportRow> rows;
  common::AtomicFile file(dir / "table.csv");
  common::CsvWriter csv(file.stream(), {"order", "step", "miadam_displacement", "adam_displacement", "ratio"});
  common::Progress progress("miadam_step_ratio", 3);
  for (int n = 1; n <= 3; ++n) {
    const auto mi = optim::constant_gradient_displacements("miadam" + std::to_string(n), options, g, steps, spe);
    for (int64_t t = 0; t < steps; ++t) {
      csv.row({double(n), double(t + 1), mi[size_t(t)], adam[size_t(t)], mi[size_t(t)] / adam[size_t(t)]});
    }
    const std::string k = std::to_string(n);
    const double steady = mi[size_t(mi_steps - 1)] / adam[size_t(mi_steps - 1)];
    const double total = sum(mi, size_t(mi_steps)) / sum(adam, size_t(mi_steps));
    const double first_adam = mi[size_t(mi_steps)] / adam[size_t(mi_steps)];
    const double closed_form = std::pow(options.at("lr").get<double>() / (1.0 - options.at("kappa").get<double>()), n);
    summary["order_" + k] = {{"steady_ratio", steady}, {"total_ratio", total}, {"first_adam_step_ratio", first_adam},
                             {"closed_form_steady_ratio", closed_form}, {"mi_steps", mi_steps}};
    auto add = [&](const std::string& q, double reference, double ours) {
      rows.push_back({"miadam_step_ratio", "MIAdam" + k + " " + q, reference, ours, agrees_to_digits(ours, reference, sig), ""});
    };
    add("steady MI step / Adam step", ref.at("steady_ratio").at(k).get<double>(), steady);
    add("MI-phase displacement / Adam's", ref.at("total_ratio").at(k).get<double>(), total);
    add("first post-switch step / Adam step", ref.at("first_adam_step_ratio").get<double>(), first_adam);
    progress.update(n);
  }
  progress.finish();
  file.commit();
  return rows;
}

std::vector<ReportRow> dualadam_warmup(const json& cfg, const fs::path& dir, json& summary) {
  const auto& options = cfg.at("options");
  const auto ts = cfg.at("t").get<std::vector<int64_t>>();
  const auto gs = cfg.at("g").get<std::vector<double>>();
  const auto ref = cfg.at("reference").get<std::vector<std::vector<double>>>();
  const int sig = cfg.at("sig_digits").get<int>();
  FLATMIN_CHECK(ref.size() == ts.size(), "dualadam_warmup: reference must have one row per t");
  int64_t steps = 0;
  for (auto t : ts) steps = std::max(steps, t);
  json adam_opts = {{"lr", options.at("lr")}, {"betas", options.at("betas")}, {"eps", options.at("eps")}};
  std::vector<ReportRow> rows;
  common::AtomicFile file(dir / "table.csv");
  common::CsvWriter csv(file.stream(), {"t", "g", "dualadam_displacement", "adam_displacement", "ratio", "reference"});
  common::Progress progress("dualadam_warmup", static_cast<int64_t>(gs.size()));
  summary["ratio"] = json::array();
  for (size_t j = 0; j < gs.size(); ++j) {
    const auto dual = optim::constant_gradient_displacements("dualadam", options, gs[j], steps, steps);
    const auto adam = optim::constant_gradient_displacements("adam", adam_opts, gs[j], steps, steps);
    for (size_t i = 0; i < ts.size(); ++i) {
      FLATMIN_CHECK(ref[i].size() == gs.size(), "dualadam_warmup: reference row " << i << " must have one value per g");
      const size_t t = size_t(ts[i] - 1);
      const double ratio = dual[t] / adam[t];
      csv.row({double(ts[i]), gs[j], dual[t], adam[t], ratio, ref[i][j]});
      std::ostringstream q;
      q << "step ratio at t=" << ts[i] << ", g=" << gs[j];
      rows.push_back({"dualadam_warmup", q.str(), ref[i][j], ratio, agrees_to_digits(ratio, ref[i][j], sig), ""});
      summary["ratio"].push_back({{"t", ts[i]}, {"g", gs[j]}, {"ratio", ratio}});
    }
    progress.update(int64_t(j + 1));
  }
  progress.finish();
  file.commit();
  return rows;
}

std::string fmt(double x) {
  std::ostringstream os;
  os.precision(4);
  os << x;
  return os.str();
}

}  // namespace

int run_reproduce(const ReproduceArgs& args, const std::vector<std::string>& argv) {
  parse_device(args.device);  // validates; the current targets are scalar probes and run on the CPU
  const fs::path config_path = args.config.empty() ? fs::path(FLATMIN_SOURCE_DIR) / "experiments/configs/reproduce.json"
                                                   : fs::path(args.config);
  const json config = common::read_json_file(config_path);
  FLATMIN_CHECK(config.contains("targets") && config["targets"].is_object(), config_path.string() << ": no 'targets' object");
  using Runner = std::vector<ReportRow> (*)(const json&, const fs::path&, json&);
  const std::map<std::string, Runner> runners = {{"miadam_step_ratio", miadam_step_ratio},
                                                 {"dualadam_warmup", dualadam_warmup}};
  for (const auto& name : args.only) {
    FLATMIN_CHECK(runners.count(name) == 1, "--only: unknown target '" << name << "'");
  }
  const fs::path out(args.out);
  std::vector<ReportRow> report;
  json report_json = json::array();
  for (const auto& [name, cfg] : config["targets"].items()) {
    FLATMIN_CHECK(runners.count(name) == 1, config_path.string() << ": unknown target '" << name << "'");
    if (!args.only.empty() && std::find(args.only.begin(), args.only.end(), name) == args.only.end()) continue;
    const fs::path dir = out / name;
    fs::create_directories(dir);
    auto manifest = make_manifest("reproduce " + name, argv);
    manifest.set_config({{"profile", args.profile}, {"device", args.device}, {"target", cfg}});
    json summary = json::object();
    std::vector<ReportRow> rows;
    try {
      rows = runners.at(name)(cfg, dir, summary);
    } catch (const nlohmann::json::exception& e) {
      throw common::InputError(config_path.string() + ": target '" + name + "': " + e.what());
    }
    const json notes = cfg.value("notes", json::object());
    for (auto& r : rows) {
      if (notes.contains(r.quantity)) r.note = notes[r.quantity].get<std::string>();
    }
    int held = 0;
    for (const auto& r : rows) held += r.holds;
    summary["checks"] = rows.size();
    summary["checks_holding"] = held;
    common::write_json_atomic(dir / "summary.json", summary);
    manifest.finish();
    manifest.write(dir / "manifest.json");
    for (const auto& r : rows) {
      report_json.push_back({{"target", r.target}, {"quantity", r.quantity}, {"reference", r.reference},
                             {"ours", r.ours}, {"verdict", r.holds ? "holds" : "differs"},
                             {"source", cfg.value("source", "")}, {"note", r.note}});
    }
    report.insert(report.end(), rows.begin(), rows.end());
  }
  std::ostringstream md;
  int held = 0;
  for (const auto& r : report) held += r.holds;
  md << "# flatmin reproduce report (profile " << args.profile << ")\n\n"
     << held << " of " << report.size() << " checks hold.\n\n"
     << "| target | quantity | paper/spec | ours | verdict | note |\n|---|---|---|---|---|---|\n";
  for (const auto& r : report) {
    md << "| " << r.target << " | " << r.quantity << " | " << fmt(r.reference) << " | " << fmt(r.ours) << " | "
       << (r.holds ? "holds" : "**differs**") << " | " << r.note << " |\n";
  }
  md << "\nSources and claims: experiments/configs/reproduce.json; per-target data and manifests in the target folders.\n";
  common::write_json_atomic(out / "report.json", {{"profile", args.profile}, {"checks", report.size()},
                                                  {"holding", held}, {"rows", report_json}});
  common::write_text_atomic(out / "report.md", md.str());
  std::cout << held << " of " << report.size() << " checks hold; report: " << (out / "report.md").string() << "\n";
  return 0;
}

}  // namespace flatmin::experiments
