// Reproduce target fig1_filtering: MIAdam Fig. 1 ("the filtering effect of integrations on optimizer
// trajectories") made concrete. A real Adam trajectory — one weight of a softmax-regression model trained with the
// registry's `adam` on a Fashion-MNIST subset — is the signal; its 1-, 2-, 3-fold κ-integrals are computed by the
// one accumulator rule (rules::miadam_accumulate, the chain MIAdam applies to m_t); Welch power spectra of the
// signal and of each integral give the measured gain sqrt(P_n/P_0) per frequency, compared with the closed-form
// transfer function |1 − κe^{−iω}|^{−n} (theory::miadam_transfer_gain).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/progress.h"
#include "experiments/commands/common_cli.h"
#include "experiments/commands/reproduce_target.h"
#include "experiments/data/dataset.h"
#include "optim/registry.h"
#include "rules/miadam_rule.h"
#include "theory/miadam_gain.h"

namespace flatmin::experiments {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

/// Welch's averaged periodogram of s[begin..]: segments of length L, 50 % overlap, each with its least-squares
/// line removed (a linear filter maps a line to a line in steady state, so detrending commutes with it) and a
/// symmetric Hann window. Returns L/2 + 1 values (ω_j = 2πj/L) and the number of segments.
std::vector<double> welch(const std::vector<double>& s, size_t begin, int64_t L, int64_t& segments) {
  const auto window = torch::hann_window(L, /*periodic=*/false, torch::kFloat64);
  const auto t = torch::arange(L, torch::kFloat64);
  const double tm = (L - 1) / 2.0, tss = (t - tm).pow(2).sum().item<double>();
  auto acc = torch::zeros({L / 2 + 1}, torch::kFloat64);
  segments = 0;
  for (size_t a = begin; a + size_t(L) <= s.size(); a += size_t(L / 2)) {
    auto seg = torch::from_blob(const_cast<double*>(s.data() + a), {L}, torch::kFloat64).clone();
    const double mean = seg.mean().item<double>(), slope = ((t - tm) * (seg - mean)).sum().item<double>() / tss;
    seg = seg - mean - slope * (t - tm);
    acc += torch::fft::rfft(seg * window).abs().pow(2);
    ++segments;
  }
  FLATMIN_CHECK(segments > 0, "fig1_filtering: the analysed signal is shorter than one segment (raise steps or lower segment)");
  acc /= double(segments);
  return std::vector<double>(acc.data_ptr<double>(), acc.data_ptr<double>() + acc.numel());
}

std::vector<ReportRow> fig1_filtering(const json& cfg, const fs::path& dir, json& summary, const TargetContext& ctx) {
  const std::string T = "fig1_filtering";
  const int64_t steps = cfg.at("steps"), burn_in = cfg.at("burn_in"), L = cfg.at("segment"), batch = cfg.at("batch_size");
  const int64_t min_bin = cfg.at("min_bin"), orders = cfg.at("orders");
  const double kappa = cfg.at("kappa"), tol = cfg.at("tolerance"), hf = cfg.at("high_frequency");
  const auto coord = cfg.at("coordinate").get<std::vector<int64_t>>();  // [class, pixel]
  FLATMIN_CHECK(steps > burn_in && burn_in >= 0 && L >= 16 && L % 2 == 0 && batch >= 1 && orders >= 1 && orders <= 3,
                T << ": need steps > burn_in >= 0, an even segment >= 16, batch_size >= 1, 1 <= orders <= 3");
  FLATMIN_CHECK(min_bin >= 1 && min_bin < L / 2, T << ": min_bin must be in [1, segment/2)");
  FLATMIN_CHECK(coord.size() == 2 && coord[0] >= 0 && coord[0] < 10 && coord[1] >= 0 && coord[1] < 784,
                T << ": coordinate must be [class 0-9, pixel 0-783]");
  const torch::Device device = parse_device(ctx.device);
  // A 7,850-parameter model: intra-op threads only contend (8x slower with 2 threads on a loaded 2-core machine).
  struct OneThread {
    int before = at::get_num_threads();
    OneThread() { at::set_num_threads(1); }
    ~OneThread() { at::set_num_threads(before); }
  } one_thread;

  // ---- the signal: one weight of softmax regression trained by Adam on Fashion-MNIST ----
  torch::manual_seed(cfg.value("seed", 0));
  data::ImageSet set = data::subset(data::load_fashion_mnist(cfg.value("data_dir", ""), true), cfg.at("train_subset"), 0);
  const int64_t n = set.n, d = set.image_size();
  auto X = torch::from_blob(set.pixels.data(), {n, d}, torch::kUInt8).to(torch::kFloat32).div(255.0).to(device);
  auto Y = torch::from_blob(set.labels.data(), {n}, torch::kInt64).clone().to(device);
  auto W = torch::zeros({set.num_classes, d}, torch::TensorOptions().device(device).requires_grad(true));
  auto b = torch::zeros({set.num_classes}, torch::TensorOptions().device(device).requires_grad(true));
  const json& opt = cfg.at("optimizer");
  auto optimizer = optim::make_optimizer(opt.at("name").get<std::string>(), opt.value("options", json::object()), {W, b});
  std::vector<double> x(static_cast<size_t>(steps)), loss_trace;
  auto gen = at::detail::createCPUGenerator(cfg.value("seed", 0));
  auto perm = torch::randperm(n, gen, torch::kInt64);
  int64_t at = 0;
  common::Progress progress(T + " (Adam trajectory)", steps);
  for (int64_t s = 0; s < steps; ++s) {
    if (at + batch > n) {
      perm = torch::randperm(n, gen, torch::kInt64);
      at = 0;
    }
    const auto idx = perm.slice(0, at, at + batch).to(device);
    at += batch;
    optimizer->zero_grad();
    auto loss = torch::nn::functional::cross_entropy(torch::addmm(b, X.index_select(0, idx), W.t()), Y.index_select(0, idx));
    loss.backward();
    optimizer->step();
    x[size_t(s)] = W[coord[0]][coord[1]].item<double>();
    if (s % 64 == 0) loss_trace.push_back(loss.item<double>());
    if (s % 256 == 0) progress.update(s + 1);
  }
  progress.finish();
  FLATMIN_CHECK(std::isfinite(x.back()), T << ": the Adam trajectory diverged");

  // ---- its n-fold κ-integrals, by the accumulator MIAdam uses ----
  std::vector<std::vector<double>> sig(size_t(orders) + 1, std::vector<double>(size_t(steps)));
  sig[0] = x;
  double buf[3] = {0, 0, 0};
  for (int64_t s = 0; s < steps; ++s) {
    rules::miadam_accumulate<-1>(buf, x[size_t(s)], int(orders), kappa);
    for (int64_t j = 0; j < orders; ++j) sig[size_t(j) + 1][size_t(s)] = buf[j];
  }
  {
    common::AtomicFile file(dir / "signal.csv");
    std::vector<std::string> head = {"step", "x"};
    for (int64_t j = 1; j <= orders; ++j) head.push_back("integral_" + std::to_string(j));
    common::CsvWriter csv(file.stream(), head);
    for (int64_t s = 0; s < steps; ++s) {
      std::vector<double> r = {double(s + 1)};
      for (const auto& v : sig) r.push_back(v[size_t(s)]);
      csv.row(r);
    }
    file.commit();
  }

  // ---- spectra, measured gains and the closed form ----
  int64_t segments = 0;
  std::vector<std::vector<double>> P;
  for (const auto& v : sig) P.push_back(welch(v, size_t(burn_in), L, segments));
  const int64_t bins = L / 2 + 1;
  std::vector<double> max_err(size_t(orders) + 1, 0.0), worst_omega(size_t(orders) + 1, 0.0), hf_share(size_t(orders) + 1, 0.0);
  {
    common::AtomicFile file(dir / "spectra.csv");
    std::vector<std::string> head = {"bin", "omega", "power_x"};
    for (int64_t j = 1; j <= orders; ++j) {
      head.push_back("power_" + std::to_string(j));
      head.push_back("gain_" + std::to_string(j));
      head.push_back("closed_form_" + std::to_string(j));
    }
    common::CsvWriter csv(file.stream(), head);
    for (int64_t k = 0; k < bins; ++k) {
      const double omega = 2 * M_PI * double(k) / double(L);
      std::vector<double> r = {double(k), omega, P[0][size_t(k)]};
      for (int64_t j = 1; j <= orders; ++j) {
        const double gain = std::sqrt(P[size_t(j)][size_t(k)] / P[0][size_t(k)]);
        const double closed = theory::miadam_transfer_gain(kappa, int(j), omega);
        r.insert(r.end(), {P[size_t(j)][size_t(k)], gain, closed});
        if (k >= min_bin && std::abs(gain / closed - 1) > max_err[size_t(j)]) {
          max_err[size_t(j)] = std::abs(gain / closed - 1);
          worst_omega[size_t(j)] = omega;
        }
      }
      csv.row(r);
    }
    file.commit();
  }
  // share of the power (bins >= min_bin) above ω = hf·π, per signal: the "filtering" in one number
  for (size_t j = 0; j < P.size(); ++j) {
    double all = 0, high = 0;
    for (int64_t k = min_bin; k < bins; ++k) {
      all += P[j][size_t(k)];
      if (2 * M_PI * double(k) / double(L) > hf * M_PI) high += P[j][size_t(k)];
    }
    hf_share[j] = high / all;
  }

  summary["kappa"] = kappa;
  summary["segments"] = segments;
  summary["segment"] = L;
  summary["omega_min"] = 2 * M_PI * double(min_bin) / double(L);
  summary["max_relative_error"] = json(std::vector<double>(max_err.begin() + 1, max_err.end()));
  summary["worst_omega"] = json(std::vector<double>(worst_omega.begin() + 1, worst_omega.end()));
  summary["high_frequency_share"] = hf_share;
  summary["loss_every_64_steps"] = loss_trace;
  summary["optimizer_resolved"] = optim::resolved_options(opt.at("name").get<std::string>(), *optimizer);

  std::vector<ReportRow> rows;
  char note[320];
  for (int64_t j = 1; j <= orders; ++j) {
    std::snprintf(note, sizeof note,
                  "measured gain sqrt(P_%lld/P_0) (Welch: %lld segments of %lld steps after %lld burn-in, Hann, detrended) vs "
                  "|1 - kappa e^{-i omega}|^-%lld, kappa = %g, over omega in [%.3g, pi]; worst at omega = %.3g; holds iff <= %g",
                  (long long)j, (long long)segments, (long long)L, (long long)burn_in, (long long)j, kappa,
                  2 * M_PI * double(min_bin) / double(L), worst_omega[size_t(j)], tol);
    rows.push_back({T, std::to_string(j) + "-fold kappa-integral: max relative error of the measured gain vs the closed form", tol,
                    max_err[size_t(j)], max_err[size_t(j)] <= tol, note});
  }
  bool falling = true;
  std::ostringstream shares;
  for (size_t j = 0; j < hf_share.size(); ++j) {
    if (j > 0) falling = falling && hf_share[j] < hf_share[j - 1];
    shares << (j ? ", " : "") << j << "-fold " << hf_share[j];
  }
  std::snprintf(note, sizeof note, "share of the power above omega = %g pi: %s; holds iff it falls with every fold", hf,
                shares.str().c_str());
  rows.push_back({T, "high-frequency power share, " + std::to_string(orders) + "-fold integral / trajectory (Fig. 1: integration filters the high frequencies)",
                  std::nan(""), hf_share.back() / hf_share.front(), falling, note});
  return rows;
}

}  // namespace

void add_fig1_targets(std::map<std::string, TargetRunner>& targets) { targets["fig1_filtering"] = fig1_filtering; }

}  // namespace flatmin::experiments
