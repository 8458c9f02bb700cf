#pragma once
/// \file
/// 2-D test landscapes for MIAdam's Fig. 2 simulations: value, gradient and Hessian in closed form,
/// and their critical points. No LibTorch here; the vectorised runs (trajectories.h) call these per path.
///
/// * `yang`: f(x, y) = x² + y² + 5 sin(x + y²) (Yang 2020, arXiv 2012.12418, Eq. (20); spec theory.md §11.2;
///   the formulas and critical points are theory::Yang2020's, theory/landscape.h),
///   Fig. 2(a)–(d) of the MIAdam paper.
/// * `multiwell`: the paper's Fig. 2(e) landscape is UNKNOWN; ours (docs/simulations.md) is separable,
///   f(x, y) = g(x) + g(y), g(u) = q u² − Σ_j d_j exp(−(u − c_j)² / (2 w_j²)): wells of chosen widths,
///   so its minima are products of the 1-D minima (flat×flat, flat×sharp, sharp×sharp).
#include <array>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flatmin::simulations {

/// Symmetric 2×2 Hessian [[xx, xy], [xy, yy]].
struct Hessian2 {
  double xx = 0, xy = 0, yy = 0;
  /// Eigenvalues, ascending (closed form for a symmetric 2×2).
  std::array<double, 2> eigenvalues() const;
  /// |λ1| + |λ2| — the paper's flatness metric ("sum of the absolute values of the eigenvalues").
  double sum_abs_eigenvalues() const;
};

struct CriticalPoint {
  double x = 0, y = 0, f = 0;
  std::array<double, 2> eig{};  ///< ascending
  std::string type;             ///< "min", "saddle", "max"
};

class Landscape {
 public:
  virtual ~Landscape() = default;
  virtual std::string name() const = 0;
  virtual double value(double x, double y) const = 0;
  virtual void gradient(double x, double y, double& gx, double& gy) const = 0;
  virtual Hessian2 hessian(double x, double y) const = 0;
  /// Every critical point in the closed box [lo, hi]² (found by the landscape's structure + Newton).
  virtual std::vector<CriticalPoint> critical_points(double lo, double hi) const = 0;
  /// The resolved parameters (for manifests).
  virtual nlohmann::json describe() const = 0;
};

/// Yang 2020: f = x² + y² + 5 sin(x + y²).
class YangLandscape final : public Landscape {
 public:
  std::string name() const override { return "yang"; }
  double value(double x, double y) const override;
  void gradient(double x, double y, double& gx, double& gy) const override;
  Hessian2 hessian(double x, double y) const override;
  std::vector<CriticalPoint> critical_points(double lo, double hi) const override;
  nlohmann::json describe() const override;
};

/// Separable multi-well landscape (our choice for Fig. 2(e); see the file comment).
class MultiWellLandscape final : public Landscape {
 public:
  struct Well {
    double centre, width, depth;
  };
  MultiWellLandscape(std::vector<Well> wells, double confinement);
  /// The default: four wells at −4.5, −1.5, 1.5, 4.5 of depth 2, alternately flat (width 0.9) and sharp
  /// (width 0.3), confinement q = 0.02 → 16 minima: 4 flat×flat, 8 mixed, 4 sharp×sharp.
  static MultiWellLandscape default_landscape();
  std::string name() const override { return "multiwell"; }
  double value(double x, double y) const override;
  void gradient(double x, double y, double& gx, double& gy) const override;
  Hessian2 hessian(double x, double y) const override;
  std::vector<CriticalPoint> critical_points(double lo, double hi) const override;
  nlohmann::json describe() const override;
  /// The 1-D profile g and its derivatives.
  double g(double u) const;
  double dg(double u) const;
  double d2g(double u) const;
  /// Roots of g' in [lo, hi] (scan + bisection + Newton polish), ascending.
  std::vector<double> critical_points_1d(double lo, double hi) const;

 private:
  std::vector<Well> wells_;
  double q_;
};

/// Ackley's function (Ackley 1987; the 2-D form of the standard benchmark, a = 20, b = 0.2, c = 2π):
/// f = −20 exp(−0.2 √(½(x² + y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20. A lattice of local minima near the
/// integer points around the global minimum f(0, 0) = 0, which is a cone tip: its gradient is taken as 0 there and
/// it is not among critical_points() (the Hessian is unbounded). Adam+CM's exploration benchmark (arXiv 2307.09638).
class AckleyLandscape final : public Landscape {
 public:
  std::string name() const override { return "ackley"; }
  double value(double x, double y) const override;
  void gradient(double x, double y, double& gx, double& gy) const override;
  Hessian2 hessian(double x, double y) const override;
  std::vector<CriticalPoint> critical_points(double lo, double hi) const override;
  nlohmann::json describe() const override;
};

/// The Goldstein–Price function (Goldstein & Price 1971): f = [1 + (x+y+1)²(19 − 14x + 3x² − 14y + 6xy + 3y²)]
/// · [30 + (2x−3y)²(18 − 32x + 12x² + 48y − 36xy + 27y²)]; global minimum f(0, −1) = 3 and local minima of
/// f = 30, 84, 840 in [−2, 2]². Adam+CM's second exploration benchmark (arXiv 2307.09638).
class GoldsteinPriceLandscape final : public Landscape {
 public:
  std::string name() const override { return "goldstein_price"; }
  double value(double x, double y) const override;
  void gradient(double x, double y, double& gx, double& gy) const override;
  Hessian2 hessian(double x, double y) const override;
  std::vector<CriticalPoint> critical_points(double lo, double hi) const override;
  nlohmann::json describe() const override;
};

/// Builds a landscape from {"name": "yang"}, {"name": "ackley"}, {"name": "goldstein_price"} or {"name": "multiwell", "wells": [{"centre", "width",
/// "depth"}...], "confinement": q} (InputError on bad input; absent multiwell fields take the defaults).
std::unique_ptr<Landscape> make_landscape(const nlohmann::json& cfg);

}  // namespace flatmin::simulations
