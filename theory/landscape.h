#pragma once
/// \file
/// Test landscapes with value, gradient, Hessian and their known critical points
/// (spec theory.md §5 and §11).
///
/// - DoubleWell1D: L_k(θ) = ΔL (kθ² − 1)², the sharpness family L_k(θ) = L(√k θ) of the worked
///   example (theory.md §5): minima ±1/√k with H_a = 8ΔLk, saddle 0 with H_b = −4ΔLk, barrier ΔL
///   independent of k. Its SGD-shaped noise profile is h_k(θ) = k·h(√kθ), h(θ) = 4ΔL(1+θ²), so
///   h_k(a) = H_a and h_k(b) = |H_b| (C ∝ H/B kept under the rescaling).
/// - QuadraticDoubleWell: the d-dimensional version L = ΔL(kθ₁² − 1)² + ½ Σ_{i≥2} λ_i θ_i²
///   (separable; minima (±1/√k, 0, …), index-1 saddle at 0).
/// - Yang2020: f(x, y) = x² + y² + 5 sin(x + y²) (theory.md §11.2), critical points located by
///   Newton's method from the analytic structure (§11.3), never hard-coded.

#include <cstddef>
#include <string>
#include <vector>

#include <Eigen/Dense>

namespace flatmin::theory {

/// The 1-D escape landscape: by default L_k(θ) = ΔL (kθ² − 1)² with its SGD-shaped noise profile
/// (theory.md §5 worked example). With `poly` non-empty it is the user's polynomial
/// L(θ) = Σ_i poly[i] θ^i instead (`make_polynomial`: start well a < saddle b located by Newton);
/// sgd_shaped noise and the k family exist only for the double well.
struct DoubleWell1D {
  double dL = 1.0;  ///< barrier ΔL = L(0) − L(a) > 0 (double well)
  double k = 1.0;   ///< sharpness scale k > 0 (double well)
  std::vector<double> poly;  ///< polynomial coefficients c_0..c_n (empty = double well)
  double poly_a = 0, poly_b = 0;  ///< located minimum and saddle of the polynomial

  bool is_polynomial() const { return !poly.empty(); }
  double value(double th) const {
    if (is_polynomial()) {
      double v = 0;
      for (std::size_t i = poly.size(); i-- > 0;) v = v * th + poly[i];
      return v;
    }
    const double u = k * th * th - 1.0;
    return dL * u * u;
  }
  double grad(double th) const {
    if (is_polynomial()) {
      double v = 0;
      for (std::size_t i = poly.size(); i-- > 1;) v = v * th + static_cast<double>(i) * poly[i];
      return v;
    }
    return 4.0 * dL * k * th * (k * th * th - 1.0);
  }
  double hess(double th) const {
    if (is_polynomial()) {
      double v = 0;
      for (std::size_t i = poly.size(); i-- > 2;) v = v * th + static_cast<double>(i * (i - 1)) * poly[i];
      return v;
    }
    return 4.0 * dL * k * (3.0 * k * th * th - 1.0);
  }
  /// SGD-shaped noise profile h_k(θ) = k·4ΔL(1 + kθ²) (theory.md §5; double well only).
  double h_sgd(double th) const { return 4.0 * dL * k * (1.0 + k * th * th); }

  double minimum() const;  ///< start well a (double well: −1/√k)
  double saddle() const;   ///< b (double well: 0)
  double absorb() const;   ///< default absorbing point c = b + (b − a)/2 (double well: 0.5/√k)
  double barrier() const { return value(saddle()) - value(minimum()); }
  /// Left boundary of the quadrature: a − 2(b − a) (double well: −3/√k, theory.md §8).
  double left_boundary() const { return minimum() - 2.0 * (saddle() - minimum()); }
};

/// A polynomial landscape: locates the minimum and the saddle by Newton's method from the guesses.
/// Throws common::InputError unless they converge to a minimum a < saddle b with L(b) > L(a), and the
/// polynomial has even degree with a positive leading coefficient (so paths cannot run off to −∞).
DoubleWell1D make_polynomial(std::vector<double> coeffs, double minimum_guess, double saddle_guess);

/// A critical point of a multi-dimensional landscape.
struct CriticalPoint {
  Eigen::VectorXd x;
  double value = 0;
  Eigen::VectorXd eigenvalues;   ///< Hessian eigenvalues, ascending
  Eigen::MatrixXd eigenvectors;  ///< matching unit eigenvectors (columns)
  int index = 0;                 ///< number of negative eigenvalues (0 = minimum, 1 = saddle)
  std::string label;
};

/// d-dimensional quadratic double well (d >= 1): L = ΔL(kθ₁² − 1)² + ½ Σ_{i≥2} λ_i θ_i².
struct QuadraticDoubleWell {
  double dL = 1.0;
  double k = 1.0;
  Eigen::VectorXd lambda;  ///< curvatures λ_2..λ_d (size d − 1, each > 0)

  int dim() const { return 1 + static_cast<int>(lambda.size()); }
  double value(const Eigen::VectorXd& x) const;
  Eigen::VectorXd grad(const Eigen::VectorXd& x) const;
  Eigen::MatrixXd hess(const Eigen::VectorXd& x) const;
  /// a = (−1/√k, 0, …), the saddle 0 and the other minimum (+1/√k, 0, …).
  std::vector<CriticalPoint> critical_points() const;
};

/// Yang 2020: f(x, y) = x² + y² + 5 sin(x + y²) (theory.md §11.2).
struct Yang2020 {
  static double value(const Eigen::Vector2d& p);
  static Eigen::Vector2d grad(const Eigen::Vector2d& p);
  static Eigen::Matrix2d hess(const Eigen::Vector2d& p);
  /// Every critical point in the box [−lim, lim]², found from the structure of ∇f = 0
  /// (y = 0 with 2x + 5cos x = 0, or x = 0.5 with cos(0.5 + y²) = −1/5) and polished by Newton.
  /// Sorted by (x, y).
  static std::vector<CriticalPoint> critical_points(double lim = 6.0);

  /// The named points of theory.md §11.3/§11.4, picked from critical_points(): a+ = the minimum on x = 0.5
  /// with the smallest y > 0 (the start), u+ = the saddle on x = 0.5 with the smallest y > 0, b = the minimum
  /// on y = 0 (the other side). std::logic_error if one is missing (it never is on [−6, 6]²).
  struct Named {
    CriticalPoint a, u, b;
  };
  static Named named_points();
};

/// Escape geometry between a minimum a and an index-1 saddle u (theory.md §11.4 / Eq. 14):
/// ΔL, the unstable direction e of H_u, H_ue < 0, the curvature H_ae of the eigen-direction of H_a
/// closest to e, and |det(H_a⁻¹ H_u)|^{1/4}.
struct EscapeGeometry {
  double dL = 0, H_ae = 0, H_ue = 0, det_ratio_quarter = 0;
  Eigen::VectorXd e;
};
EscapeGeometry escape_geometry(const CriticalPoint& a, const CriticalPoint& u);

/// Fills value/eigen-decomposition/index of a critical point from a Hessian.
CriticalPoint make_critical_point(const Eigen::VectorXd& x, double value, const Eigen::MatrixXd& H,
                                  std::string label = {});

}  // namespace flatmin::theory
