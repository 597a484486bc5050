// The AVX-512 variant (AVX512F/DQ/BW/VL). Built with those flags for this file only; everything
// here has internal linkage so no inline function compiled for AVX-512 can leak into another file.
#include "isa.h"

#if !DPFL_ISA_X86_64
#error "isa_avx512.cpp is x86-64 only: the builds list it (native/sources-avx512.txt) for x86-64 targets only"
#endif
#include <immintrin.h>

#include "dpfl/gauss_math.h"
#include "dpfl/gaussian.h"

namespace dpfl {
namespace {

struct Avx512 {
  static constexpr int kLanes = 8;
  struct VD {
    __m512d v;
  };
  struct VI {
    __m512i v;
  };
  using MD = __mmask8;
  using U = __m512i;  // 16 x u32

  static VD dup(double x) { return {_mm512_set1_pd(x)}; }
  static VI dupu(uint64_t x) { return {_mm512_set1_epi64(static_cast<long long>(x))}; }
  static VD sqrt(VD x) { return {_mm512_sqrt_pd(x.v)}; }
  static VD floor(VD x) { return {_mm512_roundscale_pd(x.v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)}; }
  static MD gt(VD a, VD b) { return _mm512_cmp_pd_mask(a.v, b.v, _CMP_GT_OQ); }
  static VD select(MD m, VD a, VD b) { return {_mm512_mask_blend_pd(m, b.v, a.v)}; }
  static VD neg_if(MD m, VD x) {
    return {
        _mm512_castsi512_pd(_mm512_mask_xor_epi64(_mm512_castpd_si512(x.v), m, _mm512_castpd_si512(x.v),
                                                  _mm512_set1_epi64(static_cast<long long>(0x8000000000000000ull))))};
  }
  static void quadrant(VD q, MD* odd, MD* neg_cos, MD* neg_sin) {
    const __m512i k = _mm512_cvtpd_epi64(q.v);  // q is integral: exact
    *odd = _mm512_test_epi64_mask(k, _mm512_set1_epi64(1));
    *neg_cos = _mm512_test_epi64_mask(_mm512_add_epi64(k, _mm512_set1_epi64(1)), _mm512_set1_epi64(2));
    *neg_sin = _mm512_test_epi64_mask(k, _mm512_set1_epi64(2));
  }
  static VI bits(VD x) { return {_mm512_castpd_si512(x.v)}; }
  static VD from_bits(VI x) { return {_mm512_castsi512_pd(x.v)}; }
  static VI srl52(VI x) { return {_mm512_srli_epi64(x.v, 52)}; }
  static VI sll20(VI x) { return {_mm512_slli_epi64(x.v, 20)}; }
  static VI srl12(VI x) { return {_mm512_srli_epi64(x.v, 12)}; }

  static VI srl32(VI x) { return {_mm512_srli_epi64(x.v, 32)}; }
  static VI load_u64(const uint64_t* p) { return {_mm512_loadu_si512(p)}; }
  // The 64-bit product of the low 32 bits of each lane and m.
  static VI mul32(VI a, uint32_t m) { return {_mm512_mul_epu32(a.v, _mm512_set1_epi64(m))}; }
  // The two 32-bit halves of each lane swapped (a shuffle: port 5, where the multiply and the
  // shifts take port 0).
  static VI swap32(VI x) { return {_mm512_shuffle_epi32(x.v, _MM_PERM_CDAB)}; }
  static VI xor3(VI a, VI b, VI c) { return {_mm512_ternarylogic_epi64(a.v, b.v, c.v, 0x96)}; }

  static VD load_d(const double* p) { return {_mm512_loadu_pd(p)}; }
  static void store_d(double* p, VD v) { _mm512_storeu_pd(p, v.v); }
  static VD load_f32(const float* p) { return {_mm512_cvtps_pd(_mm256_loadu_ps(p))}; }
  static void store_f32(float* p, VD v) { _mm256_storeu_ps(p, _mm512_cvtpd_ps(v.v)); }
  static void interleave_store(double* dst, VD a, VD b) {
    const __m512i lo = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
    const __m512i hi = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    _mm512_storeu_pd(dst, _mm512_permutex2var_pd(a.v, lo, b.v));
    _mm512_storeu_pd(dst + 8, _mm512_permutex2var_pd(a.v, hi, b.v));
  }
  static bool any_nonfinite(const float* p) {
    const __m512i exp = _mm512_set1_epi32(0x7f800000);
    const __m512i x = _mm512_and_si512(_mm512_loadu_si512(p), exp);
    return _mm512_cmpeq_epi32_mask(x, exp) != 0;
  }

  static U load_u32(const uint32_t* p) { return _mm512_loadu_si512(p); }
  static U dup32(uint32_t x) { return _mm512_set1_epi32(static_cast<int>(x)); }
  static U xor_(U a, U b) { return _mm512_xor_si512(a, b); }
  static U add32(U a, U b) { return _mm512_add_epi32(a, b); }
  template <int N>
  static U rotl(U x) {
    return _mm512_rol_epi32(x, N);
  }
  // hi:lo = a * m for each 32-bit lane.
  static void mulhilo(U a, uint32_t m, U* hi, U* lo) {
    const __m512i vm = _mm512_set1_epi32(static_cast<int>(m));
    const __m512i even = _mm512_mul_epu32(a, vm);                         // lanes 0, 2, ...
    const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), vm);   // lanes 1, 3, ...
    *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
    *lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  }
  // The u32 lanes of half h (0: lanes 0-7, 1: lanes 8-15) zero-extended to u64.
  static VI widen(U u, int h) {
    return {_mm512_cvtepu32_epi64(h == 0 ? _mm512_castsi512_si256(u) : _mm512_extracti64x4_epi64(u, 1))};
  }
};

inline Avx512::VD operator+(Avx512::VD a, Avx512::VD b) { return {_mm512_add_pd(a.v, b.v)}; }
inline Avx512::VD operator-(Avx512::VD a, Avx512::VD b) { return {_mm512_sub_pd(a.v, b.v)}; }
inline Avx512::VD operator*(Avx512::VD a, Avx512::VD b) { return {_mm512_mul_pd(a.v, b.v)}; }
inline Avx512::VD operator/(Avx512::VD a, Avx512::VD b) { return {_mm512_div_pd(a.v, b.v)}; }
inline Avx512::VI operator&(Avx512::VI a, Avx512::VI b) { return {_mm512_and_si512(a.v, b.v)}; }
inline Avx512::VI operator|(Avx512::VI a, Avx512::VI b) { return {_mm512_or_si512(a.v, b.v)}; }

using S = Avx512;
#include "simd_kernels.inl"

}  // namespace

const IsaKernels* avx512_kernels() { return &kTable; }

}  // namespace dpfl
