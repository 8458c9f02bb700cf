// Adam+CM / Adam+CG: independent float64 trajectories (buffer filling, replacement, keep, FIFO mode,
// synced and unsynced priorities), first-step properties, buffer invariants, the incremental buffer
// sum, seeded FIFO draws, param groups, checkpoint round trip, fused-vs-tensor path, validation.
#include "optim/adam_cm.h"

#include <random>
#include <sstream>
#include <tuple>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/registry.h"
#include "optim/replay.h"
#include "tests/support/tolerances.h"
#include "tests/support/optim_helpers.h"
#include "tests/support/torch_helpers.h"

namespace flatmin::test {
namespace {

using optim::AdamCG;
using optim::AdamCGOptions;
using optim::AdamCM;
using optim::AdamCMOptions;

// ---------------------------------------------------------------------------------------------
// Independent float64 reference, written from spec optimizers.md §11 (not from optim/rules):
// plain loops over vectors; the buffer mean is RECOMPUTED from the stored items at every step
// (the library keeps the official incremental sum), the priority of a step is Σ_i sqrt(Σ_j g_ij²)
// (synced) or the tensor's own norm, and the FIFO draw is the documented u = (mt19937_64() >> 11)·2^−53.

using VecGrad = std::function<double(int64_t t, size_t i, size_t j, double theta)>;

struct RefCritical {
  bool momenta = true;  ///< Adam_CM (true) or Adam_C (false)
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0, decay = 0.7, critical_test = 0;
  int64_t topC = 5;
  bool synced = true, amsgrad = false;
  uint64_t seed = 0;
};

struct RefEvents {
  int append = 0, keep = 0, replace = 0, fifo = 0;
};

/// Returns the flattened θ after every step (row 0 = θ0).
inline std::vector<std::vector<double>> ref_critical(const RefCritical& c, std::vector<std::vector<double>> theta,
                                                      int64_t steps, const VecGrad& grad, RefEvents* events = nullptr) {
  struct Buffer {
    std::vector<std::vector<double>> items;
    std::vector<double> keys;
    size_t smallest = 0;  // TensorList.smallest: set by poke_smallest() only
  };
  const size_t P = theta.size();
  std::vector<std::vector<double>> m(P), v(P), vmax(P);
  for (size_t i = 0; i < P; ++i) m[i] = v[i] = vmax[i] = std::vector<double>(theta[i].size(), 0.0);
  std::vector<Buffer> buf(P);
  std::vector<int64_t> step(P, 0);
  std::mt19937_64 gen(c.seed);
  RefEvents ev;
  auto flat = [&] {
    std::vector<double> f;
    for (const auto& x : theta) f.insert(f.end(), x.begin(), x.end());
    return f;
  };
  std::vector<std::vector<double>> out{flat()};
  for (int64_t t = 1; t <= steps; ++t) {
    std::vector<std::vector<double>> g(P);
    std::vector<double> norm(P, 0.0);
    double total = 0.0;
    for (size_t i = 0; i < P; ++i) {
      double sq = 0.0;
      for (size_t j = 0; j < theta[i].size(); ++j) {
        g[i].push_back(grad(t, i, j, theta[i][j]));
        sq += g[i][j] * g[i][j];
      }
      norm[i] = std::sqrt(sq);
      total += norm[i];
    }
    for (size_t i = 0; i < P; ++i) {
      const size_t n = theta[i].size();
      const double prio = c.synced ? total : norm[i];
      Buffer& b = buf[i];
      if (c.momenta && c.wd != 0) {
        for (auto& th : theta[i]) th *= 1 - c.lr * c.wd;
      }
      std::vector<double> x(n), item;
      enum { kNone, kAppend, kReplace } action = kNone;
      if (step[i] == 0) {  // initialisation: the raw gradient goes in, no aggregation (CM: m stays 0)
        item = g[i];
        action = kAppend;
        x = c.momenta ? m[i] : g[i];
      } else {
        std::vector<double> mean(n, 0.0);
        for (const auto& it : b.items) {
          for (size_t j = 0; j < n; ++j) mean[j] += it[j];
        }
        for (size_t j = 0; j < n; ++j) mean[j] /= double(b.items.size());
        if (c.momenta) {
          for (size_t j = 0; j < n; ++j) m[i][j] = c.beta1 * m[i][j] + (1 - c.beta1) * g[i][j];
          for (size_t j = 0; j < n; ++j) x[j] = m[i][j] + mean[j];
          item = m[i];
        } else {
          for (size_t j = 0; j < n; ++j) x[j] = g[i][j] + mean[j];
          item = g[i];
        }
        if (int64_t(b.items.size()) < c.topC) {
          action = kAppend;
        } else {
          bool priority = true;
          if (c.critical_test > 0) priority = double(gen() >> 11) * std::ldexp(1.0, -53) >= c.critical_test;
          if (priority) {
            b.smallest = size_t(std::min_element(b.keys.begin(), b.keys.end()) - b.keys.begin());
            action = prio > b.keys[b.smallest] ? kReplace : kNone;
          } else {
            action = kReplace;  // the slot of the last priority-mode search (0 if none)
            ++ev.fifo;
          }
        }
      }
      if (action == kAppend) {
        b.items.push_back(item);
        b.keys.push_back(prio);
        ++ev.append;
      } else if (action == kReplace) {
        b.items[b.smallest] = item;
        b.keys[b.smallest] = prio;
        ++ev.replace;
      } else {
        ++ev.keep;
      }
      ++step[i];
      const double bc1 = 1 - std::pow(c.beta1, double(step[i])), bc2 = 1 - std::pow(c.beta2, double(step[i]));
      for (size_t j = 0; j < n; ++j) {
        double used;
        if (c.momenta) {
          used = x[j];
        } else {
          if (c.wd != 0) x[j] += c.wd * theta[i][j];  // coupled L2 after the aggregation
          m[i][j] = c.beta1 * m[i][j] + (1 - c.beta1) * x[j];
          used = m[i][j];
        }
        v[i][j] = c.beta2 * v[i][j] + (1 - c.beta2) * x[j] * x[j];  // CM: v of the aggregated momentum
        vmax[i][j] = std::max(vmax[i][j], v[i][j]);
        const double denom = std::sqrt((c.amsgrad ? vmax[i][j] : v[i][j]) / bc2) + c.eps;
        theta[i][j] -= c.lr / bc1 * used / denom;
      }
      for (auto& k : b.keys) k *= c.decay;
    }
    out.push_back(flat());
  }
  if (events != nullptr) *events = ev;
  return out;
}

/// Gradient whose norm varies by up to a factor e³ between steps (so the buffer both keeps and
/// replaces), different per tensor, with a restoring term.
double cm_grad(int64_t t, size_t i, size_t j, double theta) {
  const double amp = std::exp(1.5 * std::sin(0.37 * double(t * t) + 0.3 * double(i)));
  return amp * std::sin(1.3 * double(t) + 0.7 * double(i) + 0.45 * double(j)) + 0.3 * theta;
}

std::vector<torch::Tensor> tensors(const std::vector<std::vector<double>>& x,
                                   torch::ScalarType dtype = torch::kFloat64) {
  std::vector<torch::Tensor> out;
  for (const auto& xi : x) out.push_back(torch::tensor(xi, torch::dtype(torch::kFloat64)).to(dtype));
  return out;
}

/// Runs steps t0+1..t0+steps on float64 tensors; returns the flattened θ after every step.
std::vector<std::vector<double>> drive_vec(torch::optim::Optimizer& opt, std::vector<torch::Tensor>& ps, int64_t steps,
                                           const VecGrad& grad, int64_t t0 = 0) {
  std::vector<std::vector<double>> out{values(ps)};
  for (int64_t t = t0 + 1; t <= t0 + steps; ++t) {
    for (size_t i = 0; i < ps.size(); ++i) {
      auto g = torch::empty_like(ps[i]);
      for (int64_t j = 0; j < ps[i].numel(); ++j) {
        g.data_ptr<double>()[j] = grad(t, i, size_t(j), ps[i].data_ptr<double>()[j]);
      }
      ps[i].mutable_grad() = g;
    }
    opt.step();
    out.push_back(values(ps));
  }
  return out;
}


template <class Options>
Options to_options(const RefCritical& c) {
  Options o(c.lr);
  o.betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.wd).decay(c.decay).topC(c.topC);
  o.critical_test(c.critical_test).synced(c.synced).amsgrad(c.amsgrad).seed(int64_t(c.seed));
  return o;
}

std::unique_ptr<torch::optim::Optimizer> make(const RefCritical& c, std::vector<torch::Tensor> ps) {
  if (c.momenta) return std::make_unique<AdamCM>(ps, to_options<AdamCMOptions>(c));
  return std::make_unique<AdamCG>(ps, to_options<AdamCGOptions>(c));
}

const optim::AdamCriticalParamState& state_of(const torch::optim::Optimizer& opt, const torch::Tensor& p) {
  const optim::AdamCriticalParamState* st = nullptr;
  if (auto* cm = dynamic_cast<const AdamCM*>(&opt)) st = cm->param_state(p);
  if (auto* cg = dynamic_cast<const AdamCG*>(&opt)) st = cg->param_state(p);
  if (st == nullptr) throw std::runtime_error("no adam_cm/adam_cg state for this parameter");
  return *st;
}

// ---------------------------------------------------------------------------------------------
// Reference trajectories

struct Case {
  std::string name;
  RefCritical c;
  bool expect_keep;  ///< the case must exercise "buffer full, new priority not larger" (priority mode)
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class CriticalReference : public ::testing::TestWithParam<Case> {};

TEST_P(CriticalReference, ProducesReferenceTrajectory) {
  const auto& c = GetParam().c;
  const std::vector<std::vector<double>> theta0 = {{0.5, -1.0, 2.0}, {0.8, -0.3}};
  const int64_t steps = 12;
  auto ps = tensors(theta0);
  auto opt = make(c, ps);
  const auto ours = drive_vec(*opt, ps, steps, cm_grad);
  RefEvents ev;
  const auto ref = ref_critical(c, theta0, steps, cm_grad, &ev);
  expect_close(ours, ref, kRelTolDouble);
  // The case must exercise what it is meant to: the buffer fills and entries get replaced.
  EXPECT_EQ(ev.append, 2 * c.topC);
  EXPECT_GT(ev.replace, 0);
  if (GetParam().expect_keep) {
    EXPECT_GT(ev.keep, 0);
  }
  if (c.critical_test > 0) {
    EXPECT_GT(ev.fifo, 0);
  }
  EXPECT_NE(ours[steps][0], ours[steps - 1][0]);
  // The buffer size the optimizer holds is min(steps, topC).
  for (const auto& p : ps) EXPECT_EQ(int64_t(state_of(*opt, p).buffer.items().size()), c.topC);
}

RefCritical base(bool momenta, int64_t topC, bool synced, double lr) {
  RefCritical c;
  std::tie(c.momenta, c.topC, c.synced, c.lr) = std::tie(momenta, topC, synced, lr);
  return c;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (bool momenta : {true, false}) {
    const std::string k = momenta ? "CM" : "CG";
    auto name = [&](const char* s) { return k + s; };
    out.push_back({name("SyncedTopC3"), base(momenta, 3, true, 0.05), true});
    out.push_back({name("UnsyncedTopC2"), base(momenta, 2, false, 0.05), true});
    auto wd = base(momenta, 3, true, 0.1);
    wd.wd = 0.05;
    wd.amsgrad = true;
    wd.decay = 0.9;
    out.push_back({name("WeightDecayAmsgradDecay09"), wd, false});
    auto fifo = base(momenta, 3, true, 0.05);
    fifo.critical_test = 0.5;
    fifo.seed = 12345;
    out.push_back({name("FifoMixedSeeded"), fifo, false});
    auto fifo_u = base(momenta, 2, false, 0.05);
    fifo_u.critical_test = 0.3;
    fifo_u.seed = 7;
    out.push_back({name("FifoMixedUnsynced"), fifo_u, false});
    auto always = base(momenta, 3, true, 0.05);
    always.critical_test = 1.0;
    out.push_back({name("FifoAlways"), always, false});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(All, CriticalReference, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& param_info) { return param_info.param.name; });

// synced (default) and unsynced priorities give different trajectories: guards the option.
TEST(AdamCM, SyncedAndUnsyncedPrioritiesDiffer) {
  const std::vector<std::vector<double>> theta0 = {{0.5, -1.0, 2.0}, {0.8, -0.3}};
  auto a = base(true, 2, true, 0.05), b = base(true, 2, false, 0.05);
  const auto ra = ref_critical(a, theta0, 12, cm_grad), rb = ref_critical(b, theta0, 12, cm_grad);
  double diff = 0;
  for (size_t j = 0; j < ra[12].size(); ++j) diff = std::max(diff, std::abs(ra[12][j] - rb[12][j]));
  EXPECT_GT(diff, 1e-6);
}

// ---------------------------------------------------------------------------------------------
// First step

TEST(AdamCM, FirstStepMovesOnlyTheWeightDecay) {
  for (double wd : {0.0, 0.1}) {
    auto ps = tensors({{0.5, -1.0, 2.0}, {0.8, -0.3}});
    const auto before = values(ps);
    AdamCM opt(ps, AdamCMOptions(0.05).weight_decay(wd));
    drive_vec(opt, ps, 1, cm_grad);
    const auto after = values(ps);
    for (size_t j = 0; j < before.size(); ++j) EXPECT_EQ(after[j], before[j] * (1 - 0.05 * wd)) << j;
    const auto& st = state_of(opt, ps[0]);
    EXPECT_EQ(st.step(), 1);  // the counter advances
    EXPECT_TRUE(torch::equal(st.exp_avg(), torch::zeros_like(ps[0])));
    EXPECT_TRUE(torch::equal(st.exp_avg_sq(), torch::zeros_like(ps[0])));
    ASSERT_EQ(st.buffer.items().size(), 1u);
    EXPECT_TRUE(torch::equal(st.buffer.items()[0], ps[0].grad()));  // the RAW gradient is the first item
    EXPECT_TRUE(torch::equal(st.buffer.aggr_sum(), ps[0].grad()));
    const double gnorm = ps[0].grad().norm().item<double>() + ps[1].grad().norm().item<double>();
    EXPECT_NEAR(st.buffer.keys()[0], gnorm * 0.7, 1e-15 * gnorm);  // synced priority, already decayed once
  }
}

TEST(AdamCG, FirstStepIsAPlainAdamStep) {
  for (double wd : {0.0, 0.1}) {  // Adam_C's weight decay is coupled L2, like torch's Adam
    auto ps = tensors({{0.5, -1.0, 2.0}, {0.8, -0.3}}), qs = tensors({{0.5, -1.0, 2.0}, {0.8, -0.3}});
    AdamCG cg(ps, AdamCGOptions(0.05).weight_decay(wd));
    torch::optim::Adam adam(qs, torch::optim::AdamOptions(0.05).weight_decay(wd));
    const auto a = drive_vec(cg, ps, 1, cm_grad), b = drive_vec(adam, qs, 1, cm_grad);
    for (size_t j = 0; j < a[1].size(); ++j) {
      EXPECT_NEAR(a[1][j], b[1][j], kRelTolDoubleSameMath) << j;
      EXPECT_NEAR(std::abs(a[1][j] - a[0][j]), 0.05, 1e-6) << j;  // every coordinate moves by ≈ lr
    }
    const auto& st = state_of(cg, ps[1]);
    ASSERT_EQ(st.buffer.items().size(), 1u);
    EXPECT_TRUE(torch::equal(st.buffer.items()[0], ps[1].grad()));
  }
}

// ---------------------------------------------------------------------------------------------
// Buffer invariants

struct Snapshot {
  std::vector<torch::Tensor> items;
  std::vector<double> keys;
  torch::Tensor sum;
};

Snapshot snap(const optim::AdamCriticalParamState& st) {
  Snapshot s;
  for (const auto& it : st.buffer.items()) s.items.push_back(it.clone());
  s.keys = st.buffer.keys();
  s.sum = st.buffer.aggr_sum().clone();
  return s;
}

// Size ≤ topC; priorities decay by `decay` per step; a full buffer changes only when the new
// priority exceeds the current minimum, and then exactly the argmin slot; the stored item is the
// momentum (CM) / raw gradient (CG); the sum follows the official incremental sequence bit for bit
// ((S − old) + new in float64) and stays close to the exact sum.
TEST(AdamCritical, BufferInvariantsHoldAtEveryStep) {
  for (bool momenta : {true, false}) {
    for (bool synced : {true, false}) {
      const int64_t topC = 4;
      const double decay = 0.85;
      RefCritical c = base(momenta, topC, synced, 0.02);
      c.decay = decay;
      auto ps = tensors({{0.5, -1.0, 2.0, 0.1}, {0.8, -0.3}});
      auto opt = make(c, ps);
      int replaced = 0, kept = 0;
      std::vector<torch::Tensor> inc_sum(ps.size());
      for (int64_t t = 1; t <= 40; ++t) {
        std::vector<Snapshot> before;
        for (const auto& p : ps) before.push_back(opt->state().empty() ? Snapshot{} : snap(state_of(*opt, p)));
        std::vector<torch::Tensor> grads;
        for (size_t i = 0; i < ps.size(); ++i) {
          auto g = torch::empty_like(ps[i]);
          for (int64_t j = 0; j < g.numel(); ++j) g.data_ptr<double>()[j] = cm_grad(t, i, size_t(j), ps[i].data_ptr<double>()[j]);
          ps[i].mutable_grad() = g;
          grads.push_back(g);
        }
        double total = 0;
        for (const auto& g : grads) total += g.norm().item<double>();
        opt->step();
        for (size_t i = 0; i < ps.size(); ++i) {
          const auto& st = state_of(*opt, ps[i]);
          const auto& b = before[i];
          const double prio = synced ? total : grads[i].norm().item<double>();
          const auto stored = momenta && t > 1 ? st.exp_avg() : grads[i];
          ASSERT_LE(int64_t(st.buffer.items().size()), topC);
          ASSERT_EQ(int64_t(st.buffer.items().size()), std::min<int64_t>(t, topC));
          ASSERT_EQ(st.buffer.keys().size(), st.buffer.items().size());
          if (int64_t(b.items.size()) < topC) {  // append at the end
            for (size_t k = 0; k < b.items.size(); ++k) {
              EXPECT_EQ(st.buffer.keys()[k], b.keys[k] * decay);
              EXPECT_TRUE(torch::equal(st.buffer.items()[k], b.items[k]));
            }
            EXPECT_NEAR(st.buffer.keys().back(), prio * decay, 1e-14 * prio);
            EXPECT_TRUE(torch::equal(st.buffer.items().back(), stored));
            inc_sum[i] = (t == 1 ? torch::zeros_like(stored) : inc_sum[i]) + stored;
          } else {
            const auto jmin = size_t(std::min_element(b.keys.begin(), b.keys.end()) - b.keys.begin());
            const bool replace = prio > b.keys[jmin];
            (replace ? replaced : kept) += 1;
            for (size_t k = 0; k < b.items.size(); ++k) {
              if (replace && k == jmin) {
                EXPECT_NEAR(st.buffer.keys()[k], prio * decay, 1e-14 * prio);
                EXPECT_TRUE(torch::equal(st.buffer.items()[k], stored));
              } else {
                EXPECT_EQ(st.buffer.keys()[k], b.keys[k] * decay) << "t " << t << " slot " << k;
                EXPECT_TRUE(torch::equal(st.buffer.items()[k], b.items[k])) << "t " << t << " slot " << k;
              }
            }
            if (replace) inc_sum[i] = (inc_sum[i] - b.items[jmin]) + stored;
          }
          EXPECT_TRUE(torch::equal(st.buffer.aggr_sum(), inc_sum[i])) << "t " << t;  // the official incremental sequence
          EXPECT_TRUE(torch::allclose(st.buffer.aggr_sum(), torch::stack(st.buffer.items()).sum(0), 0, 1e-13));
        }
        if (synced) {
          EXPECT_EQ(state_of(*opt, ps[0]).buffer.keys(), state_of(*opt, ps[1]).buffer.keys());  // same decisions
        }
      }
      EXPECT_GT(replaced, 0) << momenta << synced;
      EXPECT_GT(kept, 0) << momenta << synced;
      if (!synced) {
        EXPECT_NE(state_of(*opt, ps[0]).buffer.keys(), state_of(*opt, ps[1]).buffer.keys());
      }
    }
  }
}

// FIFO mode = the index of the last priority-mode search, 0 if none: with critical_test = 1 slot 0 is
// overwritten at every step and the other slots never change.
TEST(AdamCritical, FifoModeReplacesTheStaleIndexNotTheOldest) {
  for (bool momenta : {true, false}) {
    RefCritical c = base(momenta, 3, true, 0.02);
    c.critical_test = 1.0;
    auto ps = tensors({{0.5, -1.0}, {0.3}});
    auto opt = make(c, ps);
    drive_vec(*opt, ps, 3, cm_grad);
    const auto full = snap(state_of(*opt, ps[0]));
    for (int64_t t = 4; t <= 9; ++t) {
      drive_vec(*opt, ps, 1, cm_grad, t - 1);
      const auto& st = state_of(*opt, ps[0]);
      EXPECT_EQ(st.buffer.smallest(), 0);
      const auto stored = momenta ? st.exp_avg() : ps[0].grad();
      EXPECT_TRUE(torch::equal(st.buffer.items()[0], stored)) << t;
      EXPECT_TRUE(torch::equal(st.buffer.items()[1], full.items[1])) << t;
      EXPECT_TRUE(torch::equal(st.buffer.items()[2], full.items[2])) << t;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Randomness, groups, checkpoints

TEST(AdamCritical, SeededFifoDrawsAreDeterministicAndSeedDependent) {
  auto run = [](int64_t seed) {
    RefCritical c = base(true, 2, true, 0.05);
    c.critical_test = 0.5;
    c.seed = uint64_t(seed);
    auto ps = tensors({{0.5, -1.0, 2.0}, {0.8, -0.3}});
    auto opt = make(c, ps);
    return drive_vec(*opt, ps, 25, cm_grad);
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3), run(4));
  // The documented uniform: top 53 bits of mt19937_64.
  std::mt19937_64 a(42), b(42);
  EXPECT_EQ(optim::critical_uniform(a), double(b() >> 11) / 9007199254740992.0);
}



std::string rng_text(const std::string& bytes) {
  torch::serialize::InputArchive archive;
  std::istringstream is(bytes);
  archive.load_from(is);
  c10::IValue v;
  archive.read("flatmin/critical_rng/0", v);
  return v.toStringRef();
}

// save → load → continue = uninterrupted, bit for bit, with FIFO draws before and after the cut;
// options, the whole buffer and the generator come from the checkpoint.
TEST(AdamCritical, SaveLoadContinueIsBitIdenticalWithRandomFifo) {
  for (bool momenta : {true, false}) {
    RefCritical c = base(momenta, 3, true, 0.05);
    c.critical_test = 0.4;
    c.seed = 99;
    c.wd = 0.01;
    c.amsgrad = true;
    const std::vector<std::vector<double>> theta0 = {{0.5, -1.0, 2.0}, {0.8, -0.3}};
    auto full_p = tensors(theta0);
    auto full = make(c, full_p);
    const auto uninterrupted = drive_vec(*full, full_p, 20, cm_grad);

    auto p = tensors(theta0);
    auto first = make(c, p);
    drive_vec(*first, p, 7, cm_grad);  // buffer full since step 3; draws at steps 4..7
    const auto bytes = save_to_string(*first);
    EXPECT_FALSE(rng_text(bytes).empty());
    std::vector<std::vector<double>> now;
    for (const auto& t : p) now.push_back(std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel()));
    auto q = tensors(now);
    RefCritical wrong = base(momenta, 5, false, 0.5);  // wrong options on purpose
    wrong.seed = 1;
    auto resumed = make(wrong, q);
    load_from_string(*resumed, bytes);
    EXPECT_EQ(rng_text(save_to_string(*resumed)), rng_text(bytes));  // generator state restored
    const auto rest = drive_vec(*resumed, q, 13, cm_grad, 7);
    for (size_t k = 0; k < rest.size(); ++k) EXPECT_EQ(rest[k], uninterrupted[7 + k]) << "step " << 7 + k;
    const auto& s1 = state_of(*resumed, q[0]);
    const auto& s2 = state_of(*full, full_p[0]);
    EXPECT_EQ(s1.buffer.keys(), s2.buffer.keys());
    EXPECT_EQ(s1.buffer.smallest(), s2.buffer.smallest());
    EXPECT_EQ(s1.buffer.capacity(), 3);
  }
}

TEST(AdamCritical, LoadRejectsTheOtherKindAndMismatchedModels) {
  auto p = tensors({{1.0, 2.0}});
  AdamCM cm(p, AdamCMOptions(0.1));
  drive_vec(cm, p, 2, cm_grad);
  const auto bytes = save_to_string(cm);
  auto q = tensors({{1.0, 2.0}});
  AdamCG cg(q, AdamCGOptions(0.1));
  EXPECT_THROW(load_from_string(cg, bytes), common::InputError);
  auto r = tensors({{1.0, 2.0, 3.0}});
  AdamCM other(r, AdamCMOptions(0.1));
  EXPECT_THROW(load_from_string(other, bytes), common::InputError);
}

// Two groups with different options (incl. seeds and FIFO draws) = each group run alone, bitwise.
TEST(AdamCritical, TwoParamGroupsWithDifferentOptionsMatchSeparateRuns) {
  const VecGrad g2 = [](int64_t t, size_t i, size_t j, double th) { return cm_grad(t, i + 2, j, th); };
  auto o1 = AdamCMOptions(0.05).topC(2).critical_test(0.5).seed(5);
  auto o2 = AdamCMOptions(0.2).topC(3).decay(0.9).weight_decay(0.1).synced(false).critical_test(0.3).seed(8);
  auto p = tensors({{1.0, 2.0}, {-1.0}, {0.5, 0.2, 0.1}, {0.3}});
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{p[0], p[1]}, std::make_unique<AdamCMOptions>(o1));
  groups.emplace_back(std::vector<torch::Tensor>{p[2], p[3]}, std::make_unique<AdamCMOptions>(o2));
  AdamCM both(std::move(groups));
  const VecGrad joint_grad = [&](int64_t t, size_t i, size_t j, double th) {
    return i < 2 ? cm_grad(t, i, j, th) : g2(t, i - 2, j, th);
  };
  const auto joint = drive_vec(both, p, 20, joint_grad);
  auto q1 = tensors({{1.0, 2.0}, {-1.0}}), q2 = tensors({{0.5, 0.2, 0.1}, {0.3}});
  AdamCM one(q1, o1), two(q2, o2);
  const auto s1 = drive_vec(one, q1, 20, cm_grad), s2 = drive_vec(two, q2, 20, g2);
  for (size_t t = 0; t < joint.size(); ++t) {
    std::vector<double> cat = s1[t];
    cat.insert(cat.end(), s2[t].begin(), s2[t].end());
    EXPECT_EQ(joint[t], cat) << "step " << t;
  }
}

// A tensor without a gradient is skipped and does not enter the synced priority.
TEST(AdamCritical, SkipsParametersWithoutGradient) {
  for (bool momenta : {true, false}) {
    auto p = tensors({{1.0, 2.0}, {3.0}});
    auto opt = make(base(momenta, 2, true, 0.1), p);
    for (int t = 0; t < 3; ++t) {
      p[0].mutable_grad() = torch::tensor({0.3 + t, -0.4}, torch::kFloat64);
      opt->step();
    }
    EXPECT_EQ(values(p)[2], 3.0);
    EXPECT_EQ(opt->state().size(), 1u);
    // Priorities = p[0]'s own norm: step 3 (‖(2.3, −0.4)‖) replaced step 1's entry (slot 0),
    // step 2's (‖(1.3, −0.4)‖) has decayed twice.
    const auto& st = state_of(*opt, p[0]);
    EXPECT_NEAR(st.buffer.keys()[0], std::sqrt(2.3 * 2.3 + 0.16) * 0.7, 1e-15);
    EXPECT_NEAR(st.buffer.keys()[1], std::sqrt(1.3 * 1.3 + 0.16) * 0.7 * 0.7, 1e-15);
  }
}

// kappa is only an on/off switch (> 0); kappa = 0 is rejected with an explanation.
TEST(AdamCritical, KappaIsAnOnSwitch) {
  auto a = tensors({{1.0, 2.0}}), b = tensors({{1.0, 2.0}});
  AdamCM x(a, AdamCMOptions(0.1).topC(2)), y(b, AdamCMOptions(0.1).topC(2).kappa(0.25));
  EXPECT_EQ(drive_vec(x, a, 8, cm_grad), drive_vec(y, b, 8, cm_grad));
  try {
    AdamCM z(a, AdamCMOptions().kappa(0.0));
    ADD_FAILURE() << "kappa = 0 must be rejected";
  } catch (const common::InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("kappa = 0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'adam'"), std::string::npos) << msg;
  }
}

// Ranges: Conformance.RejectsEveryOutOfRangeValueNamingTheOption.
TEST(AdamCritical, ClosedBoundsAndOfficialDefaults) {
  auto p = tensors({{1.0}});
  EXPECT_NO_THROW(AdamCG(p, AdamCGOptions().decay(1.0).critical_test(1.0)));
  EXPECT_EQ(AdamCMOptions().topC(), 5);  // official defaults
  EXPECT_EQ(AdamCGOptions().topC(), 10);
  EXPECT_EQ(AdamCGOptions().decay(), 0.7);
  EXPECT_TRUE(AdamCGOptions().synced());
}

// ---------------------------------------------------------------------------------------------
// Kernels

TEST(AdamCritical, FusedKernelMatchesTensorPath) {
  for (bool momenta : {true, false}) {
    for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
      torch::manual_seed(7);
      const int64_t n = 70001;  // > GRAIN_SIZE: exercises the parallel split
      auto i1 = torch::randn({n}, dtype), i2 = torch::randn({37}, dtype);
      auto p1 = std::vector<torch::Tensor>{i1.clone(), i2.clone()}, p2 = std::vector<torch::Tensor>{i1.clone(), i2.clone()};
      RefCritical c = base(momenta, 3, true, 0.1);
      c.wd = 0.01;
      c.amsgrad = dtype == torch::kFloat64;
      c.critical_test = 0.3;
      auto a = make(c, p1), b = make(c, p2);
      step_fused_and_tensor(*a, *b, 10, [&](int64_t t) {
        for (size_t i = 0; i < 2; ++i) {
          // norms vary a lot between steps so that the full buffer both keeps and replaces
          auto g = torch::randn_like(p1[i]) * (1.0 + 0.9 * std::sin(0.37 * double(t * t)));
          p1[i].mutable_grad() = g.clone();
          p2[i].mutable_grad() = g.clone();
        }
      });
      const double tol = dtype == torch::kFloat32 ? kRelTolFloatSameMath : kRelTolDoubleSameMath;
      for (size_t i = 0; i < 2; ++i) {
        EXPECT_LE(max_rel_diff(p1[i], p2[i]), tol) << momenta << dtype;
        const auto &sa = state_of(*a, p1[i]), &sb = state_of(*b, p2[i]);
        EXPECT_EQ(sa.buffer.keys(), sb.buffer.keys());
        EXPECT_LE(max_rel_diff(sa.buffer.aggr_sum(), sb.buffer.aggr_sum()), tol);
      }
      EXPECT_GT((p1[0] - i1).abs().max().item<double>(), 0.0);
    }
  }
}

TEST(AdamCritical, ResultDoesNotDependOnThreadCount) {
  const int saved = at::get_num_threads();
  std::vector<torch::Tensor> results;
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    torch::manual_seed(3);
    auto p = torch::randn({200000}, torch::kFloat32);
    AdamCM opt(std::vector<torch::Tensor>{p}, AdamCMOptions(0.1).topC(2).synced(false));
    for (int t = 0; t < 6; ++t) {
      p.mutable_grad() = torch::randn({200000}, torch::kFloat32) * (1.0 + 0.9 * std::sin(0.37 * t * t));
      opt.step();
    }
    results.push_back(p.clone());
    results.push_back(torch::tensor(opt.param_state(p)->buffer.keys(), torch::kFloat64));
  }
  at::set_num_threads(saved);
  EXPECT_TRUE(torch::equal(results[0], results[2]));
  EXPECT_TRUE(torch::equal(results[1], results[3]));
}

TEST(AdamCritical, GradNormIsTheL2NormInDouble) {
  torch::manual_seed(5);
  for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
    for (int64_t n : {1, 7, 8, 9, 16384, 16385, 100001}) {
      auto g = torch::randn({n}, dtype);
      const double ref = g.to(torch::kFloat64).norm().item<double>();
      EXPECT_NEAR(optim::critical_grad_norm(g), ref, 1e-12 * ref) << n;
    }
    auto m = torch::randn({300, 7}, dtype).t();  // non-contiguous: the torch fallback
    EXPECT_NEAR(optim::critical_grad_norm(m), m.to(torch::kFloat64).norm().item<double>(), 1e-13);
  }
}

// ---------------------------------------------------------------------------------------------
// Registry / optim-replay

TEST(AdamCritical, ReplayFollowsTheReference) {
  for (const char* name : {"adam_cm", "adam_cg"}) {
    const bool momenta = std::string(name) == "adam_cm";
    nlohmann::json spec = {{"optimizer", name},
                           {"options", {{"lr", 0.05}, {"topC", 2}, {"decay", 0.8}, {"critical_test", 0.5}, {"seed", 11}}},
                           {"params", {{1.0, -2.0, 0.5}, {0.3, 0.2}}},
                           {"steps", 15},
                           {"quadratic", {{"a", {{1.0, 2.0, 3.0}, {0.5, 0.5}}}, {"c", {{0, 0, 0}, {1, 1}}}}}};
    const auto r = optim::replay(spec);
    RefCritical c = base(momenta, 2, true, 0.05);
    c.decay = 0.8;
    c.critical_test = 0.5;
    c.seed = 11;
    const std::vector<std::vector<double>> a = {{1.0, 2.0, 3.0}, {0.5, 0.5}}, cc = {{0, 0, 0}, {1, 1}};
    RefEvents ev;
    const auto ref = ref_critical(c, {{1.0, -2.0, 0.5}, {0.3, 0.2}}, 15,
                                  [&](int64_t, size_t i, size_t j, double th) { return a[i][j] * (th - cc[i][j]); }, &ev);
    EXPECT_GT(ev.fifo, 0);
    ASSERT_EQ(r.rows.size(), 16u);
    for (size_t t = 0; t <= 15; ++t) {
      for (size_t j = 0; j < 5; ++j) EXPECT_NEAR(r.rows[t][1 + j], ref[t][j], kRelTolDouble) << name << " " << t;
    }
    EXPECT_EQ(r.resolved["resolved_options"][0]["topC"].get<int64_t>(), 2);
  }
}

TEST(AdamCritical, RegistryDefaultsAndUnknownOptions) {
  auto p = torch::ones({2}, torch::kFloat64);
  const auto cm = optim::resolved_options("adam_cm", *optim::make_optimizer("adam_cm", nlohmann::json::object(), std::vector<torch::Tensor>{p}));
  const auto cg = optim::resolved_options("adam_cg", *optim::make_optimizer("adam_cg", nlohmann::json::object(), std::vector<torch::Tensor>{p}));
  EXPECT_EQ(cm[0]["topC"].get<int64_t>(), 5);
  EXPECT_EQ(cg[0]["topC"].get<int64_t>(), 10);
  EXPECT_EQ(cm[0]["decay"].get<double>(), 0.7);
  EXPECT_EQ(cm[0]["synced"].get<bool>(), true);
  EXPECT_EQ(cm[0]["critical_test"].get<double>(), 0.0);
  EXPECT_THROW(optim::make_optimizer("adam_cm", {{"topc", 3}}, std::vector<torch::Tensor>{p}), common::InputError);
  EXPECT_THROW(optim::make_optimizer("adam_cm", {{"buffer_dtype", "float16"}}, std::vector<torch::Tensor>{p}),
               common::InputError);
  EXPECT_THROW(optim::make_optimizer("adam_cg", {{"kappa", 0}}, std::vector<torch::Tensor>{p}), common::InputError);
}

}  // namespace
}  // namespace flatmin::test
