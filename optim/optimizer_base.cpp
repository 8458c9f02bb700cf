#include "optim/optimizer_base.h"

#include <atomic>
#include <set>
#include <sstream>

#include "common/error.h"

namespace flatmin::optim {

namespace {
std::atomic<KernelPath> g_kernel_path{KernelPath::kAuto};
constexpr int64_t kFormatVersion = 1;
}  // namespace

void set_kernel_path(KernelPath path) { g_kernel_path = path; }
KernelPath kernel_path() { return g_kernel_path; }

bool fused_eligible(const torch::Tensor& p, const torch::Tensor& g, c10::ArrayRef<torch::Tensor> state) {
  if (g_kernel_path.load() == KernelPath::kTensor) return false;
  const auto dtype = p.scalar_type();
  if (dtype != torch::kFloat && dtype != torch::kDouble) return false;
  auto ok = [&](const torch::Tensor& t) {
    return !t.defined() || (t.device().is_cpu() && t.scalar_type() == dtype && t.is_contiguous() &&
                            !t.is_sparse() && t.numel() == p.numel());
  };
  if (!ok(p) || !ok(g) || !g.defined()) return false;
  for (const auto& t : state) {
    if (!ok(t)) return false;
  }
  return true;
}

torch::Tensor OptimizerBase::run_closure(const LossClosure& closure) {
  if (closure == nullptr) return {};
  at::AutoGradMode enable_grad(true);
  return closure();
}

void OptimizerBase::set_epoch(int64_t epoch) {
  FLATMIN_CHECK(epoch >= 0, "set_epoch: epoch = " << epoch << " must be >= 0 (epochs are 1-based)");
  epoch_ = epoch;
}

void OptimizerBase::check_new_group(const std::vector<torch::Tensor>& params) const {
  std::set<const void*> seen;
  for (const auto& g : param_groups_) {
    for (const auto& p : g.params()) seen.insert(p.unsafeGetTensorImpl());
  }
  for (const auto& p : params) {
    FLATMIN_CHECK(p.is_leaf(), "add_param_group: can't optimize a non-leaf Tensor");
    FLATMIN_CHECK(seen.insert(p.unsafeGetTensorImpl()).second,
                  "add_param_group: some parameters appear in more than one parameter group");
  }
}

void OptimizerBase::save_extra(torch::serialize::OutputArchive& archive) const {
  archive.write("flatmin/epoch", c10::IValue(epoch_));
}

void OptimizerBase::load_extra(torch::serialize::InputArchive& archive) {
  c10::IValue v;
  archive.read("flatmin/epoch", v);
  epoch_ = v.toInt();
}

void OptimizerBase::write_layout(torch::serialize::OutputArchive& archive,
                                 const std::string& kind) const {
  archive.write("flatmin/format", c10::IValue(kFormatVersion));
  archive.write("flatmin/kind", c10::IValue(kind));
  archive.write("flatmin/groups", c10::IValue(static_cast<int64_t>(param_groups_.size())));
  for (size_t i = 0; i < param_groups_.size(); ++i) {
    std::vector<int64_t> numels;
    for (const auto& p : param_groups_[i].params()) numels.push_back(p.numel());
    archive.write("flatmin/numel/" + std::to_string(i), c10::IValue(numels));
  }
}

void OptimizerBase::check_layout(torch::serialize::InputArchive& archive, const std::string& kind) {
  c10::IValue v;
  FLATMIN_CHECK(archive.try_read("flatmin/format", v),
                "optimizer checkpoint is not a flatmin optimizer state (no flatmin/format entry)");
  FLATMIN_CHECK(v.toInt() == kFormatVersion, "optimizer checkpoint format " << v.toInt()
                                                 << " is not supported (expected " << kFormatVersion << ")");
  archive.read("flatmin/kind", v);
  FLATMIN_CHECK(v.toStringRef() == kind, "optimizer checkpoint holds a '" << v.toStringRef()
                                             << "' state, but the optimizer is '" << kind << "'");
  archive.read("flatmin/groups", v);
  FLATMIN_CHECK(v.toInt() == static_cast<int64_t>(param_groups_.size()),
                "optimizer checkpoint has " << v.toInt() << " parameter groups, the optimizer has "
                                            << param_groups_.size());
  for (size_t i = 0; i < param_groups_.size(); ++i) {
    archive.read("flatmin/numel/" + std::to_string(i), v);
    const auto saved = v.toIntVector();
    const auto& params = param_groups_[i].params();
    FLATMIN_CHECK(saved.size() == params.size(), "optimizer checkpoint group " << i << " has "
                                                     << saved.size() << " parameters, the optimizer has "
                                                     << params.size());
    for (size_t j = 0; j < params.size(); ++j) {
      FLATMIN_CHECK(saved[j] == params[j].numel(), "optimizer checkpoint group " << i << " parameter "
                                                       << j << " has " << saved[j]
                                                       << " elements, the model has " << params[j].numel());
    }
  }
}

torch::serialize::InputArchive OptimizerBase::read_group(torch::serialize::InputArchive& archive,
                                                         size_t i) {
  torch::serialize::InputArchive g;
  archive.read("group/" + std::to_string(i), g);
  return g;
}

void set_epoch(torch::optim::Optimizer& optimizer, int64_t epoch) {
  if (auto* base = dynamic_cast<OptimizerBase*>(&optimizer)) base->set_epoch(epoch);
}

void check_state_tensor(const torch::Tensor& t, const torch::Tensor& p, const std::string& what) {
  if (!t.defined()) return;
  FLATMIN_CHECK(t.sizes() == p.sizes(), "optimizer checkpoint: " << what << " has shape " << t.sizes()
                                                                 << ", the parameter has " << p.sizes());
  FLATMIN_CHECK(t.scalar_type() == p.scalar_type(),
                "optimizer checkpoint: " << what << " has dtype " << t.scalar_type()
                                         << ", the parameter has " << p.scalar_type());
}

torch::Tensor adopt_state_tensor(const torch::Tensor& t, const torch::Tensor& p, const std::string& what) {
  if (!t.defined()) return t;
  torch::Tensor out = t.to(p.device()).contiguous();
  check_state_tensor(out, p, what);
  return out;
}

}  // namespace flatmin::optim
