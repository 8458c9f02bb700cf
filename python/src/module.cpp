// flatmin._C: the C++ core for Python. Every C++ error reaches Python as one clear exception without
// a C++ backtrace: bad input as ValueError (TypeError for a value of the wrong type), a diverged run
// as FloatingPointError, anything else as RuntimeError — with the CLI's one-line message.
#include <pybind11/pybind11.h>
#include <torch/extension.h>

#include "common/error.h"
#include "common/status.h"
#include "python/src/bindings.h"

namespace py = pybind11;

PYBIND11_MODULE(_C, m) {
  m.doc() = "flatmin's C++ core (optimizers, Hessian spectra, theory); use the flatmin package, not this module";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const flatmin::common::InputTypeError& e) {
      PyErr_SetString(PyExc_TypeError, flatmin::common::single_line(e.what()).c_str());
    } catch (const flatmin::common::InputError& e) {
      PyErr_SetString(PyExc_ValueError, flatmin::common::single_line(e.what()).c_str());
    } catch (const flatmin::common::DivergedError& e) {
      PyErr_SetString(PyExc_FloatingPointError, ("diverged: " + flatmin::common::single_line(e.what())).c_str());
    } catch (const c10::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, flatmin::common::single_line(e.what_without_backtrace()).c_str());
    }
  });
  flatmin::python::bind_optim(m);
  flatmin::python::bind_theory(m);
  flatmin::python::bind_hessian(m);
}
