// The table of per-ISA hot loops behind dispatch.h (internal to native/cpu). Each variant file
// (isa_scalar.cpp, isa_avx2.cpp, isa_avx512.cpp) fills one table; every function computes exactly
// the same bits as the scalar one.
#pragma once
#include <cstdint>

#include "dpfl/chacha20.h"
#include "optim_loops.h"

// The AVX2 and AVX-512 variants exist only on x86-64: the builds compile isa_avx2.cpp and
// isa_avx512.cpp for x86-64 targets only (CMakeLists.txt, binding.gyp), and dispatch.cpp reports
// them absent everywhere else. One test of the target, used by all three files.
#if defined(__x86_64__) || defined(_M_X64)
#define DPFL_ISA_X86_64 1
#else
#define DPFL_ISA_X86_64 0
#endif

namespace dpfl {

// Lanes of the float64 partial sums in sum_squares: 16 = two AVX-512 or four AVX2 registers.
constexpr int kSumLanes = 16;

constexpr int kMaxRows = 8;  // rows per axpy_rows call

struct IsaKernels {
  // Σ x[i]² in float64: lane j sums i ≡ j (mod 16) in order, then lanes are added as a fixed tree
  // (j + 8, then + 4, + 2, + 1).
  double (*sum_squares)(const float* x, int64_t n);
  // out[i] = (..((in[i] + a[0] rows[0][i]) + a[1] rows[1][i]) ..) + a[k-1] rows[k-1][i], k <= 8,
  // in float64 without fused multiply-add: the same bits as adding the rows one at a time, with
  // the accumulator read and written once and k streams read at once. out may equal in.
  void (*axpy_rows)(double* out, const double* in, const float* const* rows, const double* a, int k, int64_t n);
  // out[i] = (float)(acc[i] * scale).
  void (*store_scaled)(float* out, const double* acc, double scale, int64_t n);
  // x[i] = (float)(x[i] * scale) computed in float64.
  void (*scale_inplace)(float* x, double scale, int64_t n);
  // True when no element is NaN or Inf.
  bool (*all_finite)(const float* x, int64_t n);
  // max_i (bits(x[i]) & 0x7fffffff) as unsigned integers, 0 for n = 0: one integer pass that gives
  // both checks of the noise kernel. x holds a NaN or Inf iff the result is >= 0x7f800000; else the
  // result is the bit pattern of max |x[i]| (non-negative floats order like their bit patterns).
  uint32_t (*max_abs_bits)(const float* x, int64_t n);
  // x[i] += std * N(first + i) for the Philox stream (seed, stream); see gaussian.h for the layout.
  void (*noise_philox)(float* x, int64_t n, double std, uint64_t seed, uint64_t stream, uint64_t first);
  // The same for the secure ChaCha20 stream with the Holohan-Braghin sampler.
  void (*noise_chacha)(float* x, int64_t n, double std, const ChaChaKey& key, uint64_t stream, uint64_t first);
  // out[i] = N(first + i) in float64, unscaled: the values the two kernels above scale and add.
  void (*normals_philox)(double* out, int64_t n, uint64_t seed, uint64_t stream, uint64_t first);
  void (*normals_chacha)(double* out, int64_t n, const ChaChaKey& key, uint64_t stream, uint64_t first);
  // The optimizer updates of optim_loops.h over one range.
  void (*sgd_range)(float* params, const float* grad, float* velocity, int64_t n, const nn::SgdHyper& h);
  void (*adam_range)(float* params, const float* grad, float* m, float* v, int64_t n, const nn::AdamHyper& h);
};

const IsaKernels& scalar_kernels();
// nullptr when the variant is not compiled into this build (not x86-64).
const IsaKernels* avx2_kernels();
const IsaKernels* avx512_kernels();

// The table of the active variant.
const IsaKernels& isa();

}  // namespace dpfl
