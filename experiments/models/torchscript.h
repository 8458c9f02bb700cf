#pragma once
/// \file
/// TorchScript in and out of `flatmin train`:
/// - a user's TorchScript module (torch.jit.save) as a models::Net ("model": {"torchscript": "path.pt"}):
///   its parameters and buffers are the Net's (the same tensors, under the same dotted names), so the
///   registry optimizers, checkpoints, --resume and `flatmin hessian --checkpoint` work unchanged;
///   train()/eval() switch the module's mode;
/// - any models::Net written as a TorchScript file that Python runs with `torch.jit.load(path)(x)`:
///   the module's own file for a TorchScript model, otherwise a trace of Net::forward in eval mode.
#include <filesystem>
#include <memory>
#include <string>

#include <torch/types.h>

#include "experiments/models/models.h"

namespace flatmin::models {

/// Loads `path` (torch.jit.save format) as a Net. InputError naming the file when it is missing or not
/// a TorchScript module, or when the module has no forward() or no trainable parameter.
std::shared_ptr<Net> load_torchscript_net(const std::string& path);

/// Writes `model` as a TorchScript file (atomically). A TorchScript Net saves its module (in its current
/// train/eval mode); a C++ Net is traced on `example` (a batch of >= 1 inputs) in eval mode (its mode is
/// restored) into a module with the Net's parameters and buffers under their names, and the trace is
/// checked against Net::forward on `example` and on a batch of a different size (runtime_error when it
/// differs: a forward whose graph depends on the batch size cannot be traced).
void save_torchscript(Net& model, const torch::Tensor& example, const std::filesystem::path& file);

}  // namespace flatmin::models
