#pragma once
/// \file
/// BatchNorm2d that can take its batch statistics over every data-parallel rank (SyncBN).
///
/// Every model in models.cpp builds its BatchNorm layers from this class. It is torch::nn::BatchNorm2d
/// restated (same parameters and buffers in the same order and under the same names, so the same
/// checkpoints; the same at::batch_norm call, so bit-identical results; it cannot derive from
/// BatchNorm2dImpl, whose base's pretty_print LibTorch does not export). Only in training mode with
/// a communicator of several ranks attached does its forward
/// differ: the per-channel sum, sum of squares and count (from each rank's own mean and variance, in
/// float64 only for the C-sized statistics) are summed over the ranks with a
/// differentiable all-reduce (its backward sums the gradients of those statistics over the ranks),
/// so W ranks holding shards of a global batch normalise exactly as one process holding the whole
/// batch does, and the running statistics agree on every rank. Without a communicator (the
/// default) it is plain BatchNorm2d: the per-rank statistics of DDP and of the official code's
/// nn.DataParallel.
#include <memory>

#include <ostream>

#include <torch/nn/cloneable.h>
#include <torch/nn/options/batchnorm.h>

namespace flatmin::dist {
class Communicator;
}

namespace flatmin::models {

class SyncableBatchNorm2dImpl : public torch::nn::Cloneable<SyncableBatchNorm2dImpl> {
 public:
  explicit SyncableBatchNorm2dImpl(int64_t num_features) : SyncableBatchNorm2dImpl(torch::nn::BatchNormOptions(num_features)) {}
  explicit SyncableBatchNorm2dImpl(const torch::nn::BatchNormOptions& o);

  torch::Tensor forward(const torch::Tensor& x);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  torch::nn::BatchNormOptions options;
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

  /// Batch statistics over the ranks of `comm` in training mode (nullptr: this rank's own).
  void set_communicator(std::shared_ptr<dist::Communicator> comm) { comm_ = std::move(comm); }

 private:
  std::shared_ptr<dist::Communicator> comm_;
};
TORCH_MODULE(SyncableBatchNorm2d);

/// Attaches `comm` to every SyncableBatchNorm2d in `model` (nullptr detaches); returns how many.
int64_t sync_batchnorm(torch::nn::Module& model, const std::shared_ptr<dist::Communicator>& comm);

}  // namespace flatmin::models
