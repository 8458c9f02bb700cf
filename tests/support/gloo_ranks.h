#pragma once
// Runs `body(rank, communicator)` for every rank of a c10d Gloo world on this machine, one thread
// per rank, rendezvous through a FileStore in `dir`: the in-process form of a multi-rank run for
// tests of collectives. Returns each rank's exception text ("" when it finished).
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/dist/communicator.h"
#include "tests/support/temp_dir.h"

namespace flatmin::common::testing_support {

inline std::vector<std::string> run_gloo_ranks(
    int world, const TempDir& dir,
    const std::function<void(int rank, const std::shared_ptr<flatmin::dist::Communicator>& comm)>& body,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(60000)) {
  const std::string init = "file://" + (dir / "gloo_store").string();
  std::vector<std::string> errors(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        flatmin::dist::DistOptions o;
        o.rank = r;
        o.world_size = world;
        o.init = init;
        o.timeout = timeout;
        body(r, flatmin::dist::Communicator::create(o));
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

}  // namespace flatmin::common::testing_support
