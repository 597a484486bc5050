// The AVX2 variant. Built with -mavx2 for this file only; everything here has internal linkage
// so no inline function compiled for AVX2 can leak into another file.
#include "isa.h"

#if !DPFL_ISA_X86_64
#error "isa_avx2.cpp is x86-64 only: the builds list it (native/sources-avx2.txt) for x86-64 targets only"
#endif
#include <immintrin.h>

#include "dpfl/gauss_math.h"
#include "dpfl/gaussian.h"

namespace dpfl {
namespace {

struct Avx2 {
  static constexpr int kLanes = 4;
  struct VD {
    __m256d v;
  };
  struct VI {
    __m256i v;
  };
  using MD = __m256d;  // all-ones lanes where true
  using U = __m256i;   // 8 x u32

  static VD dup(double x) { return {_mm256_set1_pd(x)}; }
  static VI dupu(uint64_t x) { return {_mm256_set1_epi64x(static_cast<long long>(x))}; }
  static VD sqrt(VD x) { return {_mm256_sqrt_pd(x.v)}; }
  static VD floor(VD x) { return {_mm256_round_pd(x.v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)}; }
  static MD gt(VD a, VD b) { return _mm256_cmp_pd(a.v, b.v, _CMP_GT_OQ); }
  static VD select(MD m, VD a, VD b) { return {_mm256_blendv_pd(b.v, a.v, m)}; }
  static VD neg_if(MD m, VD x) { return {_mm256_xor_pd(x.v, _mm256_and_pd(m, _mm256_set1_pd(-0.0)))}; }
  static void quadrant(VD q, MD* odd, MD* neg_cos, MD* neg_sin) {
    // q + 2^52 holds the integer q in its low mantissa bits.
    const __m256i k = _mm256_castpd_si256(_mm256_add_pd(q.v, _mm256_set1_pd(4503599627370496.0)));
    const __m256i one = _mm256_set1_epi64x(1), two = _mm256_set1_epi64x(2);
    *odd = _mm256_castsi256_pd(_mm256_cmpeq_epi64(_mm256_and_si256(k, one), one));
    *neg_cos = _mm256_castsi256_pd(_mm256_cmpeq_epi64(_mm256_and_si256(_mm256_add_epi64(k, one), two), two));
    *neg_sin = _mm256_castsi256_pd(_mm256_cmpeq_epi64(_mm256_and_si256(k, two), two));
  }
  static VI bits(VD x) { return {_mm256_castpd_si256(x.v)}; }
  static VD from_bits(VI x) { return {_mm256_castsi256_pd(x.v)}; }
  static VI srl52(VI x) { return {_mm256_srli_epi64(x.v, 52)}; }
  static VI sll20(VI x) { return {_mm256_slli_epi64(x.v, 20)}; }
  static VI srl12(VI x) { return {_mm256_srli_epi64(x.v, 12)}; }

  static VI srl32(VI x) { return {_mm256_srli_epi64(x.v, 32)}; }
  static VI load_u64(const uint64_t* p) { return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))}; }
  static VI mul32(VI a, uint32_t m) { return {_mm256_mul_epu32(a.v, _mm256_set1_epi64x(m))}; }
  static VI swap32(VI x) { return {_mm256_shuffle_epi32(x.v, 0xB1)}; }
  static VI xor3(VI a, VI b, VI c) { return {_mm256_xor_si256(_mm256_xor_si256(a.v, b.v), c.v)}; }

  static VD load_d(const double* p) { return {_mm256_loadu_pd(p)}; }
  static void store_d(double* p, VD v) { _mm256_storeu_pd(p, v.v); }
  static VD load_f32(const float* p) { return {_mm256_cvtps_pd(_mm_loadu_ps(p))}; }
  static void store_f32(float* p, VD v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v.v)); }
  static void interleave_store(double* dst, VD a, VD b) {
    const __m256d lo = _mm256_unpacklo_pd(a.v, b.v);  // a0 b0 a2 b2
    const __m256d hi = _mm256_unpackhi_pd(a.v, b.v);  // a1 b1 a3 b3
    _mm256_storeu_pd(dst, _mm256_permute2f128_pd(lo, hi, 0x20));      // a0 b0 a1 b1
    _mm256_storeu_pd(dst + 4, _mm256_permute2f128_pd(lo, hi, 0x31));  // a2 b2 a3 b3
  }
  static bool any_nonfinite(const float* p) {
    const __m256i exp = _mm256_set1_epi32(0x7f800000);
    const __m256i x = _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), exp);
    return _mm256_movemask_epi8(_mm256_cmpeq_epi32(x, exp)) != 0;
  }

  static U load_u32(const uint32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static U dup32(uint32_t x) { return _mm256_set1_epi32(static_cast<int>(x)); }
  static U xor_(U a, U b) { return _mm256_xor_si256(a, b); }
  static U add32(U a, U b) { return _mm256_add_epi32(a, b); }
  template <int N>
  static U rotl(U x) {
    return _mm256_or_si256(_mm256_slli_epi32(x, N), _mm256_srli_epi32(x, 32 - N));
  }
  static void mulhilo(U a, uint32_t m, U* hi, U* lo) {
    const __m256i vm = _mm256_set1_epi32(static_cast<int>(m));
    const __m256i even = _mm256_mul_epu32(a, vm);
    const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), vm);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  }
  static VI widen(U u, int h) {
    return {_mm256_cvtepu32_epi64(h == 0 ? _mm256_castsi256_si128(u) : _mm256_extracti128_si256(u, 1))};
  }
};

inline Avx2::VD operator+(Avx2::VD a, Avx2::VD b) { return {_mm256_add_pd(a.v, b.v)}; }
inline Avx2::VD operator-(Avx2::VD a, Avx2::VD b) { return {_mm256_sub_pd(a.v, b.v)}; }
inline Avx2::VD operator*(Avx2::VD a, Avx2::VD b) { return {_mm256_mul_pd(a.v, b.v)}; }
inline Avx2::VD operator/(Avx2::VD a, Avx2::VD b) { return {_mm256_div_pd(a.v, b.v)}; }
inline Avx2::VI operator&(Avx2::VI a, Avx2::VI b) { return {_mm256_and_si256(a.v, b.v)}; }
inline Avx2::VI operator|(Avx2::VI a, Avx2::VI b) { return {_mm256_or_si256(a.v, b.v)}; }

using S = Avx2;
#include "simd_kernels.inl"

}  // namespace

const IsaKernels* avx2_kernels() { return &kTable; }

}  // namespace dpfl
