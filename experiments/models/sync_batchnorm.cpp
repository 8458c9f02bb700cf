#include "experiments/models/sync_batchnorm.h"

#include <torch/autograd.h>
#include <torch/torch.h>

#include "common/dist/communicator.h"
#include "common/error.h"

namespace flatmin::models {

namespace {

/// y = Σ_ranks x; dL/dx = Σ_ranks dL/dy (every rank's loss depends on the global sum).
struct AllReduceSum : torch::autograd::Function<AllReduceSum> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, int64_t comm) {
    ctx->saved_data["comm"] = comm;
    std::vector<torch::Tensor> v{x.clone()};
    reinterpret_cast<dist::Communicator*>(comm)->allreduce_sum(v);
    return v[0];
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    auto* comm = reinterpret_cast<dist::Communicator*>(ctx->saved_data["comm"].toInt());
    std::vector<torch::Tensor> v{grad[0].contiguous().clone()};
    comm->allreduce_sum(v);
    return {v[0], torch::Tensor()};
  }
};

}  // namespace

SyncableBatchNorm2dImpl::SyncableBatchNorm2dImpl(const torch::nn::BatchNormOptions& o) : options(o) { reset(); }

void SyncableBatchNorm2dImpl::reset() {  // torch::nn::BatchNormImplBase::reset, same order and names
  const int64_t c = options.num_features();
  if (options.affine()) {
    weight = register_parameter("weight", torch::empty({c}));
    bias = register_parameter("bias", torch::empty({c}));
  } else {
    weight = register_parameter("weight", torch::Tensor(), /*requires_grad=*/false);
    bias = register_parameter("bias", torch::Tensor(), /*requires_grad=*/false);
  }
  if (options.track_running_stats()) {
    running_mean = register_buffer("running_mean", torch::zeros({c}));
    running_var = register_buffer("running_var", torch::ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", torch::tensor(0, torch::dtype(torch::kLong)));
  } else {
    running_mean = register_buffer("running_mean", torch::Tensor());
    running_var = register_buffer("running_var", torch::Tensor());
    num_batches_tracked = register_buffer("num_batches_tracked", torch::Tensor());
  }
  reset_parameters();
}

void SyncableBatchNorm2dImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  if (options.track_running_stats()) {
    running_mean.zero_();
    running_var.fill_(1);
    num_batches_tracked.zero_();
  }
  if (options.affine()) {
    weight.fill_(1);
    bias.zero_();
  }
}

void SyncableBatchNorm2dImpl::pretty_print(std::ostream& stream) const {
  stream << std::boolalpha << "torch::nn::BatchNorm2d(" << options.num_features() << ", eps=" << options.eps()
         << ", momentum=";
  if (options.momentum().has_value()) {
    stream << *options.momentum();
  } else {
    stream << "None";
  }
  stream << ", affine=" << options.affine() << ", track_running_stats=" << options.track_running_stats()
         << (comm_ ? ", sync" : "") << ")";
}

torch::Tensor SyncableBatchNorm2dImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4, "BatchNorm2d: expected 4D input (got ", x.dim(), "D input)");
  if (!is_training() || !comm_ || !comm_->distributed()) {
    // torch::nn::BatchNormImplBase::forward, line for line
    double factor = options.momentum().has_value() ? *options.momentum() : 0.0;
    if (is_training() && options.track_running_stats() && num_batches_tracked.defined()) {
      num_batches_tracked += 1;
      factor = options.momentum().has_value() ? *options.momentum() : 1.0 / num_batches_tracked.item<double>();
    }
    return torch::batch_norm(x, weight, bias, running_mean, running_var, is_training() || !options.track_running_stats(),
                             factor, options.eps(), at::globalContext().userEnabledCuDNN());
  }
  const int64_t C = x.size(1);
  // Per rank: mean and variance per channel in x's dtype (ATen's two-pass var_mean, on the device);
  // then only the C-sized statistics go to float64, as Σx = n·mean and Σx² = n·(var + mean²), and are
  // summed over ranks. So no activation-sized float64 copy (slow on GPUs), and E[x²] − E[x]² is
  // formed from accurate per-rank moments in double.
  const double n_local = double(x.size(0) * x.size(2) * x.size(3));
  const auto [var_r, mean_r] = torch::var_mean(x, {0, 2, 3}, /*unbiased=*/false, /*keepdim=*/false);
  const auto md = mean_r.to(torch::kDouble), vd = var_r.to(torch::kDouble);
  const auto local = torch::cat({md * n_local, (vd + md * md) * n_local, torch::full({1}, n_local, md.options())});
  const auto global = AllReduceSum::apply(local, reinterpret_cast<int64_t>(comm_.get()));
  const double n = global[2 * C].item<double>();
  FLATMIN_CHECK(n > 1, "SyncBatchNorm2d: " << n << " values per channel over all ranks (needs > 1)");
  const auto mean = global.slice(0, 0, C) / n;
  const auto var = global.slice(0, C, 2 * C) / n - mean * mean;  // biased, as BN normalises with
  const auto& o = options;
  auto scale = torch::rsqrt(var + o.eps());
  auto shift = -mean * scale;
  if (o.affine()) {
    scale = scale * weight.to(torch::kDouble);
    shift = shift * weight.to(torch::kDouble) + bias.to(torch::kDouble);
  }
  const auto y = x * scale.to(x.scalar_type()).view({1, C, 1, 1}) + shift.to(x.scalar_type()).view({1, C, 1, 1});
  if (o.track_running_stats()) {
    torch::NoGradGuard no_grad;
    num_batches_tracked += 1;
    const double m = o.momentum().has_value() ? *o.momentum() : 1.0 / num_batches_tracked.item<double>();
    running_mean.mul_(1 - m).add_(mean.detach().to(running_mean.scalar_type()), m);
    running_var.mul_(1 - m).add_((var.detach() * (n / (n - 1))).to(running_var.scalar_type()), m);
  }
  return y;
}

int64_t sync_batchnorm(torch::nn::Module& model, const std::shared_ptr<dist::Communicator>& comm) {
  int64_t n = 0;
  for (const auto& m : model.modules(/*include_self=*/true)) {
    if (auto* bn = m->as<SyncableBatchNorm2dImpl>()) {
      bn->set_communicator(comm);
      ++n;
    }
  }
  return n;
}

}  // namespace flatmin::models
