// flatmin::dist: a world of one is the identity; two ranks over c10d Gloo on loopback (one thread
// per rank, FileStore rendezvous in a temp dir) sum, broadcast and shard exactly.
#include "common/dist/communicator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include <torch/torch.h>

#include "common/error.h"
#include "tests/support/gloo_ranks.h"
#include "tests/support/temp_dir.h"

namespace fd = flatmin::dist;
using flatmin::common::InputError;

TEST(Dist, LocalWorldIsTheIdentity) {
  auto c = fd::Communicator::local();
  EXPECT_EQ(c->world_size(), 1);
  EXPECT_FALSE(c->distributed());
  std::vector<at::Tensor> t{torch::arange(5, torch::kFloat64)};
  c->allreduce_sum(t);
  EXPECT_TRUE(torch::equal(t[0], torch::arange(5, torch::kFloat64)));
  double x[2] = {1.5, -2.0};
  c->allreduce_sum(x, 2);
  EXPECT_EQ(x[0], 1.5);
  EXPECT_EQ(c->shard(7), std::make_pair(int64_t{0}, int64_t{7}));
}

TEST(Dist, ShardsCoverEveryItemOnce) {
  for (int world : {1, 2, 3, 5}) {
    for (int64_t n : {0, 1, 7, 10, 513}) {
      int64_t next = 0;
      for (int r = 0; r < world; ++r) {
        // shard() is pure arithmetic: check it on a stand-in with the same rank/world.
        struct Probe : fd::Communicator {
          Probe(int r, int w) : fd::Communicator(r, w) {}
          void allreduce_sum(std::vector<at::Tensor>&) override {}
          void broadcast(std::vector<at::Tensor>&, int) override {}
          void barrier() override {}
        } p(r, world);
        const auto [b, e] = p.shard(n);
        EXPECT_EQ(b, next) << "world " << world << " n " << n << " rank " << r;
        EXPECT_GE(e - b, n / world);
        EXPECT_LE(e - b, n / world + 1);
        next = e;
      }
      EXPECT_EQ(next, n);
    }
  }
}

TEST(Dist, RejectsInconsistentOptions) {
  fd::DistOptions o;
  o.world_size = 2;
  o.rank = 2;
  o.init = "file:///tmp/x";
  EXPECT_THROW(fd::validate(o), InputError);
  o.rank = 1;
  o.init = "nonsense";
  EXPECT_THROW(fd::validate(o), InputError);
  o.init = "tcp://127.0.0.1:29511";
  EXPECT_NO_THROW(fd::validate(o));
  o.world_size = 0;
  EXPECT_THROW(fd::validate(o), InputError);
}

TEST(Dist, BackendResolution) {
  fd::DistOptions o;
  o.world_size = 2;
  o.init = "file:///tmp/x";
  // auto: Gloo for CPU tensors even when NCCL is built; NCCL for GPU tensors when it is built.
  EXPECT_EQ(fd::resolve_backend(o, true, true), "gloo");
  o.cuda_device = 0;
  EXPECT_EQ(fd::resolve_backend(o, true, true), "nccl");
  EXPECT_EQ(fd::resolve_backend(o, true, false), "gloo");  // GPU tensors staged through Gloo
  EXPECT_THROW(fd::resolve_backend(o, false, false), InputError);
  // explicit choices are honoured or refused with the reason
  o.backend = "gloo";
  EXPECT_EQ(fd::resolve_backend(o, true, true), "gloo");
  EXPECT_THROW(fd::resolve_backend(o, false, true), InputError);
  o.backend = "nccl";
  EXPECT_EQ(fd::resolve_backend(o, false, true), "nccl");
  try {
    fd::resolve_backend(o, true, false);
    ADD_FAILURE() << "nccl without NCCL accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("built without NCCL"), std::string::npos) << e.what();
  }
  o.cuda_device = -1;  // NCCL reduces GPU tensors only
  EXPECT_THROW(fd::resolve_backend(o, false, true), InputError);
  o.backend = "mpi";
  EXPECT_THROW(fd::resolve_backend(o, true, true), InputError);
}

TEST(Dist, BindDeviceGivesEachRankItsGpu) {
  fd::DistOptions o;
  EXPECT_EQ(fd::bind_device(o, at::Device("cpu")), at::Device("cpu"));
  EXPECT_EQ(o.cuda_device, -1);
  EXPECT_EQ(fd::bind_device(o, at::Device("cuda")), at::Device("cuda:0"));  // one process: GPU 0
  EXPECT_EQ(o.cuda_device, 0);
  o.world_size = 4;
  o.rank = 3;
  EXPECT_EQ(fd::bind_device(o, at::Device("cuda")), at::Device("cuda:3"));  // rank = local rank
  o.local_rank = 1;  // second machine, second GPU
  EXPECT_EQ(fd::bind_device(o, at::Device("cuda")), at::Device("cuda:1"));
  EXPECT_EQ(o.cuda_device, 1);
  EXPECT_EQ(fd::bind_device(o, at::Device("cuda:2")), at::Device("cuda:2"));  // explicit index wins
  EXPECT_EQ(o.cuda_device, 2);
  EXPECT_EQ(fd::bind_device(o, at::Device("cpu")), at::Device("cpu"));
  EXPECT_EQ(o.cuda_device, -1);
}

TEST(Dist, EnvironmentGivesLocalRankAndBackend) {
  setenv("FLATMIN_WORLD_SIZE", "2", 1);
  setenv("FLATMIN_RANK", "1", 1);
  setenv("FLATMIN_DIST_INIT", "tcp://127.0.0.1:29533", 1);
  setenv("FLATMIN_LOCAL_RANK", "0", 1);
  setenv("FLATMIN_DIST_BACKEND", "gloo", 1);
  const auto o = fd::options_from_env();
  EXPECT_EQ(o.world_size, 2);
  EXPECT_EQ(o.rank, 1);
  EXPECT_EQ(o.local_rank, 0);
  EXPECT_EQ(o.backend, "gloo");
  setenv("FLATMIN_DIST_BACKEND", "smoke-signals", 1);
  EXPECT_THROW(fd::options_from_env(), InputError);
  for (const char* v : {"FLATMIN_WORLD_SIZE", "FLATMIN_RANK", "FLATMIN_DIST_INIT", "FLATMIN_LOCAL_RANK", "FLATMIN_DIST_BACKEND"}) {
    unsetenv(v);
  }
  EXPECT_EQ(fd::options_from_env().world_size, 1);
}

#ifdef FLATMIN_HAVE_GLOO
TEST(Dist, TwoRanksOverGlooOnLoopbackSumAndBroadcast) {
  flatmin::common::testing_support::TempDir dir;
  std::vector<at::Tensor> sums(2), bcast(2), strided(2);
  std::vector<double> scalar(2);
  const auto errors = flatmin::common::testing_support::run_gloo_ranks(2, dir, [&](int rank, const auto& c) {
    std::vector<at::Tensor> t{torch::full({3}, double(rank + 1), torch::kFloat64),
                              torch::arange(4, torch::kFloat32) * float(rank)};
    c->allreduce_sum(t);
    sums[size_t(rank)] = torch::cat({t[0], t[1].to(torch::kFloat64)});
    double x = 0.25 * (rank + 1);
    c->allreduce_sum(&x, 1);
    scalar[size_t(rank)] = x;
    std::vector<at::Tensor> b{torch::full({2}, double(10 + rank), torch::kFloat64)};
    c->broadcast(b, 1);
    bcast[size_t(rank)] = b[0];
    // Views that are not contiguous are staged and written back in place, into the base tensor.
    auto base = torch::arange(6, torch::kFloat32).view({2, 3}) * float(rank + 1);
    std::vector<at::Tensor> views{base.t(), base.select(1, 1)};  // transposed; strided column
    c->broadcast(views, 0);   // rank 0's base is arange(6)
    std::vector<at::Tensor> col{base.select(1, 2)};
    c->allreduce_sum(col);    // column 2 = (2, 5) on both ranks, summed in place: (4, 10)
    strided[size_t(rank)] = base.clone();
    c->barrier();
  });
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  const auto want = torch::tensor({3.0, 3.0, 3.0, 0.0, 1.0, 2.0, 3.0}, torch::kFloat64);
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(torch::equal(sums[size_t(r)], want)) << "rank " << r;
    EXPECT_EQ(scalar[size_t(r)], 0.75);
    EXPECT_TRUE(torch::equal(bcast[size_t(r)], torch::full({2}, 11.0, torch::kFloat64)));
    // after the broadcast both bases are arange(6); then column 2 is doubled by the sum
    EXPECT_TRUE(torch::equal(strided[size_t(r)], torch::tensor({0.f, 1.f, 4.f, 3.f, 4.f, 10.f}).view({2, 3})))
        << "rank " << r << ": " << strided[size_t(r)];
  }
}
#endif
