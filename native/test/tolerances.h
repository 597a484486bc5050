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
// Sums accumulated in float32 (the GEMM, embedding bags): k additions, each rounding with unit
// roundoff u = 2^-24, err <= gamma_k * sum|terms| with gamma_k = k·u / (1 - k·u) (Higham, "Accuracy
// and Stability of Numerical Algorithms", 2nd ed., Lemma 3.1 and eq. 3.5); the fuzz targets use
// (k + 2)·u·sum|terms|, the extra two for the final rounding and a scaled operand.
constexpr double kFloatUnitRoundoff = 5.9604644775390625e-8;
}  // namespace tol
