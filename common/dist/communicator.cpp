#include "common/dist/communicator.h"

#include <cstdlib>
#include <map>
#include <regex>

#include <cstring>

#include <torch/torch.h>
#ifdef FLATMIN_HAVE_GLOO
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

#include "common/error.h"

namespace flatmin::dist {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

int env_int(const char* name, const std::string& value) {
  try {
    size_t pos = 0;
    const int x = std::stoi(value, &pos);
    FLATMIN_CHECK(pos == value.size(), "");
    return x;
  } catch (...) {
    throw common::InputError(std::string("environment variable ") + name + " = '" + value + "' is not an integer");
  }
}

class LocalCommunicator final : public Communicator {
 public:
  LocalCommunicator() : Communicator(0, 1) {}
  void allreduce_sum(std::vector<at::Tensor>&) override {}
  void broadcast(std::vector<at::Tensor>&, int) override {}
  void barrier() override {}
};

#ifdef FLATMIN_HAVE_GLOO
class C10dCommunicator final : public Communicator {
 public:
  C10dCommunicator(int rank, int world, c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<c10d::ProcessGroup> pg)
      : Communicator(rank, world), store_(std::move(store)), pg_(std::move(pg)) {}

  void allreduce_sum(std::vector<at::Tensor>& tensors) override {
    // c10d reads a tensor list as replicas of ONE tensor (one per device), so the list is packed:
    // one flat buffer per dtype, one collective per buffer, then unpacked in place.
    std::map<at::ScalarType, std::vector<size_t>> by_type;
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (tensors[i].defined() && tensors[i].numel() > 0) by_type[tensors[i].scalar_type()].push_back(i);
    }
    for (const auto& [type, idx] : by_type) {
      std::vector<at::Tensor> flat;
      for (size_t i : idx) flat.push_back(tensors[i].reshape({-1}));
      std::vector<at::Tensor> buffer{torch::cat(flat)};
      c10d::AllreduceOptions o;
      o.reduceOp = c10d::ReduceOp::SUM;
      pg_->allreduce(buffer, o)->wait();
      int64_t offset = 0;
      for (size_t i : idx) {
        const int64_t n = tensors[i].numel();
        tensors[i].copy_(buffer[0].narrow(0, offset, n).view(tensors[i].sizes()));
        offset += n;
      }
    }
  }
  void broadcast(std::vector<at::Tensor>& tensors, int root) override {
    for (auto& t : tensors) {  // one collective per tensor (c10d's list = replicas of one tensor)
      if (!t.defined() || t.numel() == 0) continue;
      std::vector<at::Tensor> one{t.is_contiguous() ? t : t.contiguous()};
      c10d::BroadcastOptions o;
      o.rootRank = root;
      pg_->broadcast(one, o)->wait();
      if (!one[0].is_same(t)) t.copy_(one[0]);
    }
  }
  void barrier() override { pg_->barrier()->wait(); }

 private:
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> pg_;
};
#endif

}  // namespace

void validate(const DistOptions& o) {
  FLATMIN_CHECK(o.world_size >= 1, "distributed: world size = " << o.world_size << " must be >= 1");
  FLATMIN_CHECK(o.rank >= 0 && o.rank < o.world_size,
                "distributed: rank = " << o.rank << " must be in [0, world size = " << o.world_size << ")");
  FLATMIN_CHECK(o.backend == "auto" || o.backend == "gloo" || o.backend == "nccl",
                "distributed: backend '" << o.backend << "' is not one of auto, gloo, nccl");
  if (o.world_size > 1) {
    static const std::regex tcp(R"(tcp://([^:/]+):([0-9]{1,5}))");
    const bool file = o.init.rfind("file://", 0) == 0 && o.init.size() > 7;
    FLATMIN_CHECK(file || std::regex_match(o.init, tcp),
                  "distributed: init '" << o.init << "' must be file:///path or tcp://host:port for world size "
                                        << o.world_size);
  }
  FLATMIN_CHECK(o.timeout.count() > 0, "distributed: timeout must be > 0");
}

DistOptions options_from_env() {
  DistOptions o;
  if (!env("FLATMIN_WORLD_SIZE").empty()) {
    o.world_size = env_int("FLATMIN_WORLD_SIZE", env("FLATMIN_WORLD_SIZE"));
    o.rank = env("FLATMIN_RANK").empty() ? 0 : env_int("FLATMIN_RANK", env("FLATMIN_RANK"));
    o.init = env("FLATMIN_DIST_INIT");
  } else if (!env("WORLD_SIZE").empty()) {  // torchrun / torch.distributed.launch
    o.world_size = env_int("WORLD_SIZE", env("WORLD_SIZE"));
    o.rank = env("RANK").empty() ? 0 : env_int("RANK", env("RANK"));
    const std::string addr = env("MASTER_ADDR").empty() ? "127.0.0.1" : env("MASTER_ADDR");
    const std::string port = env("MASTER_PORT").empty() ? "29500" : env("MASTER_PORT");
    o.init = "tcp://" + addr + ":" + port;
  }
  validate(o);
  return o;
}

std::shared_ptr<Communicator> Communicator::local() { return std::make_shared<LocalCommunicator>(); }

std::shared_ptr<Communicator> Communicator::create(const DistOptions& o) {
  validate(o);
  if (o.world_size == 1) return local();
  FLATMIN_CHECK(o.backend != "nccl", "distributed: the nccl backend is not built into this LibTorch's flatmin; use gloo");
#ifndef FLATMIN_HAVE_GLOO
  throw common::InputError("distributed: world size " + std::to_string(o.world_size) +
                           " needs c10d Gloo, and this build has none (install libgloo-dev and reconfigure)");
#else
  c10::intrusive_ptr<c10d::Store> store;
  if (o.init.rfind("file://", 0) == 0) {
    store = c10::make_intrusive<c10d::FileStore>(o.init.substr(7), o.world_size);
  } else {
    static const std::regex tcp(R"(tcp://([^:/]+):([0-9]{1,5}))");
    std::smatch m;
    std::regex_match(o.init, m, tcp);
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(std::stoi(m[2].str()));
    so.isServer = o.rank == 0;
    so.numWorkers = static_cast<size_t>(o.world_size);
    so.timeout = o.timeout;
    store = c10::make_intrusive<c10d::TCPStore>(m[1].str(), so);
  }
  store->setTimeout(o.timeout);
  auto gopts = c10d::ProcessGroupGloo::Options::create();
  gopts->timeout = o.timeout;
  gopts->devices.push_back(o.gloo_hostname.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                                   : c10d::ProcessGroupGloo::createDeviceForHostname(o.gloo_hostname));
  auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, o.rank, o.world_size, gopts);
  return std::make_shared<C10dCommunicator>(o.rank, o.world_size, store, pg);
#endif
}

void Communicator::allreduce_sum(double* values, size_t n) {
  if (!distributed() || n == 0) return;
  auto t = torch::from_blob(values, {static_cast<int64_t>(n)}, torch::kFloat64).clone();
  std::vector<at::Tensor> v{t};
  allreduce_sum(v);
  std::memcpy(values, t.data_ptr<double>(), n * sizeof(double));
}

void Communicator::allreduce_grads(const std::vector<at::Tensor>& params) {
  if (!distributed()) return;
  std::vector<at::Tensor> grads;
  grads.reserve(params.size());
  for (const auto& p : params) {
    if (!p.grad().defined()) const_cast<at::Tensor&>(p).mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  allreduce_sum(grads);
}

std::pair<int64_t, int64_t> Communicator::shard(int64_t n) const {
  const int64_t w = world_size_, r = rank_;
  const int64_t base = n / w, extra = n % w;
  const int64_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

}  // namespace flatmin::dist
