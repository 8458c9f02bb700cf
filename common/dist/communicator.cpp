#include "common/dist/communicator.h"

#include <cstdlib>
#include <map>
#include <regex>

#include <cstring>

#include <torch/torch.h>
#if defined(FLATMIN_HAVE_GLOO) || defined(FLATMIN_HAVE_NCCL)
#define FLATMIN_HAVE_C10D 1
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef FLATMIN_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef FLATMIN_HAVE_NCCL  // a CUDA LibTorch built with NCCL (its CMake also defines USE_C10D_NCCL)
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
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

#ifdef FLATMIN_HAVE_C10D
/// One communicator over any c10d process group type PG. Templated on the concrete type because
/// LibTorch 1.x derives ProcessGroupGloo/NCCL from c10d::ProcessGroup and 2.x from c10d::Backend;
/// both have the same allreduce/broadcast/barrier signatures, so holding PG itself builds on both.
/// `device` is where PG wants its tensors: CPU for Gloo, this rank's GPU for NCCL. Tensors
/// elsewhere (host-side scalars, CPU Krylov vectors) are staged there and copied back.
template <class PG>
class C10dCommunicator final : public Communicator {
 public:
  C10dCommunicator(int rank, int world, c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<PG> pg,
                   at::Device device)
      : Communicator(rank, world), store_(std::move(store)), pg_(std::move(pg)), device_(device) {}

  void allreduce_sum(std::vector<at::Tensor>& tensors) override {
    // c10d reads a tensor list as replicas of ONE tensor (one per device), so the list is packed:
    // one flat buffer per dtype, one collective per buffer, then unpacked in place.
    std::map<at::ScalarType, std::vector<size_t>> by_type;
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (tensors[i].defined() && tensors[i].numel() > 0) by_type[tensors[i].scalar_type()].push_back(i);
    }
    for (const auto& [type, idx] : by_type) {
      std::vector<at::Tensor> flat;
      for (size_t i : idx) flat.push_back(tensors[i].reshape({-1}).to(device_));
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
      std::vector<at::Tensor> one{t.device() == device_ && t.is_contiguous() ? t : t.to(device_).contiguous()};
      c10d::BroadcastOptions o;
      o.rootRank = root;
      pg_->broadcast(one, o)->wait();
      if (!one[0].is_same(t)) t.copy_(one[0]);
    }
  }
  void barrier() override { pg_->barrier(c10d::BarrierOptions())->wait(); }

 private:
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<PG> pg_;
  at::Device device_;
};

c10::intrusive_ptr<c10d::Store> make_store(const DistOptions& o) {
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
  return store;
}
#endif

}  // namespace

void validate(const DistOptions& o) {
  FLATMIN_CHECK(o.world_size >= 1, "distributed: world size = " << o.world_size << " must be >= 1");
  FLATMIN_CHECK(o.rank >= 0 && o.rank < o.world_size,
                "distributed: rank = " << o.rank << " must be in [0, world size = " << o.world_size << ")");
  FLATMIN_CHECK(o.backend == "auto" || o.backend == "gloo" || o.backend == "nccl",
                "distributed: backend '" << o.backend << "' is not one of auto, gloo, nccl");
  if (o.world_size > 1 || o.process_group_for_one) {
    static const std::regex tcp(R"(tcp://([^:/]+):([0-9]{1,5}))");
    const bool file = o.init.rfind("file://", 0) == 0 && o.init.size() > 7;
    FLATMIN_CHECK(file || std::regex_match(o.init, tcp),
                  "distributed: init '" << o.init << "' must be file:///path or tcp://host:port for world size "
                                        << o.world_size);
  }
  FLATMIN_CHECK(o.timeout.count() > 0, "distributed: timeout must be > 0");
  FLATMIN_CHECK(o.local_rank >= -1, "distributed: local rank = " << o.local_rank << " must be >= 0");
}

DistOptions options_from_env() {
  DistOptions o;
  if (!env("FLATMIN_WORLD_SIZE").empty()) {
    o.world_size = env_int("FLATMIN_WORLD_SIZE", env("FLATMIN_WORLD_SIZE"));
    o.rank = env("FLATMIN_RANK").empty() ? 0 : env_int("FLATMIN_RANK", env("FLATMIN_RANK"));
    o.init = env("FLATMIN_DIST_INIT");
    if (!env("FLATMIN_LOCAL_RANK").empty()) o.local_rank = env_int("FLATMIN_LOCAL_RANK", env("FLATMIN_LOCAL_RANK"));
  } else if (!env("WORLD_SIZE").empty()) {  // torchrun / torch.distributed.launch
    o.world_size = env_int("WORLD_SIZE", env("WORLD_SIZE"));
    o.rank = env("RANK").empty() ? 0 : env_int("RANK", env("RANK"));
    const std::string addr = env("MASTER_ADDR").empty() ? "127.0.0.1" : env("MASTER_ADDR");
    const std::string port = env("MASTER_PORT").empty() ? "29500" : env("MASTER_PORT");
    o.init = "tcp://" + addr + ":" + port;
    if (!env("LOCAL_RANK").empty()) o.local_rank = env_int("LOCAL_RANK", env("LOCAL_RANK"));
  }
  if (!env("FLATMIN_DIST_BACKEND").empty()) o.backend = env("FLATMIN_DIST_BACKEND");
  validate(o);
  return o;
}

at::Device bind_device(DistOptions& o, at::Device requested) {
  if (!requested.is_cuda()) {
    o.cuda_device = -1;
    return requested;
  }
  const int index = requested.has_index() ? requested.index()
                    : o.world_size > 1    ? (o.local_rank >= 0 ? o.local_rank : o.rank)
                                          : 0;
  o.cuda_device = index;
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
}

std::shared_ptr<Communicator> Communicator::local() { return std::make_shared<LocalCommunicator>(); }

bool nccl_built() {
#ifdef FLATMIN_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

bool gloo_built() {
#ifdef FLATMIN_HAVE_GLOO
  return true;
#else
  return false;
#endif
}

std::string resolve_backend(const DistOptions& o, bool have_gloo, bool have_nccl) {
  validate(o);
  if (o.backend == "nccl") {
    FLATMIN_CHECK(have_nccl, "distributed: backend nccl requested, but this flatmin was built without NCCL "
                             "(it needs a CUDA LibTorch with NCCL; use gloo)");
    FLATMIN_CHECK(o.cuda_device >= 0, "distributed: backend nccl needs CUDA tensors (--device cuda); use gloo on CPU");
    return "nccl";
  }
  if (o.backend == "gloo") {
    FLATMIN_CHECK(have_gloo, "distributed: backend gloo requested, but this build has no c10d Gloo "
                             "(install libgloo-dev and reconfigure)");
    return "gloo";
  }
  if (o.cuda_device >= 0 && have_nccl) return "nccl";  // auto: NCCL for GPU tensors when built
  FLATMIN_CHECK(have_gloo, "distributed: world size " << o.world_size << " needs c10d Gloo"
                                                      << (o.cuda_device >= 0 ? " or NCCL" : "")
                                                      << ", and this build has neither (install libgloo-dev and reconfigure)");
  return "gloo";
}

std::shared_ptr<Communicator> Communicator::create(const DistOptions& o) {
  validate(o);
  if (o.world_size == 1 && !o.process_group_for_one) return local();
  const std::string backend = resolve_backend(o, gloo_built(), nccl_built());
#ifdef FLATMIN_HAVE_NCCL
  if (backend == "nccl") {
    FLATMIN_CHECK(o.cuda_device < static_cast<int>(torch::cuda::device_count()),
                  "distributed: cuda device " << o.cuda_device << " does not exist (" << torch::cuda::device_count()
                                              << " visible)");
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(o.cuda_device));
    auto store = make_store(o);
    auto nopts = c10d::ProcessGroupNCCL::Options::create();
    nopts->timeout = o.timeout;
    auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, o.rank, o.world_size, nopts);
    return std::make_shared<C10dCommunicator<c10d::ProcessGroupNCCL>>(
        o.rank, o.world_size, store, pg, at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(o.cuda_device)));
  }
#endif
#ifdef FLATMIN_HAVE_GLOO
  if (backend == "gloo") {
    auto store = make_store(o);
    auto gopts = c10d::ProcessGroupGloo::Options::create();
    gopts->timeout = o.timeout;
    gopts->devices.push_back(o.gloo_hostname.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                                     : c10d::ProcessGroupGloo::createDeviceForHostname(o.gloo_hostname));
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, o.rank, o.world_size, gopts);
    // Gloo reduces CPU tensors; GPU gradients are staged through host memory.
    return std::make_shared<C10dCommunicator<c10d::ProcessGroupGloo>>(o.rank, o.world_size, store, pg,
                                                                      at::Device(at::kCPU));
  }
#endif
  throw common::InputError("distributed: backend " + backend + " is not built into this flatmin");
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
