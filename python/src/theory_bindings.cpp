// flatmin._C theory bindings: the LibTorch-free theory core with the CLI's configs and outputs.
// Configs and results cross the boundary as JSON text (the same documents `flatmin-theory` reads
// and writes as summary.json); the computations run without the GIL.
#include <string>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "common/error.h"
#include "python/src/bindings.h"
#include "theory/miadam_gain.h"
#include "theory/quadrature.h"
#include "theory/regret.h"
#include "theory/runs.h"

namespace flatmin::python {

namespace py = pybind11;
using nlohmann::json;

namespace {

json parse_config(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw common::InputError(std::string("theory config: not JSON (") + e.what() + ")");
  }
}

}  // namespace

void bind_theory(py::module_& m) {
  m.def(
      "escape_time",
      [](const std::string& config, bool progress) {
        const json cfg = parse_config(config);
        py::gil_scoped_release release;
        return theory::escape_time_summary(cfg, progress).to_json().dump();
      },
      py::arg("config_json"), py::arg("progress") = false);
  m.def(
      "exact_escape",
      [](const std::string& config) {
        const json cfg = parse_config(config);
        py::gil_scoped_release release;
        const auto problem = theory::parse_escape_problem(cfg);
        const auto e = theory::exact_escape(problem, theory::QuadratureOptions{});
        return json{{"time", e.time}, {"exponent", e.exponent}, {"discretisation_bias", e.discretisation_bias},
                    {"laplace", e.laplace}}
            .dump();
      },
      py::arg("config_json"));
  m.def(
      "regret",
      [](const std::string& config) {
        const auto rc = theory::parse_regret_config(parse_config(config));
        py::gil_scoped_release release;
        json out = {{"config", theory::to_json(rc)}, {"curves", json::array()}};
        for (const auto& c : theory::run_regret(rc)) {
          out["curves"].push_back({{"optimizer", c.opt.name}, {"kappa", c.opt.kappa}, {"t", c.t},
                                   {"R_over_T", c.mean}, {"lo95", c.lo}, {"hi95", c.hi}});
        }
        return out.dump();
      },
      py::arg("config_json"));
  m.def(
      "miadam_gain",
      [](double kappa, int order, double lr, std::int64_t steps) {
        const auto g = theory::miadam_gain_table(kappa, order, lr, steps);
        return json{{"step", g.step}, {"buffer_gain", g.buffer_gain}, {"step_ratio", g.step_ratio},
                    {"steady_step_ratio", g.steady_step_ratio}}
            .dump();
      },
      py::arg("kappa"), py::arg("order"), py::arg("lr"), py::arg("steps"));
}

}  // namespace flatmin::python
