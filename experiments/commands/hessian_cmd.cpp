#include "experiments/commands/hessian_cmd.h"

#include <filesystem>
#include <iostream>

#include <Spectra/Util/Version.h>
#include <torch/utils.h>

#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/dist/communicator.h"
#include "common/error.h"
#include "common/json_io.h"
#include "common/output_path.h"
#include "experiments/commands/common_cli.h"
#include "experiments/commands/hessian_checkpoint.h"
#include "hessian/hessian_operator.h"

namespace flatmin::experiments {

namespace {

/// An enum option: the value is parsed (InputError naming it) as CLI11 reads it; --help shows the default's name.
template <class E>
CLI::Option* add_enum(CLI::App* s, const std::string& name, E& target, E (*parse)(const std::string&), const std::string& desc) {
  using hessian::to_string;
  return s->add_option_function<std::string>(name, [&target, parse](const std::string& v) { target = parse(v); }, desc)
      ->default_str(to_string(target));
}

}  // namespace

CLI::App* add_hessian_command(CLI::App& app, HessianArgs& a) {
  namespace fh = flatmin::hessian;
  auto& o = a.analysis;
  auto& op = a.op;
  auto& sel = a.selection;
  auto* s = app.add_subcommand("hessian", "Hessian spectrum of a TorchScript checkpoint: top-k, trace, density (ESD)");
  s->add_option("--model", a.model, "TorchScript module (torch.jit.save); with --data");
  s->add_option("--data", a.data, "torch.save'd dict {\"x\": Tensor, \"y\": Tensor}");
  s->add_option("--checkpoint", a.checkpoint, "a flatmin train run folder, its checkpoint.pt, or model_{final,best}.pt (instead of --model/--data)");
  a.checkpoint_only.push_back(s->add_option("--dataset", sel.dataset, "with --checkpoint: checkpoint (the recipe's) | fashion-mnist | synthetic | cifar10 | cifar100")->capture_default_str());
  a.checkpoint_only.push_back(s->add_option("--split", sel.split, "with --checkpoint: train | test")->capture_default_str());
  a.checkpoint_only.push_back(s->add_option("--subset", sel.subset, "with --checkpoint: the first N images of the split (0 = all)")->capture_default_str());
  a.checkpoint_only.push_back(s->add_option("--subset-seed", sel.subset_seed, "with --checkpoint: >= 0 takes the first N of flatmin's seeded permutation (the recipe's subset_seed gives training images)")->capture_default_str());
  a.checkpoint_only.push_back(s->add_option("--data-dir", sel.data_dir, "with --checkpoint: dataset folder (overrides the recipe's data.dir)"));
  s->add_option("--out", a.out, "output directory")->required();
  add_enum(s, "--loss", op.loss, &fh::parse_loss, "cross_entropy | mse | bce_with_logits");
  add_enum(s, "--reduction", op.reduction, &fh::parse_reduction, "mean | sum");
  s->add_option("--top-k", o.top_k.k, "number of top eigenvalues (0 = none)")->capture_default_str();
  add_enum(s, "--which", o.top_k.which, &fh::parse_which, "largest_alge | largest_magn | smallest_alge | both_ends");
  s->add_option("--eig-tol", o.top_k.tol, "Spectra relative tolerance")->capture_default_str();
  s->add_option("--ncv", o.top_k.ncv, "Krylov subspace size (0 = max(2k+1, 20))")->capture_default_str();
  s->add_flag("--trace", o.trace, "estimate the trace");
  add_enum(s, "--trace-method", o.trace_method, &fh::parse_trace_method, "hutchinson | hutch++ | exact");
  add_enum(s, "--probe", o.hutchinson.probe, &fh::parse_probe, "rademacher | gaussian");
  s->add_option("--trace-rtol", o.hutchinson.rtol, "stop when the 95% CI half-width <= rtol*|mean|")->capture_default_str();
  s->add_option("--trace-min-samples", o.hutchinson.min_samples, "")->capture_default_str();
  s->add_option("--trace-max-samples", o.hutchinson.max_samples, "")->capture_default_str();
  s->add_option("--trace-block", o.hutchinson.block, "probes per data pass")->capture_default_str();
  s->add_option("--hutchpp-budget", o.hutchpp_budget, "HVPs for Hutch++")->capture_default_str();
  s->add_flag("--density", o.density, "SLQ spectral density");
  s->add_option("--slq-steps", o.slq.steps, "Lanczos steps per run")->capture_default_str();
  s->add_option("--slq-runs", o.slq.runs, "SLQ runs (0 = 10, or 1 with --compat pyhessian)")->capture_default_str();
  add_enum(s, "--kernel", o.smoothing.kernel, &fh::parse_kernel, "density smoothing: pyhessian (variance rule) | std");
  s->add_option("--sigma-squared", o.smoothing.sigma_squared, "pyhessian kernel variance factor")->capture_default_str();
  s->add_option("--sigma", o.smoothing.sigma, "std kernel standard deviation (0 = range/steps)")->capture_default_str();
  s->add_option("--num-bins", o.smoothing.num_bins, "density grid points")->capture_default_str();
  s->add_option("--batch-size", op.batch_size, "HVP batch size (0 = whole dataset)")->capture_default_str();
  s->add_option_function<std::string>("--compat", [&o](const std::string& v) { o.compat = fh::parse_compat(v); },
                                      "pyhessian: PyHessian's algorithms, defaults and RNG stream")
      ->check(CLI::IsMember({"pyhessian"}));
  s->add_option("--dtype", op.dtype, "float32 | float64 (cast the model; default: keep)")
      ->check(CLI::IsMember({"float32", "float64"}));
  s->add_option("--device", op.device, "cpu | cuda | cuda:N")->capture_default_str();
  s->add_option("--param-filter", op.param_regex, "regex on parameter names (diagonal block H_SS)");
  s->add_option("--weight-decay", op.weight_decay, "add weight_decay*I to H")->capture_default_str();
  s->add_flag("--train-mode", op.train_mode, "BatchNorm batch statistics (default: eval mode, as PyHessian)");
  s->add_option("--graph-cache", op.graph_cache, "auto | on | off")->capture_default_str();
  s->add_option("--seed", o.seed, "probe / start-vector seed")->capture_default_str();
  s->add_option("--max-hvps", o.max_hvps, "HVP budget of the whole analysis; the stage that reaches it stops with what it has, "
                                          "status not_converged (0 = no limit)")
      ->capture_default_str();
  s->add_option("--max-seconds", o.max_seconds, "wall-clock budget of the analysis in seconds, as --max-hvps (0 = no limit)")
      ->capture_default_str();
  return s;
}

int run_hessian(const HessianArgs& a, const std::vector<std::string>& argv) {
  namespace fh = flatmin::hessian;
  common::check_output_dir(a.out, "--out");  // before any work: not after the whole computation (issue 15)
  auto manifest = make_manifest("hessian", argv);
  // Data parallel when FLATMIN_RANK/FLATMIN_WORLD_SIZE/FLATMIN_DIST_INIT (or torchrun's variables)
  // are set; under --device cuda each rank takes GPU <local rank> (common/dist/communicator.h).
  auto dopts = flatmin::dist::options_from_env();
  const std::string device = flatmin::dist::bind_device(dopts, parse_device(a.op.device)).str();
  if (dopts.world_size > 1) flatmin::dist::resolve_backend(dopts, flatmin::dist::gloo_built(), flatmin::dist::nccl_built());
  fh::OperatorOptions oo = a.op;  // the parsed options on this rank's device
  oo.device = device;
  fh::AnalyzeOptions ao = a.analysis;  // the parsed options; progress is this command's
  ao.progress = &std::cerr;

  const bool from_ckpt = !a.checkpoint.empty();
  FLATMIN_CHECK(from_ckpt != (!a.model.empty() || !a.data.empty()),
                "pass either --checkpoint or --model and --data (not both, not neither)");
  FLATMIN_CHECK(from_ckpt || (!a.model.empty() && !a.data.empty()), "--model and --data go together");
  for (const CLI::Option* opt : a.checkpoint_only) {
    FLATMIN_CHECK(from_ckpt || opt->count() == 0, opt->get_name() << " goes with --checkpoint only (with --model/--data "
                                                                     "the data file is used as it is); drop it");
  }
  fh::Model model;
  fh::Dataset data;
  nlohmann::json ckpt_info, data_info;
  if (from_ckpt) {
    auto cm = load_training_checkpoint(a.checkpoint);
    data = load_checkpoint_dataset(cm.data, cm.spec, a.selection, &data_info);
    model = std::move(cm.model);
    ckpt_info = cm.info;
    ckpt_info["spec"] = cm.spec;
  } else {
    model = fh::load_torchscript(a.model);
    data = fh::load_dataset(a.data);
  }
  // Each rank takes its shard, HVPs are all-reduced, rank 0 writes the results.
  const auto comm = flatmin::dist::Communicator::create(dopts);
  if (comm->distributed()) {
    const auto [b, e] = comm->shard(data.x.size(0));
    FLATMIN_CHECK(data.y.size(0) == data.x.size(0), "data x has " << data.x.size(0) << " samples but y has "
                                                                  << data.y.size(0));
    FLATMIN_CHECK(e > b, "rank " << comm->rank() << " gets no samples (" << data.x.size(0) << " samples, "
                                 << comm->world_size() << " ranks)");
    data.x = data.x.slice(0, b, e);
    data.y = data.y.slice(0, b, e);
    oo.allreduce_sum = [comm](double* d, std::int64_t n) { comm->allreduce_sum(d, static_cast<size_t>(n)); };
  }
  fh::HessianOperator h(model, data, oo);
  ao.validate(h.n());  // the one validation: nothing is written before it
  std::cerr << "hessian: " << h.n() << " parameters, " << h.n_samples() << " samples in " << h.n_batches()
            << " batch(es), " << h.dtype_name() << ", " << (oo.train_mode ? "train" : "eval") << " mode\n";
  torch::manual_seed(ao.seed);  // compat mode draws from torch's CPU generator, as PyHessian
  if (comm->rank() != 0) ao.progress = nullptr;
  const auto s = fh::analyze_validated(h.as_operator(), ao);
  if (comm->rank() != 0) return 0;  // rank 0 writes (every rank holds the same results)

  nlohmann::json j = fh::summary_json(s, ao, h, oo);
  j["model"]["path"] = from_ckpt ? a.checkpoint : a.model;
  if (from_ckpt) j["checkpoint"] = ckpt_info;
  j["data"]["path"] = from_ckpt ? nlohmann::json(data_info) : nlohmann::json(a.data);
  j["device"] = device;
  j["world_size"] = comm->world_size();

  manifest.set_seed("hessian", ao.seed);
  manifest.set_library_version("spectra", std::to_string(SPECTRA_MAJOR_VERSION) + "." +
                                              std::to_string(SPECTRA_MINOR_VERSION) + "." +
                                              std::to_string(SPECTRA_PATCH_VERSION));
  nlohmann::json cfg = ao.to_json();
  cfg.update(oo.to_json());  // device: the one this rank used
  cfg.update(a.selection.to_json());
  cfg.update({{"model", a.model}, {"data", a.data}, {"checkpoint", a.checkpoint}});
  manifest.set_config(cfg);

  const std::filesystem::path dir(a.out);
  std::filesystem::create_directories(dir);
  {
    common::AtomicFile f(dir / "eigs.csv");
    common::CsvWriter csv(f.stream(), {"k", "eigenvalue", "residual", "converged"});
    for (std::size_t k = 0; k < s.eigenpairs.size(); ++k)
      csv.row({double(k), s.eigenpairs[k].value, s.eigenpairs[k].residual, s.eigenpairs[k].converged ? 1.0 : 0.0});
    f.commit();
  }
  if (s.has_trace) {
    common::AtomicFile f(dir / "trace_samples.csv");
    common::CsvWriter csv(f.stream(), {"i", "sample"});
    for (std::size_t i = 0; i < s.trace.samples.size(); ++i) csv.row({double(i), s.trace.samples[i]});
    f.commit();
  }
  if (s.has_density) {
    {
      common::AtomicFile f(dir / "slq_nodes.csv");
      common::CsvWriter csv(f.stream(), {"run", "k", "node", "weight"});
      for (std::size_t r = 0; r < s.slq.runs.size(); ++r)
        for (std::size_t k = 0; k < s.slq.runs[r].nodes.size(); ++k)
          csv.row({double(r), double(k), s.slq.runs[r].nodes[k], s.slq.runs[r].weights[k]});
      f.commit();
    }
    common::AtomicFile f(dir / "esd.csv");
    common::CsvWriter csv(f.stream(), {"grid", "density", "density_std"});
    for (std::size_t i = 0; i < s.esd.grid.size(); ++i) csv.row({s.esd.grid[i], s.esd.density[i], s.esd.density_std[i]});
    f.commit();
  }
  common::write_json_atomic(dir / "summary.json", j);
  manifest.finish(s.outcome);  // not_converged / failed: results written, flagged
  manifest.write(dir / "manifest.json");
  for (const auto& w : s.warnings) std::cerr << "flatmin: warning: " << w << "\n";
  std::cerr << "hessian: " << s.hvp_count << " HVPs in " << s.seconds << " s";
  if (!s.eigenpairs.empty()) std::cerr << "; lambda_1 = " << s.eigenpairs[0].value;
  if (s.has_trace) std::cerr << "; trace = " << s.trace.estimate << " +- " << s.trace.stderr_;
  std::cerr << " -> " << dir.string() << "\n";
  return 0;
}

}  // namespace flatmin::experiments
