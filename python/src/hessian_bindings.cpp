// flatmin._C Hessian bindings: the spectrum of a plain Python nn.Module. The module's forward and
// parameters are called back from C++ (under the GIL); the HVPs are torch.autograd double backwards
// on its graph; the Krylov, trace and SLQ logic is flatmin's C++ core (hessian/analyze.h), and the
// result is the CLI's summary.json.
#include <cmath>
#include <iostream>
#include <memory>
#include <string>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <nlohmann/json.hpp>
#include <torch/extension.h>

#include "common/error.h"
#include "hessian/hessian_operator.h"
#include "python/src/bindings.h"

namespace flatmin::python {

namespace py = pybind11;
namespace fh = flatmin::hessian;

namespace {

/// A Model whose callbacks run the Python module (each takes the GIL). The callbacks share one
/// reference to the module, released under the GIL: the operator copies and destroys its Model while
/// the GIL is released.
fh::Model python_model(const py::object& module_in) {
  std::shared_ptr<const py::object> held(new py::object(module_in), [](const py::object* p) {
    py::gil_scoped_acquire gil;
    delete p;
  });
  fh::Model m;
  m.forward = [held](const torch::Tensor& x) {
    py::gil_scoped_acquire gil;
    py::object out = (*held)(x);
    if (!THPVariable_Check(out.ptr())) {
      throw common::InputTypeError("model(x) must return a Tensor, got " +
                                   std::string(py::str(out.get_type().attr("__name__"))) +
                                   " (wrap a model with dict/tuple outputs: see docs/hessian.md)");
    }
    return out.cast<torch::Tensor>();
  };
  m.named_parameters = [held] {
    py::gil_scoped_acquire gil;
    fh::NamedTensors out;
    for (const auto& item : held->attr("named_parameters")()) {
      const auto pair = item.cast<py::tuple>();
      out.emplace_back(pair[0].cast<std::string>(), pair[1].cast<torch::Tensor>());
    }
    return out;
  };
  m.set_train = [held](bool train) {
    py::gil_scoped_acquire gil;
    held->attr("train")(train);
  };
  m.to_dtype = [held](torch::Dtype d) {
    py::gil_scoped_acquire gil;
    held->attr("to")(py::module_::import("torch").attr(d == torch::kFloat64 ? "float64" : "float32"));
  };
  m.to_device = [held](torch::Device d) {
    py::gil_scoped_acquire gil;
    held->attr("to")(d.str());
  };
  return m;
}

/// The analysis of `module` on (x, y): the operator, then analyze_validated. `reseed`: seed torch's CPU
/// generator with ao.seed first (the CLI, spectrum()); otherwise compat mode continues torch's current
/// stream (flatmin.pyhessian: each call draws where the previous one stopped, as PyHessian does).
struct Analysis {
  fh::Summary summary;
  nlohmann::json json;
};

Analysis run_analysis(const py::object& module, const torch::Tensor& x, const torch::Tensor& y,
                      const fh::OperatorOptions& oo, const fh::AnalyzeOptions& ao, bool reseed) {
  auto model = python_model(module);  // under the GIL
  py::gil_scoped_release release;
  fh::HessianOperator h(std::move(model), fh::Dataset{x, y}, oo);
  ao.validate(h.n());
  if (reseed) torch::manual_seed(ao.seed);  // compat mode draws from torch's CPU generator, as PyHessian
  Analysis a;
  a.summary = fh::analyze_validated(h.as_operator(), ao);
  a.json = fh::summary_json(a.summary, ao, h, oo);
  a.json["device"] = oo.device;
  a.json["world_size"] = 1;
  return a;
}

fh::OperatorOptions operator_options(const std::string& loss, const std::string& reduction, const std::string& dtype,
                                     const std::string& device, const std::string& param_regex, double weight_decay,
                                     std::int64_t batch_size) {
  fh::OperatorOptions oo;
  oo.loss = fh::parse_loss(loss);
  oo.reduction = fh::parse_reduction(reduction);
  oo.batch_size = batch_size;
  oo.param_regex = param_regex;
  oo.weight_decay = weight_decay;
  oo.dtype = dtype;
  oo.device = device;
  return oo;
}

/// Analysis options from the Python side's JSON (each key optional; unknown keys refused).
fh::AnalyzeOptions analysis_options(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    FLATMIN_CHECK(false, "hessian options: invalid JSON: " << e.what());
  }
  fh::AnalyzeOptions ao;
  ao.top_k.k = 0;
  for (const auto& [key, v] : j.items()) {
    try {
      if (key == "compat") ao.compat = fh::parse_compat(v.get<std::string>());
      else if (key == "seed") {
        FLATMIN_CHECK(v.is_number_unsigned(), "seed = " << v.dump() << " must be an integer >= 0");
        ao.seed = v.get<std::uint64_t>();
      }
      else if (key == "top_k") ao.top_k.k = v.get<int>();
      else if (key == "power_max_iter") ao.power.max_iter = v.get<int>();
      else if (key == "power_tol") ao.power.tol = v.get<double>();
      else if (key == "trace") ao.trace = v.get<bool>();
      else if (key == "trace_max_iter") ao.pyhessian_trace.max_iter = v.get<int>();
      else if (key == "trace_tol") ao.pyhessian_trace.tol = v.get<double>();
      else if (key == "trace_min_samples") ao.hutchinson.min_samples = v.get<int>();
      else if (key == "trace_max_samples") ao.hutchinson.max_samples = v.get<int>();
      else if (key == "density") ao.density = v.get<bool>();
      else if (key == "slq_steps") ao.slq.steps = v.get<int>();
      else if (key == "slq_runs") ao.slq.runs = v.get<int>();
      else if (key == "max_hvps") ao.max_hvps = v.get<std::int64_t>();
      else if (key == "max_seconds") ao.max_seconds = v.get<double>();
      else FLATMIN_CHECK(false, "hessian options: unknown key '" << key << "'");
    } catch (const nlohmann::json::type_error&) {
      throw common::InputTypeError("hessian option " + key + " = " + v.dump() + " has the wrong type");
    }
  }
  FLATMIN_CHECK(ao.power.max_iter >= 1, "maxIter = " << ao.power.max_iter << " must be >= 1");
  FLATMIN_CHECK(ao.power.tol >= 0 && std::isfinite(ao.power.tol), "tol = " << ao.power.tol << " must be >= 0");
  FLATMIN_CHECK(ao.pyhessian_trace.max_iter >= 1, "maxIter = " << ao.pyhessian_trace.max_iter << " must be >= 1");
  FLATMIN_CHECK(ao.pyhessian_trace.tol >= 0 && std::isfinite(ao.pyhessian_trace.tol),
                "tol = " << ao.pyhessian_trace.tol << " must be >= 0");
  return ao;
}

torch::Tensor to_tensor(const fh::Vec& v) {
  return torch::from_blob(const_cast<double*>(v.data()), {static_cast<std::int64_t>(v.size())}, torch::kFloat64).clone();
}

}  // namespace

void bind_hessian(py::module_& m) {
  // flatmin.hessian.spectrum and flatmin.pyhessian: one analysis; summary.json plus what PyHessian
  // returns beyond it: eigenvectors (flat float64, parameters() order), SLQ nodes/weights per run and
  // the smoothed density. reseed: torch.manual_seed(seed) first (spectrum, as the CLI) or continue
  // torch's stream (pyhessian).
  m.def(
      "hessian_analyze",
      [](const py::object& module, const torch::Tensor& x, const torch::Tensor& y, const std::string& loss,
         const std::string& reduction, const std::string& dtype, const std::string& device,
         const std::string& param_regex, double weight_decay, std::int64_t batch_size, const std::string& options,
         bool reseed, bool progress) {
        const auto oo = operator_options(loss, reduction, dtype, device, param_regex, weight_decay, batch_size);
        auto ao = analysis_options(options);
        ao.progress = progress ? &std::cerr : nullptr;
        const auto a = run_analysis(module, x, y, oo, ao, reseed);
        py::list vectors, nodes, weights;
        for (const auto& p : a.summary.eigenpairs) vectors.append(to_tensor(p.vector));
        for (const auto& q : a.summary.slq.runs) {
          nodes.append(py::cast(q.nodes));
          weights.append(py::cast(q.weights));
        }
        py::dict out;
        out["summary"] = a.json.dump();
        out["eigenvectors"] = vectors;
        out["slq_nodes"] = nodes;
        out["slq_weights"] = weights;
        out["esd_grid"] = py::cast(a.summary.esd.grid);
        out["esd_density"] = py::cast(a.summary.esd.density);
        return out;
      },
      py::arg("module"), py::arg("x"), py::arg("y"), py::arg("loss"), py::arg("reduction"), py::arg("dtype"),
      py::arg("device"), py::arg("param_regex"), py::arg("weight_decay"), py::arg("batch_size"), py::arg("options"),
      py::arg("reseed"), py::arg("progress"));
}

}  // namespace flatmin::python
