#include "experiments/simulations/landscapes.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/config.h"
#include "common/error.h"
#include "common/json_io.h"
#include "common/nearest.h"
#include "theory/landscape.h"

namespace flatmin::simulations {

namespace {

std::string classify(const std::array<double, 2>& eig) {
  if (eig[0] > 0) return "min";
  if (eig[1] < 0) return "max";
  return "saddle";
}

CriticalPoint make_point(const Landscape& l, double x, double y) {
  CriticalPoint c;
  c.x = x;
  c.y = y;
  c.f = l.value(x, y);
  c.eig = l.hessian(x, y).eigenvalues();
  c.type = classify(c.eig);
  return c;
}

/// Roots of a smooth h on [lo, hi]: sign changes on a fine scan, bisection, then Newton polish with dh.
template <class H, class DH>
std::vector<double> roots_1d(H h, DH dh, double lo, double hi, double step) {
  std::vector<double> out;
  double a = lo, ha = h(a);
  if (ha == 0) out.push_back(a);
  const auto n = static_cast<long>(std::ceil((hi - lo) / step));
  for (long i = 1; i <= n; ++i) {
    const double b = std::min(hi, lo + double(i) * step);
    const double hb = h(b);
    if (hb == 0) {
      out.push_back(b);
    } else if (ha != 0 && (ha < 0) != (hb < 0)) {
      double l = a, r = b, hl = ha;
      for (int it = 0; it < 200 && r - l > 1e-15 * std::max(1.0, std::abs(l)); ++it) {
        const double m = 0.5 * (l + r), hm = h(m);
        if ((hm < 0) == (hl < 0)) {
          l = m;
          hl = hm;
        } else {
          r = m;
        }
      }
      double u = 0.5 * (l + r);
      for (int it = 0; it < 3; ++it) {
        const double d = dh(u);
        if (d == 0) break;
        const double v = u - h(u) / d;
        if (v < a || v > b) break;
        u = v;
      }
      out.push_back(u);
    }
    a = b;
    ha = hb;
  }
  return out;
}

}  // namespace

std::array<double, 2> Hessian2::eigenvalues() const {
  const double m = 0.5 * (xx + yy);
  const double r = std::hypot(0.5 * (xx - yy), xy);
  return {m - r, m + r};
}

double Hessian2::sum_abs_eigenvalues() const {
  const auto e = eigenvalues();
  return std::abs(e[0]) + std::abs(e[1]);
}

// ---- Yang 2020 (spec theory.md §11.2, §11.3) ------------------------------------------------

// Yang 2020 Eq. (20), its gradient, Hessian and critical points live in theory/landscape.h (theory::Yang2020);
// this class adapts them to the scalar interface the vectorised runs call per path.
double YangLandscape::value(double x, double y) const { return theory::Yang2020::value({x, y}); }

void YangLandscape::gradient(double x, double y, double& gx, double& gy) const {
  const Eigen::Vector2d g = theory::Yang2020::grad({x, y});
  gx = g[0];
  gy = g[1];
}

Hessian2 YangLandscape::hessian(double x, double y) const {
  const Eigen::Matrix2d h = theory::Yang2020::hess({x, y});
  return {h(0, 0), h(0, 1), h(1, 1)};
}

std::vector<CriticalPoint> YangLandscape::critical_points(double lo, double hi) const {
  std::vector<CriticalPoint> out;
  for (const auto& c : theory::Yang2020::critical_points(std::max(std::abs(lo), std::abs(hi)))) {
    const double x = c.x[0], y = c.x[1];
    if (x < lo || x > hi || y < lo || y > hi) continue;
    out.push_back(make_point(*this, x, y));
  }
  std::sort(out.begin(), out.end(), [](const CriticalPoint& a, const CriticalPoint& b) {
    return a.x != b.x ? a.x < b.x : a.y < b.y;
  });
  return out;
}

nlohmann::json YangLandscape::describe() const {
  return {{"name", "yang"}, {"formula", "x^2 + y^2 + 5 sin(x + y^2)"}, {"source", "Yang 2020 arXiv 2012.12418 Eq. (20)"}};
}

// ---- multiwell (our Fig. 2(e) stand-in; docs/simulations.md) --------------------------------

MultiWellLandscape::MultiWellLandscape(std::vector<Well> wells, double confinement)
    : wells_(std::move(wells)), q_(confinement) {
  FLATMIN_CHECK(!wells_.empty(), "multiwell: 'wells' must not be empty");
  FLATMIN_CHECK(std::isfinite(q_) && q_ >= 0, "multiwell: confinement = " << q_ << " must be finite and >= 0");
  for (const auto& w : wells_) {
    FLATMIN_CHECK(std::isfinite(w.centre) && std::isfinite(w.width) && std::isfinite(w.depth),
                  "multiwell: well parameters must be finite");
    FLATMIN_CHECK(w.width > 0, "multiwell: well width = " << w.width << " must be > 0");
    FLATMIN_CHECK(w.depth > 0, "multiwell: well depth = " << w.depth << " must be > 0");
  }
}

MultiWellLandscape MultiWellLandscape::default_landscape() {
  return MultiWellLandscape({{-4.5, 0.9, 2.0}, {-1.5, 0.3, 2.0}, {1.5, 0.9, 2.0}, {4.5, 0.3, 2.0}}, 0.02);
}

// g(u) = q u² − Σ_j d_j exp(−(u − c_j)² / (2 w_j²))
double MultiWellLandscape::g(double u) const {
  double s = q_ * u * u;
  for (const auto& w : wells_) {
    const double z = (u - w.centre) / w.width;
    s -= w.depth * std::exp(-0.5 * z * z);
  }
  return s;
}

double MultiWellLandscape::dg(double u) const {
  double s = 2.0 * q_ * u;
  for (const auto& w : wells_) {
    const double z = (u - w.centre) / w.width;
    s += w.depth * z / w.width * std::exp(-0.5 * z * z);
  }
  return s;
}

double MultiWellLandscape::d2g(double u) const {
  double s = 2.0 * q_;
  for (const auto& w : wells_) {
    const double z = (u - w.centre) / w.width;
    s += w.depth / (w.width * w.width) * (1.0 - z * z) * std::exp(-0.5 * z * z);
  }
  return s;
}

double MultiWellLandscape::value(double x, double y) const { return g(x) + g(y); }

void MultiWellLandscape::gradient(double x, double y, double& gx, double& gy) const {
  gx = dg(x);
  gy = dg(y);
}

Hessian2 MultiWellLandscape::hessian(double x, double y) const { return {d2g(x), 0.0, d2g(y)}; }

std::vector<double> MultiWellLandscape::critical_points_1d(double lo, double hi) const {
  double wmin = wells_.front().width;
  for (const auto& w : wells_) wmin = std::min(wmin, w.width);
  return roots_1d([this](double u) { return dg(u); }, [this](double u) { return d2g(u); }, lo, hi,
                  std::min(1e-3, wmin / 50));
}

std::vector<CriticalPoint> MultiWellLandscape::critical_points(double lo, double hi) const {
  const auto r = critical_points_1d(lo, hi);
  std::vector<CriticalPoint> out;
  for (double x : r) {
    for (double y : r) out.push_back(make_point(*this, x, y));
  }
  return out;
}

nlohmann::json MultiWellLandscape::describe() const {
  nlohmann::json wells = nlohmann::json::array();
  for (const auto& w : wells_) wells.push_back({{"centre", w.centre}, {"width", w.width}, {"depth", w.depth}});
  return {{"name", "multiwell"},
          {"formula", "g(x) + g(y), g(u) = q u^2 - sum_j d_j exp(-(u - c_j)^2 / (2 w_j^2))"},
          {"wells", wells},
          {"confinement", q_}};
}

// ---- Newton search for the critical points of a smooth landscape ------------------------------

namespace {

/// Critical points in [lo, hi]² by Newton's method on ∇f = 0 from every point of a grid of spacing `step`
/// (converged: |∇f| ≤ tol·(1 + |f|)), de-duplicated within 1e-6.
std::vector<CriticalPoint> newton_critical_points(const Landscape& l, double lo, double hi, double step, double tol) {
  std::vector<CriticalPoint> out;
  const auto n = static_cast<long>(std::floor((hi - lo) / step));
  for (long i = 0; i <= n; ++i) {
    for (long j = 0; j <= n; ++j) {
      double x = lo + double(i) * step, y = lo + double(j) * step;
      bool ok = false;
      for (int it = 0; it < 60; ++it) {
        double gx, gy;
        l.gradient(x, y, gx, gy);
        if (std::hypot(gx, gy) <= tol * (1 + std::abs(l.value(x, y)))) {
          ok = true;
          break;
        }
        const Hessian2 h = l.hessian(x, y);
        const double det = h.xx * h.yy - h.xy * h.xy;
        if (!std::isfinite(det) || std::abs(det) < 1e-300) break;
        x -= (h.yy * gx - h.xy * gy) / det;
        y -= (h.xx * gy - h.xy * gx) / det;
        if (!std::isfinite(x) || !std::isfinite(y) || x < lo - step || x > hi + step || y < lo - step || y > hi + step) break;
      }
      if (!ok || x < lo || x > hi || y < lo || y > hi) continue;
      bool seen = false;
      for (const auto& c : out) seen = seen || (std::abs(c.x - x) < 1e-6 && std::abs(c.y - y) < 1e-6);
      if (!seen) out.push_back(make_point(l, x, y));
    }
  }
  std::sort(out.begin(), out.end(), [](const CriticalPoint& a, const CriticalPoint& b) {
    return a.x != b.x ? a.x < b.x : a.y < b.y;
  });
  return out;
}

}  // namespace

// ---- Ackley --------------------------------------------------------------------------------------

// f = −20 exp(−0.2 s) − exp(½(cos 2πx + cos 2πy)) + e + 20, s = √(½(x² + y²))
double AckleyLandscape::value(double x, double y) const {
  const double s = std::sqrt(0.5 * (x * x + y * y));
  return -20.0 * std::exp(-0.2 * s) - std::exp(0.5 * (std::cos(2 * M_PI * x) + std::cos(2 * M_PI * y))) + M_E + 20.0;
}

void AckleyLandscape::gradient(double x, double y, double& gx, double& gy) const {
  const double s = std::sqrt(0.5 * (x * x + y * y));
  const double e = std::exp(0.5 * (std::cos(2 * M_PI * x) + std::cos(2 * M_PI * y)));
  const double a = s > 0 ? 2.0 * std::exp(-0.2 * s) / s : 0.0;  // cone tip: gradient taken as 0
  gx = a * x + M_PI * std::sin(2 * M_PI * x) * e;
  gy = a * y + M_PI * std::sin(2 * M_PI * y) * e;
}

Hessian2 AckleyLandscape::hessian(double x, double y) const {
  const double s = std::sqrt(0.5 * (x * x + y * y));
  const double e = std::exp(0.5 * (std::cos(2 * M_PI * x) + std::cos(2 * M_PI * y)));
  const double sx = std::sin(2 * M_PI * x), sy = std::sin(2 * M_PI * y);
  Hessian2 h;
  h.xx = M_PI * M_PI * e * (2 * std::cos(2 * M_PI * x) - sx * sx);
  h.yy = M_PI * M_PI * e * (2 * std::cos(2 * M_PI * y) - sy * sy);
  h.xy = -M_PI * M_PI * sx * sy * e;
  if (s > 0) {  // the radial term 2 x e^{−0.2s}/s differentiated
    const double w = std::exp(-0.2 * s), c = w * (0.2 / (s * s) + 1.0 / (s * s * s));
    h.xx += 2 * w / s - x * x * c;
    h.yy += 2 * w / s - y * y * c;
    h.xy += -x * y * c;
  } else {
    h.xx = h.yy = std::numeric_limits<double>::infinity();
  }
  return h;
}

std::vector<CriticalPoint> AckleyLandscape::critical_points(double lo, double hi) const {
  return newton_critical_points(*this, lo, hi, 0.1, 1e-12);
}

nlohmann::json AckleyLandscape::describe() const {
  return {{"name", "ackley"},
          {"formula", "-20 exp(-0.2 sqrt((x^2 + y^2)/2)) - exp((cos 2 pi x + cos 2 pi y)/2) + e + 20"},
          {"global_minimum", {0.0, 0.0}}};
}

// ---- Goldstein–Price -----------------------------------------------------------------------------

namespace {
/// The two factors of Goldstein–Price and their derivatives: F1 = 1 + a²P, F2 = 30 + b²Q.
struct GpParts {
  double F1, F1x, F1y, F1xx, F1xy, F1yy, F2, F2x, F2y, F2xx, F2xy, F2yy;
};
GpParts gp_parts(double x, double y) {
  const double a = x + y + 1, P = 19 - 14 * x + 3 * x * x - 14 * y + 6 * x * y + 3 * y * y, Pd = -14 + 6 * x + 6 * y;
  const double b = 2 * x - 3 * y, Q = 18 - 32 * x + 12 * x * x + 48 * y - 36 * x * y + 27 * y * y;
  const double Qx = -32 + 24 * x - 36 * y, Qy = 48 - 36 * x + 54 * y;
  GpParts p;
  p.F1 = 1 + a * a * P;
  p.F1x = p.F1y = 2 * a * P + a * a * Pd;  // P_x = P_y
  p.F1xx = p.F1xy = p.F1yy = 2 * P + 4 * a * Pd + 6 * a * a;
  p.F2 = 30 + b * b * Q;
  p.F2x = 4 * b * Q + b * b * Qx;
  p.F2y = -6 * b * Q + b * b * Qy;
  p.F2xx = 8 * Q + 8 * b * Qx + 24 * b * b;
  p.F2xy = -12 * Q + 4 * b * Qy - 6 * b * Qx - 36 * b * b;
  p.F2yy = 18 * Q - 12 * b * Qy + 54 * b * b;
  return p;
}
}  // namespace

double GoldsteinPriceLandscape::value(double x, double y) const {
  const auto p = gp_parts(x, y);
  return p.F1 * p.F2;
}

void GoldsteinPriceLandscape::gradient(double x, double y, double& gx, double& gy) const {
  const auto p = gp_parts(x, y);
  gx = p.F1x * p.F2 + p.F1 * p.F2x;
  gy = p.F1y * p.F2 + p.F1 * p.F2y;
}

Hessian2 GoldsteinPriceLandscape::hessian(double x, double y) const {
  const auto p = gp_parts(x, y);
  return {p.F1xx * p.F2 + 2 * p.F1x * p.F2x + p.F1 * p.F2xx, p.F1xy * p.F2 + p.F1x * p.F2y + p.F1y * p.F2x + p.F1 * p.F2xy,
          p.F1yy * p.F2 + 2 * p.F1y * p.F2y + p.F1 * p.F2yy};
}

std::vector<CriticalPoint> GoldsteinPriceLandscape::critical_points(double lo, double hi) const {
  return newton_critical_points(*this, lo, hi, 0.05, 1e-11);
}

nlohmann::json GoldsteinPriceLandscape::describe() const {
  return {{"name", "goldstein_price"},
          {"formula", "[1 + (x+y+1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)] [30 + (2x-3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)]"},
          {"global_minimum", {0.0, -1.0}}};
}

std::unique_ptr<Landscape> make_landscape(const nlohmann::json& cfg) {
  FLATMIN_CHECK(cfg.is_object(), "landscape: must be an object like {\"name\": \"yang\"}");
  common::ConfigReader r(cfg, "landscape");
  FLATMIN_CHECK(r.has("name"), "landscape: 'name' (yang | multiwell | ackley | goldstein_price) is required");
  const auto name = r.choice("name", "", {"yang", "multiwell", "ackley", "goldstein_price"});
  if (name != "multiwell") {
    FLATMIN_CHECK(cfg.size() == 1, "landscape '" << name << "' takes no parameters");
    if (name == "ackley") return std::make_unique<AckleyLandscape>();
    if (name == "goldstein_price") return std::make_unique<GoldsteinPriceLandscape>();
    return std::make_unique<YangLandscape>();
  }
  const auto def = MultiWellLandscape::default_landscape().describe();
  std::vector<MultiWellLandscape::Well> wells;
  const nlohmann::json wells_json = r.raw("wells", def.at("wells"));
  FLATMIN_CHECK(wells_json.is_array(), "landscape: 'wells' must be an array");
  for (size_t i = 0; i < wells_json.size(); ++i) {
    common::ConfigReader w(wells_json[i], "landscape: wells[" + std::to_string(i) + "]");
    wells.push_back({w.number("centre"), w.number("width"), w.number("depth")});
    w.finish();
  }
  const double q = r.number("confinement", def.at("confinement").get<double>());
  r.finish();
  return std::make_unique<MultiWellLandscape>(std::move(wells), q);
}

}  // namespace flatmin::simulations
