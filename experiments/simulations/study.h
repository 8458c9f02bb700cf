#pragma once
/// \file
/// MIAdam's 2,500-start study (paper §"Simulations", results in its unavailable appendix): run each optimizer
/// from every point of an n×n grid, and report Σ|eigenvalues of ∇²f| at the end points (mean, standard
/// error, histogram) and the fraction of end points in flat / sharp minima.
#include <cstdint>
#include <string>
#include <vector>

#include "experiments/simulations/landscapes.h"
#include "experiments/simulations/trajectories.h"

namespace flatmin::simulations {

struct StudySpec {
  double lo = -6, hi = 6;  ///< grid box [lo, hi]² (inclusive end points)
  int64_t n = 50;          ///< n×n start points (2,500 for n = 50)
  RunSpec run;             ///< run.tail > 0: the end point is the mean of the last `tail` iterates
  double capture_radius = 0.25;  ///< an end point within this distance of a minimum "ends in" it
  double flat_max = 0;           ///< minima with Σ|eig| ≤ flat_max are "flat" (0: auto = the flattest minimum × 1.5)
};

/// Classification of one end point.
enum class EndClass : int { kFlat = 0, kSharp = 1, kNone = 2, kDiverged = 3 };
const char* end_class_name(EndClass c);

struct StudyResult {
  std::string optimizer;
  nlohmann::json options;
  std::vector<double> x0, y0, x, y, metric;  ///< start, end point, Σ|eig| at the end point
  std::vector<int> minimum;                  ///< index into `minima`, −1 if none within the radius
  std::vector<EndClass> cls;
  double mean = 0, stderr_ = 0;              ///< over finite end points
  double frac_flat = 0, frac_sharp = 0, frac_none = 0, frac_diverged = 0;
};

/// Which minimum (index into `minima`, −1 if none within `radius`) and class an end point has.
EndClass classify_end_point(const Landscape& l, const std::vector<CriticalPoint>& minima, double x, double y,
                            double radius, double flat_max, int& minimum);

/// The grid's start points (row-major: x fastest).
void study_grid(const StudySpec& spec, std::vector<double>& x0, std::vector<double>& y0);

/// Minima of `l` in [lo, hi]² (the critical points of type "min").
std::vector<CriticalPoint> landscape_minima(const Landscape& l, double lo, double hi);

/// The flat threshold actually used (spec.flat_max, or the auto rule).
double resolve_flat_max(const StudySpec& spec, const std::vector<CriticalPoint>& minima);

/// Runs one optimizer over the grid and classifies its end points.
StudyResult run_study(const Landscape& l, const OptimizerSpec& optimizer, const StudySpec& spec,
                      const std::vector<CriticalPoint>& minima);

}  // namespace flatmin::simulations
