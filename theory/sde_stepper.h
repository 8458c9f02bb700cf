#pragma once
/// \file
/// Euler–Maruyama as a Boost.Odeint custom stepper (theory.md §12).
///
/// Models odeint's Stepper concept (stepper_tag, order(), do_step). The system is a std::pair of
/// functors: `.first(x, det, t)` writes the drift f(x), `.second(x, stoch, t)` writes g(x)·ξ with
/// ξ ~ N(0, 1) drawn inside the functor ONCE per call (i.e. once per step). The stepper does
///   x_i += dt·det_i + sqrt(dt)·stoch_i          (Itô: f and g evaluated at the start of the step)
/// so the stochastic functor must already include the factor sqrt(2D(x)). Strong order 0.5, weak
/// order 1. The functors hold their RNG by pointer/reference, so copies of the pair (odeint passes
/// systems by value) share one stream. integrate_const works with it; first-passage problems call
/// do_step in their own loop (integrate_const cannot stop at an exit).

#include <array>
#include <cmath>
#include <cstddef>

#include <boost/numeric/odeint/stepper/stepper_categories.hpp>

namespace flatmin::theory {

template <std::size_t N>
class StochasticEuler {
 public:
  using state_type = std::array<double, N>;
  using deriv_type = std::array<double, N>;
  using value_type = double;
  using time_type = double;
  using order_type = unsigned short;
  using stepper_category = boost::numeric::odeint::stepper_tag;

  static order_type order() { return 1; }

  template <class System>
  void do_step(System system, state_type& x, time_type t, time_type dt) const {
    deriv_type det{}, stoch{};
    system.first(x, det, t);
    system.second(x, stoch, t);
    const double sq = std::sqrt(dt);
    for (std::size_t i = 0; i < N; ++i) x[i] += dt * det[i] + sq * stoch[i];
  }
};

}  // namespace flatmin::theory
