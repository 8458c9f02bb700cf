#include "optim/critical_buffer.h"

#include <cmath>
#include <string>

#include <torch/torch.h>

#include "common/error.h"
#include "optim/optimizer_base.h"

namespace flatmin::optim {

using rules::CriticalMode;

int64_t critical_argmin(const std::vector<double>& keys) {
  int64_t best = 0;
  for (size_t j = 1; j < keys.size(); ++j) {
    const double b = keys[static_cast<size_t>(best)], k = keys[j];
    if (std::isnan(b)) break;
    if (std::isnan(k) || k < b) best = static_cast<int64_t>(j);
  }
  return best;
}

CriticalBuffer::CriticalBuffer(const torch::Tensor& like, int64_t capacity, double decay)
    : aggr_sum_(zeros_state(like)), capacity_(capacity), decay_(decay) {}

CriticalBuffer::Plan CriticalBuffer::plan(double priority, const std::function<bool()>& fifo) {
  const auto count = static_cast<int64_t>(items_.size());  // size() before this step's insertion
  if (count < capacity_) {  // the first item, or an append
    items_.push_back(torch::empty_like(aggr_sum_, torch::MemoryFormat::Contiguous));
    keys_.push_back(priority);
    return {count == 0 ? CriticalMode::kFirst : CriticalMode::kAppend, items_.back(), count};
  }
  // Full. np.random.uniform() >= critical_test → priority mode; else the official "FIFO" mode:
  // overwrite the slot remembered by the last poke_smallest() (0 if there was none).
  if (!fifo()) {
    smallest_ = critical_argmin(keys_);  // poke_smallest() remembers the index even if nothing is replaced
    if (!(priority > keys_[static_cast<size_t>(smallest_)])) return {CriticalMode::kKeep, torch::Tensor(), count};
  }
  keys_[static_cast<size_t>(smallest_)] = priority;
  return {CriticalMode::kReplace, items_[static_cast<size_t>(smallest_)], count};
}

void CriticalBuffer::age() {
  for (auto& k : keys_) k *= decay_;
}

void CriticalBuffer::save(torch::serialize::OutputArchive& archive) const {
  archive.write("aggr_sum", aggr_sum_);
  archive.write("smallest", c10::IValue(smallest_));
  archive.write("capacity", c10::IValue(capacity_));
  archive.write("decay", c10::IValue(decay_));
  // Priorities as a float64 tensor (exact); items one entry each.
  archive.write("keys", torch::tensor(keys_, torch::dtype(torch::kFloat64)));
  archive.write("items/size", c10::IValue(static_cast<int64_t>(items_.size())));
  for (size_t j = 0; j < items_.size(); ++j) archive.write("items/" + std::to_string(j), items_[j]);
}

void CriticalBuffer::load(torch::serialize::InputArchive& archive) {
  c10::IValue v;
  archive.read("aggr_sum", aggr_sum_);
  archive.read("smallest", v);
  smallest_ = v.toInt();
  archive.read("capacity", v);
  capacity_ = v.toInt();
  archive.read("decay", v);
  decay_ = v.toDouble();
  torch::Tensor k;
  archive.read("keys", k);
  k = k.to(torch::kCPU, torch::kFloat64).contiguous();
  keys_.assign(k.data_ptr<double>(), k.data_ptr<double>() + k.numel());
  archive.read("items/size", v);
  items_.assign(static_cast<size_t>(v.toInt()), torch::Tensor());
  for (size_t j = 0; j < items_.size(); ++j) archive.read("items/" + std::to_string(j), items_[j]);
}

void CriticalBuffer::adopt(const torch::Tensor& p, const std::string& who) {
  FLATMIN_CHECK(aggr_sum_.defined(), "optimizer checkpoint: " << who << " state lacks the buffer sum");
  FLATMIN_CHECK(capacity_ >= 1 && !items_.empty() && static_cast<int64_t>(items_.size()) <= capacity_ &&
                    keys_.size() == items_.size() && smallest_ >= 0 && smallest_ < capacity_,
                "optimizer checkpoint: inconsistent " << who << " buffer (" << items_.size() << " items, "
                                                      << keys_.size() << " priorities, capacity " << capacity_ << ")");
  aggr_sum_ = adopt_state_tensor(aggr_sum_, p, who + " aggr_sum");
  for (size_t j = 0; j < items_.size(); ++j) items_[j] = adopt_state_tensor(items_[j], p, who + " buffer item " + std::to_string(j));
}

}  // namespace flatmin::optim
