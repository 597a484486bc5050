// Turning generator output into standard normal draws. Shared by the CPU core and the CUDA
// backend, so for one (key, stream, index) every backend computes the same value.
#pragma once
#include <cmath>
#include <cstdint>

#include <cstring>

#include "dpfl/chacha20.h"
#include "dpfl/gauss_math.h"
#include "dpfl/hd.h"
#include "dpfl/philox.h"

namespace dpfl {

// A uniform in the open interval (0, 1) from 52 random bits (hi:32 ++ top 20 of lo), centred in
// its cell: exactly representable, never 0 or 1 (the extremes are 2^-53 and 1 - 2^-53). 52 bits
// (not 32) keep the Box-Muller tail out to 8.5 sigma.
DPFL_HD double uniform52(uint32_t hi, uint32_t lo) {
  const uint64_t bits = (static_cast<uint64_t>(hi) << 20) | (lo >> 12);
  return (static_cast<double>(bits) + 0.5) * 0x1.0p-52;
}

// Plain doubles as the traits of gauss_math.h (one lane). The SIMD kernels in native/cpu use the
// same templates with vector lanes and produce the same bits. Under nvcc, compile with
// --fmad=false so no multiply-add is fused.
struct ScalarMath {
  using VD = double;
  using VI = uint64_t;
  using MD = bool;
  DPFL_HD static double dup(double x) { return x; }
  DPFL_HD static uint64_t dupu(uint64_t x) { return x; }
  DPFL_HD static double sqrt(double x) { return ::sqrt(x); }
  DPFL_HD static double floor(double x) { return ::floor(x); }
  DPFL_HD static bool gt(double a, double b) { return a > b; }
  DPFL_HD static double select(bool m, double a, double b) { return m ? a : b; }
  DPFL_HD static double neg_if(bool m, double a) { return m ? -a : a; }
  DPFL_HD static void quadrant(double q, bool* odd, bool* neg_cos, bool* neg_sin) {
    const int k = static_cast<int>(q) & 3;
    *odd = (k & 1) != 0;
    *neg_cos = k == 1 || k == 2;
    *neg_sin = k >= 2;
  }
  DPFL_HD static uint64_t srl52(uint64_t x) { return x >> 52; }
  DPFL_HD static uint64_t bits(double x) {
#if defined(__CUDA_ARCH__)
    return static_cast<uint64_t>(__double_as_longlong(x));
#else
    uint64_t b;
    std::memcpy(&b, &x, sizeof b);
    return b;
#endif
  }
  DPFL_HD static double from_bits(uint64_t b) {
#if defined(__CUDA_ARCH__)
    return __longlong_as_double(static_cast<long long>(b));
#else
    double x;
    std::memcpy(&x, &b, sizeof x);
    return x;
#endif
  }
};

// Box-Muller (Box & Muller 1958): two independent N(0,1) draws from two uniforms, in float64,
// with dpfl's own exactly reproducible log, sin and cos (gauss_math.h).
DPFL_HD void box_muller(double u1, double u2, double* z0, double* z1) {
  gauss::box_muller<ScalarMath, 1>(&u1, &u2, z0, z1);
}

// ---- Reproducible mode: Philox4x32-10 keyed by the seed. -------------------------------------
// One Philox block (four words) gives two uniforms and so two normals: sample i of a stream comes
// from block i / 2, lane i % 2.
constexpr uint64_t kPhiloxNormalsPerBlock = 2;

DPFL_HD void philox_normals(uint64_t seed, uint64_t stream, uint64_t block, double out[2]) {
  const U32x4 w = philox_block(seed, stream, block);
  box_muller(uniform52(w.v[0], w.v[1]), uniform52(w.v[2], w.v[3]), &out[0], &out[1]);
}

// ---- Secure mode: ChaCha20 keyed from the OS CSPRNG. ------------------------------------------
// Defence against floating-point attacks on the sampler (Mironov 2012; Jin et al., IEEE S&P 2022):
// each output is the sum of two independent normals divided by sqrt(2), the method of Holohan and
// Braghin, "Secure Random Sampling in Differential Privacy" (ESORICS 2021), also used by IBM's
// diffprivlib. The sum fills the gaps that a single Box-Muller draw leaves in the set of reachable
// floats, which is what makes the output of x + noise invertible to x. Uniforms use 52 bits.
// One ChaCha20 block (sixteen words) gives eight uniforms, eight normals, four outputs: sample i
// comes from block i / 4, lane i % 4.
constexpr uint64_t kSecureNormalsPerBlock = 4;

DPFL_HD void secure_normals(const ChaChaKey& key, uint64_t stream, uint64_t block, double out[4]) {
  const U32x16 w = chacha_block(key, stream, block);
  double z[8];
  for (int p = 0; p < 4; ++p) {
    box_muller(uniform52(w.v[4 * p], w.v[4 * p + 1]), uniform52(w.v[4 * p + 2], w.v[4 * p + 3]), &z[2 * p],
               &z[2 * p + 1]);
  }
  const double inv_sqrt2 = 0.70710678118654752440084436210485;
  for (int j = 0; j < 4; ++j) out[j] = (z[j] + z[j + 4]) * inv_sqrt2;
}

}  // namespace dpfl
