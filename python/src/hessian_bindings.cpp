// flatmin._C Hessian bindings: the spectrum of a plain Python nn.Module. The module's forward and
// parameters are called back from C++ (under the GIL); the HVPs are torch.autograd double backwards
// on its graph; the Krylov, trace and SLQ logic is flatmin's C++ core (hessian/analyze.h), and the
// result is the CLI's summary.json.
#include <iostream>
#include <string>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <torch/extension.h>

#include "common/error.h"
#include "hessian/hessian_operator.h"
#include "python/src/bindings.h"

namespace flatmin::python {

namespace py = pybind11;
namespace fh = flatmin::hessian;

namespace {

/// A Model whose callbacks run the Python module (each takes the GIL).
fh::Model python_model(const py::object& module) {
  fh::Model m;
  m.forward = [module](const torch::Tensor& x) {
    py::gil_scoped_acquire gil;
    py::object out = module(x);
    if (!THPVariable_Check(out.ptr())) {
      throw common::InputTypeError("model(x) must return a Tensor, got " +
                                   std::string(py::str(out.get_type().attr("__name__"))) +
                                   " (wrap a model with dict/tuple outputs: see docs/hessian.md)");
    }
    return out.cast<torch::Tensor>();
  };
  m.named_parameters = [module] {
    py::gil_scoped_acquire gil;
    fh::NamedTensors out;
    for (const auto& item : module.attr("named_parameters")()) {
      const auto pair = item.cast<py::tuple>();
      out.emplace_back(pair[0].cast<std::string>(), pair[1].cast<torch::Tensor>());
    }
    return out;
  };
  m.set_train = [module](bool train) {
    py::gil_scoped_acquire gil;
    module.attr("train")(train);
  };
  m.to_dtype = [module](torch::Dtype d) {
    py::gil_scoped_acquire gil;
    module.attr("to")(py::module_::import("torch").attr(d == torch::kFloat64 ? "float64" : "float32"));
  };
  m.to_device = [module](torch::Device d) {
    py::gil_scoped_acquire gil;
    module.attr("to")(d.str());
  };
  return m;
}

}  // namespace

void bind_hessian(py::module_& m) {
  m.def(
      "hessian_spectrum",
      [](const py::object& module, const torch::Tensor& x, const torch::Tensor& y, const std::string& loss,
         const std::string& reduction, int top_k, bool trace, bool density, const std::string& dtype,
         const std::string& device, const std::string& param_regex, double weight_decay, std::uint64_t seed,
         std::int64_t batch_size, const std::string& compat, bool progress, std::int64_t max_hvps, double max_seconds) {
        fh::OperatorOptions oo;
        oo.loss = fh::parse_loss(loss);
        oo.reduction = fh::parse_reduction(reduction);
        oo.batch_size = batch_size;
        oo.param_regex = param_regex;
        oo.weight_decay = weight_decay;
        oo.dtype = dtype;
        oo.device = device;
        fh::AnalyzeOptions ao;
        ao.compat = fh::parse_compat(compat);
        ao.seed = seed;
        ao.top_k.k = top_k;
        ao.trace = trace;
        ao.density = density;
        ao.progress = progress ? &std::cerr : nullptr;
        ao.max_hvps = max_hvps;  // the CLI's --max-hvps / --max-seconds (0 = no limit)
        ao.max_seconds = max_seconds;
        py::gil_scoped_release release;
        fh::HessianOperator h(python_model(module), fh::Dataset{x, y}, oo);
        ao.validate(h.n());
        torch::manual_seed(ao.seed);  // compat mode draws from torch's CPU generator, as PyHessian
        const auto s = fh::analyze_validated(h.as_operator(), ao);
        auto j = fh::summary_json(s, ao, h, oo);
        j["device"] = device;
        j["world_size"] = 1;
        return j.dump();
      },
      py::arg("module"), py::arg("x"), py::arg("y"), py::arg("loss"), py::arg("reduction"), py::arg("top_k"),
      py::arg("trace"), py::arg("density"), py::arg("dtype"), py::arg("device"), py::arg("param_regex"),
      py::arg("weight_decay"), py::arg("seed"), py::arg("batch_size"), py::arg("compat"), py::arg("progress"),
      py::arg("max_hvps") = fh::AnalyzeOptions{}.max_hvps, py::arg("max_seconds") = fh::AnalyzeOptions{}.max_seconds);
}

}  // namespace flatmin::python
