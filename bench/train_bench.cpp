// flatmin-bench-train: training images/s of the small ResNet (~78k parameters) on Fashion-MNIST batches,
// flatmin (LibTorch C++, registry Adam) against the same model, batches and Adam settings in Debian's
// python3-torch (bench/train_reference.py), same thread count, measured in the same run. Measures only;
// asserts no speed. Also reports flatmin's own data pipeline (augmentation + batch assembly) per image.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/cli_parse.h"
#include "common/error.h"
#include "common/json_io.h"
#include "experiments/data/dataset.h"
#include "experiments/models/models.h"
#include "optim/registry.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  FLATMIN_CHECK(p != nullptr, "cannot run: " << cmd);
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int rc = pclose(p);
  FLATMIN_CHECK(rc == 0, "the Python anchor failed (exit " << rc << "): " << cmd);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  return flatmin::common::run_main("flatmin-bench-train", [&]() -> int {
    CLI::App app{"training images/s: flatmin small ResNet vs the same model in Debian's python3-torch"};
    int threads = 0, batch = 128, warmup = 5, steps = 30, repeats = 3;
    std::string data_dir, python = "/usr/bin/python3", out;
    std::string script = std::string(FLATMIN_SOURCE_DIR) + "/bench/train_reference.py";
    app.add_option("--threads", threads, "intra-op threads for both sides (0 = all cores)");
    app.add_option("--batch", batch, "batch size")->capture_default_str();
    app.add_option("--warmup", warmup, "untimed steps")->capture_default_str();
    app.add_option("--steps", steps, "timed steps per repeat")->capture_default_str();
    app.add_option("--repeats", repeats, "alternating C++/Python repeats (the best of each is reported)")->capture_default_str();
    app.add_option("--data-dir", data_dir, "Fashion-MNIST folder");
    app.add_option("--python", python, "Python with torch")->capture_default_str();
    app.add_option("--json", out, "also write the result JSON here");
    if (auto code = flatmin::common::parse_cli(app, argc, argv)) return *code;
    FLATMIN_CHECK(batch >= 1 && steps >= 1 && warmup >= 0 && repeats >= 1, "need batch, steps, repeats >= 1");
    const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(n);
    const std::string dir = flatmin::data::fashion_mnist_dir(data_dir).string();

    const int nb = 8;
    auto set = flatmin::data::load_fashion_mnist(dir, true);
    flatmin::data::Augment aug;
    flatmin::data::default_normalization("fashion_mnist", 1, aug.mean, aug.std);
    std::vector<int64_t> idx(static_cast<size_t>(nb * batch));
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int64_t>(i);
    auto x = torch::empty({nb * batch, 1, 28, 28});
    flatmin::data::make_batch(set, idx.data(), nb * batch, aug, false, 0, 0, x.data_ptr<float>());
    auto y = torch::empty({nb * batch}, torch::kInt64);
    for (int64_t i = 0; i < nb * batch; ++i) y[i] = set.labels[i];

    torch::manual_seed(0);
    auto model = flatmin::models::make_model({"small_resnet", 1, 28, 10, json::object()});
    model->train();
    auto opt = flatmin::optim::make_optimizer("adam", {{"lr", 1e-3}, {"weight_decay", 5e-5}}, model->parameters());
    int64_t it = 0;
    auto step = [&]() {
      const int64_t j = it++ % nb;
      auto xb = x.narrow(0, j * batch, batch), yb = y.narrow(0, j * batch, batch);
      opt->zero_grad();
      auto loss = torch::nn::functional::cross_entropy(model->forward(xb), yb);
      loss.backward();
      opt->step();
      return loss.item<double>();
    };
    for (int i = 0; i < warmup; ++i) step();

    const std::string cmd = python + " " + script + " --data-dir '" + dir + "' --threads " + std::to_string(n) + " --batch " +
                            std::to_string(batch) + " --warmup " + std::to_string(warmup) + " --steps " + std::to_string(steps);
    double best_cpp = 0, best_py = 0;
    json py;
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = Clock::now();
      for (int i = 0; i < steps; ++i) step();
      const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
      best_cpp = std::max(best_cpp, steps * batch / dt);
      py = json::parse(run_capture(cmd));
      best_py = std::max(best_py, py.at("images_per_s").get<double>());
    }
    // flatmin's data pipeline alone: crop(2) + flip + normalise + batch assembly
    flatmin::data::Augment aug2 = aug;
    aug2.crop_padding = 2;
    aug2.hflip = true;
    std::vector<float> buf(static_cast<size_t>(batch * 784));
    const auto t1 = Clock::now();
    int64_t done = 0;
    for (int e = 1; e <= 3; ++e) {
      for (int64_t s = 0; s + batch <= set.n; s += batch, done += batch) {
        flatmin::data::make_batch(set, idx.data(), batch, aug2, true, 1, e, buf.data());
      }
    }
    const double pipe = static_cast<double>(done) / std::chrono::duration<double>(Clock::now() - t1).count();

    const json result = {{"benchmark", "train_small_resnet_fashion_mnist"},
                         {"threads", n},
                         {"batch", batch},
                         {"steps", steps},
                         {"repeats", repeats},
                         {"parameters", flatmin::models::parameter_count(*model)},
                         {"flatmin_images_per_s", best_cpp},
                         {"python_images_per_s", best_py},
                         {"ratio_flatmin_over_python", best_cpp / best_py},
                         {"python", py},
                         {"data_pipeline_images_per_s", pipe}};
    std::printf("small_resnet (%lld params), batch %d, %d threads: flatmin %.1f img/s, python-torch %s %.1f img/s, ratio %.3f; "
                "data pipeline %.0f img/s\n",
                static_cast<long long>(result["parameters"].get<int64_t>()), batch, n, best_cpp,
                py.at("torch").get<std::string>().c_str(), best_py, best_cpp / best_py, pipe);
    if (!out.empty()) flatmin::common::write_json_atomic(out, result);
    return 0;
  });
}
