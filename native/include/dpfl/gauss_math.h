// The Box-Muller transform written once, over a traits type T that supplies the vector of
// doubles (T::VD), its 64-bit integer view (T::VI) and a handful of operations. It is instantiated
// with plain doubles for the scalar core and the CUDA backend, and with AVX2 / AVX-512 vectors in
// native/cpu. Only IEEE-exact operations are used (+ - * / sqrt floor, sign flips, bit moves; no
// FMA, no libm), each in the same order in every instantiation, so every backend and instruction
// set computes bit-identical samples. Accuracy against the true functions: log within 5e-14
// relative, sin and cos within 3e-14 absolute (measured in native/test/test_isa.cpp), a million
// times below the float32 rounding of the output; the truncated series are chosen for speed.
//
// T must provide: VD, VI, MD (a mask); static VD dup(double); VI dupu(uint64_t); VD sqrt(VD);
// VD floor(VD); MD gt(VD, VD); VD select(MD, VD if_true, VD if_false); VD neg_if(MD, VD) (flip
// the sign where the mask is set); quadrant(VD q, MD* odd, MD* neg_cos, MD* neg_sin) for an
// integral q in [0, 4] (odd: q mod 4 in {1, 3}; neg_cos: in {1, 2}; neg_sin: in {2, 3});
// VI bits(VD); VD from_bits(VI); VI srl52(VI); and VD/VI arithmetic and bitwise operators.
#pragma once
#include <cstdint>

#include "dpfl/hd.h"

namespace dpfl {
namespace gauss {

constexpr double kSqrt2 = 1.4142135623730951;
// ln 2 split so that e * kLn2Hi is exact for |e| < 2^11 (fdlibm's split).
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kHalfPi = 1.5707963267948966;

// Each function works on M independent vectors at once, step by step, so a SIMD caller keeps
// several long-latency chains (divide, square root) in flight; M = 1 for the scalar path.

// log(u) for u in (0, 1), normal doubles. u = m 2^e with m in (sqrt(2)/2, sqrt(2)];
// log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.1716, by its Taylor series through s^15
// (truncation error below 4e-14 relative: z^8 / 17 with z = s^2 < 0.0295).
template <class T, int M>
DPFL_HD void log_open01(const typename T::VD* u, typename T::VD* out) {
  using VD = typename T::VD;
  VD s[M], z[M], e[M], p[M];
  for (int i = 0; i < M; ++i) {
    const typename T::VI b = T::bits(u[i]);
    VD m = T::from_bits((b & T::dupu(0x000FFFFFFFFFFFFFull)) | T::dupu(0x3FF0000000000000ull));
    // The biased exponent as a double: (2^52 + E) - 2^52, exact.
    e[i] = (T::from_bits(T::srl52(b) | T::dupu(0x4330000000000000ull)) - T::dup(4503599627370496.0)) - T::dup(1023.0);
    const typename T::MD big = T::gt(m, T::dup(kSqrt2));
    m = T::select(big, m * T::dup(0.5), m);
    e[i] = T::select(big, e[i] + T::dup(1.0), e[i]);
    const VD f = m - T::dup(1.0);
    s[i] = f / (T::dup(2.0) + f);
    z[i] = s[i] * s[i];
  }
  const double coef[8] = {1.0 / 15, 1.0 / 13, 1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3, 1.0};
  for (int i = 0; i < M; ++i) p[i] = T::dup(coef[0]);
  for (int c = 1; c < 8; ++c) {
    for (int i = 0; i < M; ++i) p[i] = p[i] * z[i] + T::dup(coef[c]);
  }
  for (int i = 0; i < M; ++i) {
    const VD log_m = (s[i] + s[i]) * p[i];
    out[i] = e[i] * T::dup(kLn2Hi) + (e[i] * T::dup(kLn2Lo) + log_m);
  }
}

// cos(2 pi t) and sin(2 pi t) for t in [0, 1]: t = (q + r) / 4 with q an integer and r in
// [-1/2, 1/2] (exact), x = r pi/2 in [-pi/4, pi/4], Taylor series of sin through x^13 and cos
// through x^14 (truncation below 2.1e-14 and 1.1e-15), then the quadrant q mod 4 rotates the result.
template <class T, int M>
DPFL_HD void sincos_2pi(const typename T::VD* t, typename T::VD* cos_out, typename T::VD* sin_out) {
  using VD = typename T::VD;
  VD q[M], x[M], x2[M], sp[M], cp[M];
  for (int i = 0; i < M; ++i) {
    const VD t4 = t[i] * T::dup(4.0);
    q[i] = T::floor(t4 + T::dup(0.5));
    x[i] = (t4 - q[i]) * T::dup(kHalfPi);
    x2[i] = x[i] * x[i];
    sp[i] = T::dup(1.0 / 6227020800.0);
    cp[i] = T::dup(-1.0 / 87178291200.0);
  }
  const double sin_coef[6] = {-1.0 / 39916800.0, 1.0 / 362880.0, -1.0 / 5040.0, 1.0 / 120.0, -1.0 / 6.0, 0.0};
  const double cos_coef[6] = {1.0 / 479001600.0, -1.0 / 3628800.0, 1.0 / 40320.0, -1.0 / 720.0, 1.0 / 24.0, -0.5};
  for (int c = 0; c < 6; ++c) {
    for (int i = 0; i < M; ++i) {
      if (c < 5) sp[i] = sp[i] * x2[i] + T::dup(sin_coef[c]);
      cp[i] = cp[i] * x2[i] + T::dup(cos_coef[c]);
    }
  }
  for (int i = 0; i < M; ++i) {
    const VD s = x[i] + x[i] * x2[i] * sp[i];
    const VD c = T::dup(1.0) + x2[i] * cp[i];
    // k = q mod 4: cos(kπ/2 + x), sin(kπ/2 + x) are
    // k=0: (c, s)  k=1: (-s, c)  k=2: (-c, -s)  k=3: (s, -c)
    typename T::MD odd, neg_cos, neg_sin;
    T::quadrant(q[i], &odd, &neg_cos, &neg_sin);
    cos_out[i] = T::neg_if(neg_cos, T::select(odd, s, c));
    sin_out[i] = T::neg_if(neg_sin, T::select(odd, c, s));
  }
}

// The last step of Box-Muller: z0 = sqrt(-2 log u1) cos(2 pi u2), z1 = the same with sin.
template <class T, int M>
DPFL_HD void box_muller_finish(const typename T::VD* l, const typename T::VD* c, const typename T::VD* s,
                               typename T::VD* z0, typename T::VD* z1) {
  for (int i = 0; i < M; ++i) {
    const typename T::VD r = T::sqrt(T::dup(-2.0) * l[i]);
    z0[i] = r * c[i];
    z1[i] = r * s[i];
  }
}

// Box-Muller (Box & Muller 1958): two independent N(0, 1) from two uniforms in (0, 1). The SIMD
// kernels call the three steps themselves, with generator work in between (the same values).
template <class T, int M>
DPFL_HD void box_muller(const typename T::VD* u1, const typename T::VD* u2, typename T::VD* z0, typename T::VD* z1) {
  typename T::VD l[M], c[M], s[M];
  log_open01<T, M>(u1, l);
  sincos_2pi<T, M>(u2, c, s);
  box_muller_finish<T, M>(l, c, s, z0, z1);
}

}  // namespace gauss
}  // namespace dpfl
