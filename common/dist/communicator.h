#pragma once
/// \file
/// Data-parallel collectives for flatmin's LibTorch modules (Hessian-vector products, training):
/// a thin wrapper over torch's c10d process groups — Gloo on CPU, NCCL on CUDA when LibTorch has
/// it — that keeps c10d/Gloo headers out of every other translation unit.
///
/// A world of size 1 needs no process group: every collective is the identity, so code written
/// against Communicator runs unchanged on one process.
///
/// Rendezvous (`init`):
///   "file:///abs/path"      a c10d FileStore on a shared file system (also: tests, one machine);
///   "tcp://host:port"       a c10d TCPStore, rank 0 is the server (torchrun's MASTER_ADDR/PORT).
/// from_env() reads FLATMIN_RANK / FLATMIN_WORLD_SIZE / FLATMIN_DIST_INIT / FLATMIN_LOCAL_RANK /
/// FLATMIN_DIST_BACKEND, else torchrun's RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT /
/// LOCAL_RANK, else a world of size 1.
///
/// Backends: "gloo" reduces CPU tensors (GPU tensors are staged through host memory); "nccl"
/// reduces on this rank's GPU and exists when flatmin is built against a CUDA LibTorch with NCCL
/// (CMake finds nccl.h; FLATMIN_WITH_NCCL=OFF turns it off); "auto" takes NCCL for GPU tensors
/// when it is built, else Gloo. Host-side values (losses, counts, float64 Krylov vectors) are
/// staged onto the backend's device and copied back.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace flatmin::dist {

struct DistOptions {
  int rank = 0;
  int world_size = 1;
  std::string init;                           ///< "file://…" or "tcp://host:port" (world_size > 1)
  std::string backend = "auto";               ///< "auto", "gloo", "nccl" (see the file comment)
  int local_rank = -1;                        ///< rank on this machine (-1: same as rank); picks the GPU
  int cuda_device = -1;                       ///< this rank's GPU (-1: CPU tensors; NCCL needs one)
  std::chrono::milliseconds timeout{120000};  ///< collectives and rendezvous
  std::string gloo_hostname = "127.0.0.1";    ///< interface Gloo binds to ("" = the host's default)
  /// A world of size 1 still joins a real process group of `backend` (tests of a backend on one
  /// process / one GPU); otherwise size 1 is the identity communicator without any c10d.
  bool process_group_for_one = false;
};

/// Throws common::InputError for an inconsistent rank/world size/init string.
void validate(const DistOptions& o);

/// Options from FLATMIN_* or torchrun's environment variables (world of 1 when none are set).
DistOptions options_from_env();

/// The device this rank computes on: `requested` itself, except that an index-less "cuda" in a
/// world of several ranks becomes cuda:<local rank> (one GPU per rank, torchrun's convention).
/// Sets o.cuda_device to the result's index (-1 for CPU).
at::Device bind_device(DistOptions& o, at::Device requested);

/// Which backend create() will use for `o` given what the build has ("gloo" or "nccl");
/// InputError naming the problem when the requested one cannot be had.
std::string resolve_backend(const DistOptions& o, bool have_gloo, bool have_nccl);
bool gloo_built();
bool nccl_built();

class Communicator {
 public:
  /// Joins the process group (blocks until every rank has joined or the timeout passes).
  static std::shared_ptr<Communicator> create(const DistOptions& options);
  /// A world of one process (all collectives are the identity).
  static std::shared_ptr<Communicator> local();

  virtual ~Communicator() = default;
  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  bool distributed() const { return world_size_ > 1; }

  /// In-place sum over ranks of each tensor (same shapes and dtypes, in the same order, on every
  /// rank; packed into one buffer per dtype, so one collective per dtype). The sum
  /// order is fixed by the backend's algorithm: every rank gets bit-identical results.
  virtual void allreduce_sum(std::vector<at::Tensor>& tensors) = 0;
  /// In-place sum over ranks of n doubles (losses, counts, dot products).
  void allreduce_sum(double* values, size_t n);
  /// Sums the gradients of `params` over ranks in place (one packed collective per dtype); a
  /// parameter without a gradient on this rank counts as zero and gets the summed gradient.
  void allreduce_grads(const std::vector<at::Tensor>& params);
  /// Copies `tensors` of rank `root` to every rank.
  virtual void broadcast(std::vector<at::Tensor>& tensors, int root = 0) = 0;
  virtual void barrier() = 0;

  /// The contiguous shard [begin, end) of n items this rank owns (equal split, remainder to the
  /// first ranks), so sample-weighted sums over ranks cover every item exactly once.
  std::pair<int64_t, int64_t> shard(int64_t n) const;

 protected:
  Communicator(int rank, int world_size) : rank_(rank), world_size_(world_size) {}

 private:
  int rank_;
  int world_size_;
};

}  // namespace flatmin::dist
