#pragma once
/// \file
/// The critical buffer of Adam+CM / Adam+CG (optim/adam_cm.h): one per parameter tensor, the
/// official TensorList (chandar-lab/CMOptimizer@bdc7731 prioritydict.py). At most `capacity` items
/// (momenta or gradients) with priorities (the step's gradient norm), their running sum kept
/// incrementally (`aggr_sum`), and the slot found by the last priority search (`smallest`).
///
/// Per step: plan() says where this step's item goes — the first item (empty buffer), an append
/// (not full), a replacement of the minimum-priority slot when the new priority is larger (priority
/// mode), no insertion (priority mode, not larger), or — FIFO mode, drawn with probability
/// critical_test — the slot of the LAST priority search (a stale index, as the official code);
/// the rule (rules/adam_cm_rule.h) then writes the item and the sum; age() multiplies every
/// priority by `decay`. Checkpoint keys are those of the optimizer state (aggr_sum, smallest,
/// capacity, decay, keys, items/size, items/<j>).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/serialize/archive.h>
#include <torch/types.h>

#include "rules/adam_cm_rule.h"

namespace flatmin::optim {

class CriticalBuffer {
 public:
  /// Where this step's item goes: the rule's mode, the item tensor to write (undefined for kKeep),
  /// and `count`, the number of items before this step's insertion (the rule's n).
  struct Plan {
    rules::CriticalMode mode;
    torch::Tensor item;
    int64_t count;
  };

  CriticalBuffer() = default;
  /// An empty buffer for tensors like `like` (aggr_sum = 0).
  CriticalBuffer(const torch::Tensor& like, int64_t capacity, double decay);

  /// Decides this step's insertion for priority `priority` and makes room for it (the item slot
  /// and its priority are in place when plan() returns; the rule fills the item). `fifo()` is
  /// called only when the buffer is full and says whether this step takes the FIFO mode.
  Plan plan(double priority, const std::function<bool()>& fifo);
  /// TensorList.decay(): every priority × decay.
  void age();

  const std::vector<torch::Tensor>& items() const { return items_; }
  const std::vector<double>& keys() const { return keys_; }
  const torch::Tensor& aggr_sum() const { return aggr_sum_; }
  int64_t smallest() const { return smallest_; }
  int64_t capacity() const { return capacity_; }
  double decay() const { return decay_; }
  bool empty() const { return items_.empty(); }

  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);
  /// Moves loaded tensors to p's device and checks them and the buffer's consistency
  /// (InputError naming `who` on a mismatch).
  void adopt(const torch::Tensor& p, const std::string& who);

 private:
  std::vector<torch::Tensor> items_;  ///< TensorList._heap[0..curr_k)
  std::vector<double> keys_;          ///< _heap_key, decayed every step
  torch::Tensor aggr_sum_;            ///< Σ items, kept incrementally by the rule
  int64_t smallest_ = 0;              ///< index of the last poke_smallest()
  int64_t capacity_ = 0;              ///< K = topC at creation (TensorList.k)
  double decay_ = 0.0;                ///< decay at creation (TensorList.decay_rate)
};

/// TensorList.poke_smallest(): index of the first minimum (torch.argmin; a NaN counts as the minimum).
int64_t critical_argmin(const std::vector<double>& keys);

}  // namespace flatmin::optim
