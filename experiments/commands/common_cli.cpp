#include "experiments/commands/common_cli.h"

#include <thread>

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include "common/allocator.h"
#include "common/error.h"
#include "common/limits.h"

namespace flatmin::experiments {

void setup_threads(int threads) {
  FLATMIN_CHECK(threads >= 0 && threads <= common::limits::kThreads,
                "--threads = " << threads << " must be >= 0 and <= " << common::limits::kThreads << " (0 = all cores)");
  const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  common::tune_allocator();  // keep LibTorch's freed temporaries in the process (common/allocator.h)
}

torch::Device parse_device(const std::string& name) {
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(name);
  } catch (const std::exception&) {
    throw common::InputError("--device '" + name + "' is not a device (use cpu, cuda or cuda:N)");
  }
  FLATMIN_CHECK(device.is_cpu() || device.is_cuda(), "--device '" << name << "': only cpu and cuda are supported");
  if (device.is_cuda()) {
    FLATMIN_CHECK(torch::cuda::is_available(),
                  "--device " << name << ": this LibTorch build has no usable CUDA device (build against a CUDA LibTorch)");
  }
  return device;
}

common::Manifest make_manifest(const std::string& command, const std::vector<std::string>& argv) {
  common::Manifest m(command, argv);
  m.set_library_version("libtorch", TORCH_VERSION);
  m.set_field("intra_op_threads", at::get_num_threads());
  m.set_field("malloc_tuning", common::tune_allocator());
  return m;
}

}  // namespace flatmin::experiments
