#include "experiments/simulations/study.h"

#include <cmath>
#include <limits>

#include "common/error.h"

namespace flatmin::simulations {

const char* end_class_name(EndClass c) {
  switch (c) {
    case EndClass::kFlat: return "flat";
    case EndClass::kSharp: return "sharp";
    case EndClass::kNone: return "none";
    case EndClass::kDiverged: return "diverged";
  }
  return "?";
}

void study_grid(const StudySpec& spec, std::vector<double>& x0, std::vector<double>& y0) {
  FLATMIN_CHECK(spec.n >= 1, "grid n = " << spec.n << " must be >= 1");
  FLATMIN_CHECK(std::isfinite(spec.lo) && std::isfinite(spec.hi) && spec.lo < spec.hi,
                "grid: need finite lo < hi (got " << spec.lo << ", " << spec.hi << ")");
  x0.clear();
  y0.clear();
  auto at = [&](int64_t i) {
    return spec.n == 1 ? 0.5 * (spec.lo + spec.hi) : spec.lo + (spec.hi - spec.lo) * double(i) / double(spec.n - 1);
  };
  for (int64_t j = 0; j < spec.n; ++j) {
    for (int64_t i = 0; i < spec.n; ++i) {
      x0.push_back(at(i));
      y0.push_back(at(j));
    }
  }
}

std::vector<CriticalPoint> landscape_minima(const Landscape& l, double lo, double hi) {
  std::vector<CriticalPoint> out;
  for (const auto& c : l.critical_points(lo, hi)) {
    if (c.type == "min") out.push_back(c);
  }
  return out;
}

double resolve_flat_max(const StudySpec& spec, const std::vector<CriticalPoint>& minima) {
  if (spec.flat_max > 0) return spec.flat_max;
  FLATMIN_CHECK(!minima.empty(), "study: the landscape has no minimum in the grid box");
  double flattest = std::numeric_limits<double>::infinity();
  for (const auto& m : minima) flattest = std::min(flattest, std::abs(m.eig[0]) + std::abs(m.eig[1]));
  return 1.5 * flattest;
}

EndClass classify_end_point(const Landscape& l, const std::vector<CriticalPoint>& minima, double x, double y,
                            double radius, double flat_max, int& minimum) {
  minimum = -1;
  if (!std::isfinite(x) || !std::isfinite(y) || !std::isfinite(l.hessian(x, y).sum_abs_eigenvalues())) {
    return EndClass::kDiverged;
  }
  double best_d = radius;
  for (size_t k = 0; k < minima.size(); ++k) {
    const double d = std::hypot(x - minima[k].x, y - minima[k].y);
    if (d <= best_d) {
      best_d = d;
      minimum = int(k);
    }
  }
  if (minimum < 0) return EndClass::kNone;
  const auto& mm = minima[size_t(minimum)];
  return std::abs(mm.eig[0]) + std::abs(mm.eig[1]) <= flat_max ? EndClass::kFlat : EndClass::kSharp;
}

StudyResult run_study(const Landscape& l, const OptimizerSpec& optimizer, const StudySpec& spec,
                      const std::vector<CriticalPoint>& minima) {
  FLATMIN_CHECK(spec.capture_radius > 0 && std::isfinite(spec.capture_radius),
                "capture_radius = " << spec.capture_radius << " must be > 0");
  StudyResult r;
  r.optimizer = optimizer.name;
  study_grid(spec, r.x0, r.y0);
  const auto run = run_2d(l, optimizer, r.x0, r.y0, spec.run);
  r.options = run.resolved_options;
  r.x = spec.run.tail > 0 ? run.tail_x : run.x;
  r.y = spec.run.tail > 0 ? run.tail_y : run.y;
  const double flat_max = resolve_flat_max(spec, minima);
  const size_t n = r.x.size();
  double s = 0;
  size_t finite = 0, counts[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < n; ++i) {
    const bool ok = std::isfinite(r.x[i]) && std::isfinite(r.y[i]);
    const double m = ok ? l.hessian(r.x[i], r.y[i]).sum_abs_eigenvalues() : std::numeric_limits<double>::quiet_NaN();
    r.metric.push_back(m);
    int best = -1;
    const EndClass c = classify_end_point(l, minima, r.x[i], r.y[i], spec.capture_radius, flat_max, best);
    r.minimum.push_back(best);
    r.cls.push_back(c);
    ++counts[int(c)];
    if (ok && std::isfinite(m)) {
      s += m;
      ++finite;
    }
  }
  if (finite > 0) {
    r.mean = s / double(finite);
    double ss = 0;  // second pass: sum of squared deviations
    for (double m : r.metric) {
      if (std::isfinite(m)) ss += (m - r.mean) * (m - r.mean);
    }
    const double var = finite > 1 ? ss / double(finite - 1) : 0.0;
    r.stderr_ = std::sqrt(std::max(0.0, var) / double(finite));
  } else {
    r.mean = r.stderr_ = std::numeric_limits<double>::quiet_NaN();
  }
  r.frac_flat = double(counts[0]) / double(n);
  r.frac_sharp = double(counts[1]) / double(n);
  r.frac_none = double(counts[2]) / double(n);
  r.frac_diverged = double(counts[3]) / double(n);
  return r;
}

}  // namespace flatmin::simulations
