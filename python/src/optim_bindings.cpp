// flatmin._C optimizer bindings: a registry optimizer held in C++, stepped from Python; options and
// per-parameter state cross the boundary as JSON text and checkpoint archives (the optimizers' own
// save/load), so nothing about any optimizer is restated here.
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <torch/extension.h>

#include "common/error.h"
#include "optim/optimizer_base.h"
#include "optim/registry.h"
#include "python/src/bindings.h"

namespace flatmin::python {

namespace py = pybind11;
using nlohmann::json;

namespace {

json parse_json(const std::string& text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw common::InputError(what + ": not JSON-serialisable options (" + e.what() + ")");
  }
}

py::object to_python(const c10::IValue& v) {
  if (v.isTensor()) return py::cast(v.toTensor());
  if (v.isInt()) return py::int_(v.toInt());
  if (v.isDouble()) return py::float_(v.toDouble());
  if (v.isBool()) return py::bool_(v.toBool());
  if (v.isString()) return py::str(v.toStringRef());
  if (v.isNone()) return py::none();
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    py::tuple out(elems.size());
    for (size_t k = 0; k < elems.size(); ++k) out[k] = to_python(elems[k]);
    return std::move(out);
  }
  if (v.isList()) {
    py::list out;
    for (const auto& e : v.toListRef()) out.append(to_python(e));
    return std::move(out);
  }
  throw std::runtime_error("optimizer state entry of unsupported type " + v.tagKind());
}

c10::IValue to_ivalue(const py::handle& v, const std::string& key) {
  if (THPVariable_Check(v.ptr())) return c10::IValue(py::cast<torch::Tensor>(v));
  if (py::isinstance<py::bool_>(v)) return c10::IValue(v.cast<bool>());
  if (py::isinstance<py::int_>(v)) return c10::IValue(v.cast<int64_t>());
  if (py::isinstance<py::float_>(v)) return c10::IValue(v.cast<double>());
  if (py::isinstance<py::str>(v)) return c10::IValue(v.cast<std::string>());
  if (py::isinstance<py::tuple>(v)) {  // e.g. betas
    std::vector<c10::IValue> elems;
    for (const auto& e : v.cast<py::tuple>()) elems.push_back(to_ivalue(e, key));
    return c10::IValue(c10::ivalue::Tuple::create(std::move(elems)));
  }
  if (py::isinstance<py::list>(v)) {  // lists of integers or of numbers
    const auto seq = v.cast<py::sequence>();
    bool ints = true;
    for (const auto& e : seq) ints = ints && py::isinstance<py::int_>(e) && !py::isinstance<py::bool_>(e);
    if (ints) return c10::IValue(v.cast<std::vector<int64_t>>());
    return c10::IValue(v.cast<std::vector<double>>());
  }
  throw common::InputTypeError("optimizer state entry '" + key + "' must be a tensor, number, bool, string or list of numbers, got " +
                               std::string(py::str(v.get_type().attr("__name__"))));
}

torch::serialize::InputArchive reopen(torch::serialize::OutputArchive& out) {
  std::ostringstream os;
  out.save_to(os);
  std::istringstream is(os.str());
  torch::serialize::InputArchive in;
  in.load_from(is);
  return in;
}

/// A checkpoint archive's entries as {name: value}.
py::dict to_dict(torch::serialize::OutputArchive& out) {
  auto in = reopen(out);
  py::dict d;
  for (const auto& key : in.keys()) {
    c10::IValue v;
    in.read(key, v);
    d[py::str(key)] = to_python(v);
  }
  return d;
}

/// {name: value} as a checkpoint archive (what to_dict read).
torch::serialize::InputArchive from_dict(const py::object& state, const std::string& what) {
  FLATMIN_CHECK(py::isinstance<py::dict>(state), what << " must be a dict");
  torch::serialize::OutputArchive out;
  for (const auto& [k, v] : state.cast<py::dict>()) {
    const auto key = py::str(k).cast<std::string>();
    const c10::IValue iv = to_ivalue(v, key);
    if (iv.isTensor()) {
      out.write(key, iv.toTensor(), /*is_buffer=*/true);
    } else {
      out.write(key, iv);
    }
  }
  return reopen(out);
}

/// A registry optimizer with Python-facing accessors.
class PyOptimizer {
 public:
  PyOptimizer(std::string name, const std::string& options, const std::vector<std::pair<std::vector<torch::Tensor>, std::string>>& groups)
      : name_(std::move(name)) {
    std::vector<optim::GroupSpec> specs;
    for (size_t i = 0; i < groups.size(); ++i) {
      specs.push_back({groups[i].first, parse_json(groups[i].second, name_ + " group " + std::to_string(i))});
    }
    opt_ = optim::make_optimizer(name_, parse_json(options, name_), std::move(specs));
  }

  void step() {
    py::gil_scoped_release release;
    opt_->step();
  }
  void add_param_group(std::vector<torch::Tensor> params, const std::string& options) {
    const auto what = name_ + " group " + std::to_string(opt_->param_groups().size());
    optim::add_param_group(name_, *opt_, {std::move(params), parse_json(options, what)});
  }
  void set_epoch(int64_t epoch) { optim::set_epoch(*opt_, epoch); }
  int64_t epoch() const {
    const auto* b = dynamic_cast<const optim::OptimizerBase*>(opt_.get());
    return b == nullptr ? 1 : b->epoch();
  }
  std::string defaults() const { return optim::resolved_defaults(name_, *opt_).dump(); }
  std::string group_options(size_t i) const { return optim::resolved_options(name_, *opt_).at(check_group(i)).dump(); }
  void set_group_options(size_t i, const std::string& options) {
    optim::set_group_options(name_, *opt_, check_group(i), parse_json(options, name_));
  }

  /// Parameter j of group i's state as {name: value} (None before its first step).
  py::object param_state(size_t i, size_t j) const {
    torch::serialize::OutputArchive out;
    if (!optim::save_param_state(*opt_, param(i, j), out)) return py::none();
    return to_dict(out);
  }

  /// Replaces parameter j of group i's state (None: no state), checked as a checkpoint is.
  void set_param_state(size_t i, size_t j, const py::object& state) {
    const torch::Tensor& p = param(i, j);
    if (state.is_none()) return optim::load_param_state(*opt_, p, nullptr);
    auto in = from_dict(state, "optimizer state of parameter " + std::to_string(j) + " of group " + std::to_string(i));
    optim::load_param_state(*opt_, p, &in);
  }

  /// The optimizer-level state (epoch, DualAdam's counter, Adam+CM's generators), {} for LibTorch's own.
  py::dict extra_state() const {
    const auto* b = dynamic_cast<const optim::OptimizerBase*>(opt_.get());
    if (b == nullptr) return {};
    torch::serialize::OutputArchive out;
    b->save_extra_state(out);
    return to_dict(out);
  }
  /// Group i's options as the checkpoint holds them (internal fields included); None for LibTorch's own.
  py::object group_archive(size_t i) const {
    const auto* b = dynamic_cast<const optim::OptimizerBase*>(opt_.get());
    if (b == nullptr) return py::none();
    torch::serialize::OutputArchive out;
    b->save_group_options(check_group(i), out);
    return to_dict(out);
  }
  void set_group_archive(size_t i, const py::object& state) {
    auto* b = dynamic_cast<optim::OptimizerBase*>(opt_.get());
    if (b == nullptr || state.is_none()) return;
    auto in = from_dict(state, "optimizer state 'flatmin.groups'");
    b->load_group_options(check_group(i), in);
  }
  void set_extra_state(const py::object& state) {
    auto* b = dynamic_cast<optim::OptimizerBase*>(opt_.get());
    if (b == nullptr) return;
    auto in = from_dict(state, "optimizer state 'flatmin.extra'");
    b->load_extra_state(in);
  }

 private:
  size_t check_group(size_t i) const {
    FLATMIN_CHECK(i < opt_->param_groups().size(), "group " << i << " out of range (the optimizer has "
                                                            << opt_->param_groups().size() << ")");
    return i;
  }
  const torch::Tensor& param(size_t i, size_t j) const {
    const auto& ps = opt_->param_groups()[check_group(i)].params();
    FLATMIN_CHECK(j < ps.size(), "parameter " << j << " of group " << i << " out of range");
    return ps[j];
  }
  std::string name_;
  std::unique_ptr<torch::optim::Optimizer> opt_;
};

py::list schema_of(const std::string& name) {
  py::list out;
  for (const auto& f : optim::optimizer_schema(name)) {
    py::dict d;
    d["name"] = f.name;
    d["type"] = f.type;
    d["default"] = py::module_::import("json").attr("loads")(f.default_value.dump());
    d["constraint"] = f.constraint;
    d["source"] = f.source;
    d["doc"] = f.doc;
    out.append(d);
  }
  return out;
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("optimizer_names", &optim::registry_names, "Every registry optimizer name, sorted.");
  m.def("optimizer_schema", &schema_of, py::arg("name"), "The options of optimizer `name` as dicts.");
  py::class_<PyOptimizer>(m, "Optimizer")
      .def(py::init<std::string, const std::string&, const std::vector<std::pair<std::vector<torch::Tensor>, std::string>>&>(),
           py::arg("name"), py::arg("options_json"), py::arg("groups"))
      .def("step", &PyOptimizer::step)
      .def("add_param_group", &PyOptimizer::add_param_group, py::arg("params"), py::arg("options_json"))
      .def("set_epoch", &PyOptimizer::set_epoch)
      .def("epoch", &PyOptimizer::epoch)
      .def("defaults", &PyOptimizer::defaults)
      .def("group_options", &PyOptimizer::group_options)
      .def("set_group_options", &PyOptimizer::set_group_options)
      .def("param_state", &PyOptimizer::param_state)
      .def("set_param_state", &PyOptimizer::set_param_state)
      .def("extra_state", &PyOptimizer::extra_state)
      .def("group_archive", &PyOptimizer::group_archive)
      .def("set_group_archive", &PyOptimizer::set_group_archive)
      .def("set_extra_state", &PyOptimizer::set_extra_state);
}

}  // namespace flatmin::python
