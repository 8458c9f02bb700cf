#pragma once
/// \file
/// Data-parallel training over torch's c10d process groups: Gloo over TCP (loopback or a cluster
/// network), rendezvous through a c10d FileStore on a shared path. (NCCL for CUDA needs a CUDA LibTorch
/// build with c10d NCCL; Debian's CPU LibTorch has Gloo only.)
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace flatmin::train {

class Collective {
 public:
  /// Joins the group of `world` ranks as `rank`; `store_file` must be the same path for all ranks and
  /// must not hold a stale store of an earlier run. `hostname` is the address this rank binds to.
  Collective(int rank, int world, const std::string& store_file, const std::string& hostname = "127.0.0.1");
  ~Collective();
  Collective(const Collective&) = delete;
  Collective& operator=(const Collective&) = delete;

  int rank() const { return rank_; }
  int world() const { return world_; }

  /// In-place sum over ranks of one contiguous CPU tensor.
  void allreduce_sum(at::Tensor& t);
  /// Sums the gradients of `params` over ranks (one flattened buffer; a missing grad counts as zero).
  void allreduce_grads(const std::vector<at::Tensor>& params);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, world_ = 1;
};

}  // namespace flatmin::train
