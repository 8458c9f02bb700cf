#pragma once
/// \file
/// Validation helpers shared by the optimizers' Options::validate(): one message format
/// ("<optimizer>: <option> = <value> violates <constraint>"), thrown as flatmin::common::InputError.
#include <cmath>
#include <string>
#include <tuple>

#include "common/error.h"

namespace flatmin::optim::detail {

inline void check_lr(const std::string& who, double lr) {
  FLATMIN_CHECK(std::isfinite(lr) && lr >= 0.0, who << ": lr = " << lr << " violates 0 <= lr < inf");
}

inline void check_nonneg(const std::string& who, const std::string& name, double x) {
  FLATMIN_CHECK(std::isfinite(x) && x >= 0.0, who << ": " << name << " = " << x << " violates 0 <= " << name << " < inf");
}

inline void check_beta(const std::string& who, const std::string& name, double b) {
  FLATMIN_CHECK(std::isfinite(b) && b >= 0.0 && b < 1.0, who << ": " << name << " = " << b << " violates 0 <= " << name << " < 1");
}

inline void check_betas(const std::string& who, const std::tuple<double, double>& betas) {
  check_beta(who, "betas[0]", std::get<0>(betas));
  check_beta(who, "betas[1]", std::get<1>(betas));
}

}  // namespace flatmin::optim::detail
