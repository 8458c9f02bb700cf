#pragma once
/// \file
/// Named tolerances for tests (never bare literals in assertions).
namespace flatmin::test {

/// float64 result vs an independent float64 reference that rounds differently (relative).
inline constexpr double kRelTolDouble = 1e-12;
/// float64: same arithmetic, different op grouping (e.g. tensor path vs fused kernel), relative.
inline constexpr double kRelTolDoubleSameMath = 1e-14;
/// float32: fused kernel vs tensor path (a few ulp), relative.
inline constexpr double kRelTolFloatSameMath = 1e-6;

}  // namespace flatmin::test
