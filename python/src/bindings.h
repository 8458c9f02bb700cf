#pragma once
// The parts of the flatmin._C extension module (python/src/module.cpp), one per flatmin module.
#include <pybind11/pybind11.h>

namespace flatmin::python {

void bind_optim(pybind11::module_& m);
void bind_theory(pybind11::module_& m);
void bind_hessian(pybind11::module_& m);

}  // namespace flatmin::python
