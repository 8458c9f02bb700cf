#include "experiments/train/distributed.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/torch.h>

#include "common/error.h"

namespace flatmin::train {

struct Collective::Impl {
  c10::intrusive_ptr<::c10d::ProcessGroupGloo> pg;
};

Collective::Collective(int rank, int world, const std::string& store_file, const std::string& hostname)
    : impl_(std::make_unique<Impl>()), rank_(rank), world_(world) {
  FLATMIN_CHECK(world >= 1 && rank >= 0 && rank < world, "distributed: rank " << rank << " of world size " << world << " is invalid");
  FLATMIN_CHECK(!store_file.empty(), "distributed: --dist-store (a file path shared by all ranks) is required with --world-size > 1");
  auto store = c10::make_intrusive<::c10d::FileStore>(store_file, world);
  auto opts = ::c10d::ProcessGroupGloo::Options::create();
  opts->devices.push_back(::c10d::ProcessGroupGloo::createDeviceForHostname(hostname));
  opts->threads = 1;
  impl_->pg = c10::make_intrusive<::c10d::ProcessGroupGloo>(store, rank, world, opts);
}

Collective::~Collective() = default;

void Collective::allreduce_sum(at::Tensor& t) {
  std::vector<at::Tensor> v = {t};
  impl_->pg->allreduce(v)->wait();
}

void Collective::allreduce_grads(const std::vector<at::Tensor>& params) {
  std::vector<at::Tensor> flat;
  for (const auto& p : params) {
    flat.push_back(p.grad().defined() ? p.grad().reshape(-1) : torch::zeros({p.numel()}, p.options()));
  }
  auto buf = torch::cat(flat);
  allreduce_sum(buf);
  int64_t off = 0;
  for (const auto& p : params) {
    auto g = buf.narrow(0, off, p.numel()).view(p.sizes());
    if (p.grad().defined()) {
      p.grad().copy_(g);
    } else {
      p.mutable_grad() = g.clone();
    }
    off += p.numel();
  }
}

}  // namespace flatmin::train
