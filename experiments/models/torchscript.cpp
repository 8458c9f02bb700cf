#include "experiments/models/torchscript.h"

#include <cctype>
#include <stdexcept>

#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/script.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/zip_archive.h"
#include "common/library_error.h"

namespace flatmin::models {

namespace fs = std::filesystem;

namespace {

/// Registers `src`'s parameters, buffers and submodules (recursively, the same tensors) on `dst`.
void mirror(torch::nn::Module& dst, const torch::jit::Module& src) {
  for (const auto& p : src.named_parameters(/*recurse=*/false)) dst.register_parameter(p.name, p.value, p.value.requires_grad());
  for (const auto& b : src.named_buffers(/*recurse=*/false)) dst.register_buffer(b.name, b.value);
  for (const auto& c : src.named_children()) {
    auto child = std::make_shared<torch::nn::Module>(c.name);
    mirror(*child, c.value);
    dst.register_module(c.name, child);
  }
}

/// A user's TorchScript module as a Net: the parameters and buffers are the module's own tensors.
class TorchScriptNet : public Net {
 public:
  explicit TorchScriptNet(torch::jit::Module m) : Net(), module_(std::move(m)) { mirror(*this, module_); }

  torch::Tensor forward(torch::Tensor x) override {
    auto out = module_.forward({std::move(x)});
    if (is_training()) adopt_reassigned_buffers();
    if (!out.isTensor())
      throw std::runtime_error("the TorchScript model's forward() returned " + out.tagKind() + ", not a Tensor of logits");
    return out.toTensor();
  }
  void train(bool on = true) override {
    module_.train(on);
    Net::train(on);
  }
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override {
    module_.to(device, dtype, non_blocking);
    Net::to(device, dtype, non_blocking);
  }
  void to(torch::Dtype dtype, bool non_blocking = false) override {
    module_.to(dtype, non_blocking);
    Net::to(dtype, non_blocking);
  }
  void to(torch::Device device, bool non_blocking = false) override {
    module_.to(device, non_blocking);
    Net::to(device, non_blocking);
  }
  const torch::jit::Module& module() const { return module_; }

 private:
  /// A forward that assigns a new tensor to a buffer (`self.count = self.count + 1` rather than an in-place
  /// update) leaves the Net's handle on the old one: point it at the module's current data, so that checkpoints
  /// and model files see the update.
  void adopt_reassigned_buffers() {
    auto mine = named_buffers(/*recurse=*/true);
    for (const auto& b : module_.named_buffers(/*recurse=*/true)) {
      if (auto* t = mine.find(b.name); t != nullptr && !t->is_same(b.value)) t->set_data(b.value);
    }
  }

  torch::jit::Module module_;
};

std::string class_name(const torch::nn::Module& m) {
  std::string s = m.name();  // e.g. "flatmin::models::SmallCNN", "torch::nn::Conv2dImpl"
  for (auto& ch : s) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return "__torch__.flatmin_export." + s;
}

/// A TorchScript module holding `m`'s parameters, buffers and submodules (the same tensors, the same names).
torch::jit::Module to_jit(const torch::nn::Module& m, const std::shared_ptr<torch::jit::CompilationUnit>& cu) {
  torch::jit::Module j(c10::QualifiedName(class_name(m)), cu, /*shouldMangle=*/true);
  j.register_attribute("training", c10::BoolType::get(), false);
  for (const auto& p : m.named_parameters(/*recurse=*/false)) j.register_parameter(p.key(), p.value(), /*is_buffer=*/false);
  for (const auto& b : m.named_buffers(/*recurse=*/false)) j.register_buffer(b.key(), b.value());
  for (const auto& c : m.named_children()) j.register_module(c.key(), to_jit(*c.value(), cu));
  return j;
}

/// Restores a module's train/eval mode on scope exit.
struct ModeGuard {
  Net& model;
  bool training;
  ~ModeGuard() { model.train(training); }
};

bool same(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && torch::allclose(a, b, /*rtol=*/1e-4, /*atol=*/1e-5);
}

}  // namespace

std::shared_ptr<Net> load_torchscript_net(const std::string& path) {
  std::error_code ec;
  FLATMIN_CHECK(fs::is_regular_file(path, ec), "model.torchscript '" << path << "': no such file");
  if (auto why = common::zip_file_problem(path))
    throw common::InputError("model.torchscript '" + path + "': not a TorchScript module (torch.jit.save format): " + *why);
  torch::jit::Module m;
  try {
    m = torch::jit::load(path);
  } catch (const std::exception& e) {
    throw common::InputError("model.torchscript '" + path + "': not a TorchScript module (torch.jit.save format): " +
                             common::short_library_error(e.what()));
  }
  FLATMIN_CHECK(m.find_method("forward").has_value(), "model.torchscript '" << path << "': the module has no forward() method");
  auto net = std::make_shared<TorchScriptNet>(std::move(m));
  FLATMIN_CHECK(parameter_count(*net) > 0, "model.torchscript '" << path << "': the module has no parameters to train");
  return net;
}

void save_torchscript(Net& model, const torch::Tensor& example, const fs::path& file) {
  if (const auto* ts = dynamic_cast<const TorchScriptNet*>(&model)) {
    common::AtomicFile f(file);
    torch::jit::ExportModule(ts->module(), f.writer());  // write errors: commit() reports them
    f.commit();
    return;
  }
  ModeGuard restore{model, model.is_training()};
  model.eval();
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module j = to_jit(model, cu);
  auto traced_fn = [&model](torch::jit::Stack in) -> torch::jit::Stack { return {model.forward(in.at(0).toTensor())}; };
  auto traced = torch::jit::tracer::trace({example}, traced_fn, [](const torch::autograd::Variable&) { return std::string(); },
                                          /*strict=*/true, /*force_outplace=*/false, &j);
  auto* fn = cu->create_function(c10::QualifiedName(*j.type()->name(), "forward"), traced.first->graph);
  j.type()->addMethod(fn);
  j.eval();
  {  // the trace must be Net::forward also at another batch size (no batch size baked into the graph)
    torch::NoGradGuard no_grad;
    const auto other = torch::cat({example, example}, 0);
    const bool ok = same(j.forward({example}).toTensor(), model.forward(example)) &&
                    same(j.forward({other}).toTensor(), model.forward(other));
    if (!ok)
      throw std::runtime_error("TorchScript export of model '" + model.name() +
                               "': the traced forward differs from the model's (its graph depends on the batch size)");
  }
  common::AtomicFile f(file);
  torch::jit::ExportModule(j, f.writer());
  f.commit();
}

}  // namespace flatmin::models
