// Tolerances of the C++ tests, one place: |a - b| <= atol + rtol * |ref|.
#pragma once

namespace tol {
// Float64-accumulated sums rounded once to float32: error is the final rounding, 2^-24 relative,
// plus float64 accumulation error far below it. 2e-7 allows one float32 ulp of slack; atol covers
// results that cancel to near zero, where the error is relative to the summands (|x| ~ 1), not
// to the result.
constexpr double kSumRtol = 2e-7;
constexpr double kSumAtol = 1e-6;
// Norms: float64 sum of squares, sqrt, rounded to float32: one float32 rounding.
constexpr double kNormRtol = 1.2e-7;
}  // namespace tol
