// The GEMM micro-kernels and blocking loop, included once per instruction set by nn_gemm.cpp
// inside a namespace that defines kMr and kNr (the register tile). No includes here: the file
// is compiled under `#pragma GCC target`, and the arithmetic (and so every result bit) is the
// same in every variant: each C element sums (a·s)·b over k in the same order and block sizes.

#if defined(__GNUC__)
// A row of a C tile as two native-width GCC vectors (kNr / 2 floats each), held in eight named
// accumulators so they stay in registers whatever the auto-vectoriser decides. Same arithmetic,
// in the same order, as the portable loop below.
typedef float Vec __attribute__((vector_size(kNr / 2 * sizeof(float))));
static_assert(kMr == 4, "the vector micro-kernel holds four named tile rows");

#define DPFL_NN_LOAD(dst, src) __builtin_memcpy(&(dst), (src), sizeof(Vec))

template <bool kScale>
inline void micro_full(const StridedA& A, int64_t i, int64_t p0, int64_t kc, const float* b, int64_t ldb, float* c,
                       int64_t ldc, bool first) {
  constexpr int64_t h = kNr / 2;
  Vec c0l{}, c0h{}, c1l{}, c1h{}, c2l{}, c2h{}, c3l{}, c3h{};
  if (!first) {
    DPFL_NN_LOAD(c0l, c);
    DPFL_NN_LOAD(c0h, c + h);
    DPFL_NN_LOAD(c1l, c + ldc);
    DPFL_NN_LOAD(c1h, c + ldc + h);
    DPFL_NN_LOAD(c2l, c + 2 * ldc);
    DPFL_NN_LOAD(c2h, c + 2 * ldc + h);
    DPFL_NN_LOAD(c3l, c + 3 * ldc);
    DPFL_NN_LOAD(c3h, c + 3 * ldc + h);
  }
  const float* a0 = A.a + i * A.ars;
  const float* a1 = a0 + A.ars;
  const float* a2 = a1 + A.ars;
  const float* a3 = a2 + A.ars;
  for (int64_t p = p0; p < p0 + kc; ++p) {
    Vec bl, bh;
    DPFL_NN_LOAD(bl, b + p * ldb);
    DPFL_NN_LOAD(bh, b + p * ldb + h);
    const int64_t q = p * A.acs;
    float v0 = a0[q], v1 = a1[q], v2 = a2[q], v3 = a3[q];
    if (kScale) {
      const float s = A.scale[p];
      v0 *= s;
      v1 *= s;
      v2 *= s;
      v3 *= s;
    }
    c0l += v0 * bl;
    c0h += v0 * bh;
    c1l += v1 * bl;
    c1h += v1 * bh;
    c2l += v2 * bl;
    c2h += v2 * bh;
    c3l += v3 * bl;
    c3h += v3 * bh;
  }
  __builtin_memcpy(c, &c0l, sizeof(Vec));
  __builtin_memcpy(c + h, &c0h, sizeof(Vec));
  __builtin_memcpy(c + ldc, &c1l, sizeof(Vec));
  __builtin_memcpy(c + ldc + h, &c1h, sizeof(Vec));
  __builtin_memcpy(c + 2 * ldc, &c2l, sizeof(Vec));
  __builtin_memcpy(c + 2 * ldc + h, &c2h, sizeof(Vec));
  __builtin_memcpy(c + 3 * ldc, &c3l, sizeof(Vec));
  __builtin_memcpy(c + 3 * ldc + h, &c3h, sizeof(Vec));
}
#undef DPFL_NN_LOAD
#else
template <bool kScale>
inline void micro_full(const StridedA& A, int64_t i, int64_t p0, int64_t kc, const float* b, int64_t ldb, float* c,
                       int64_t ldc, bool first) {
  float acc[kMr][kNr];
  for (int64_t r = 0; r < kMr; ++r)
    for (int64_t l = 0; l < kNr; ++l) acc[r][l] = first ? 0.0f : c[r * ldc + l];
  const float* arow = A.a + i * A.ars;
  for (int64_t p = p0; p < p0 + kc; ++p) {
    const float* bp = b + p * ldb;
    const float s = kScale ? A.scale[p] : 1.0f;
    for (int64_t r = 0; r < kMr; ++r) {
      float av = arow[r * A.ars + p * A.acs];
      if (kScale) av *= s;
      for (int64_t l = 0; l < kNr; ++l) acc[r][l] += av * bp[l];
    }
  }
  for (int64_t r = 0; r < kMr; ++r)
    for (int64_t l = 0; l < kNr; ++l) c[r * ldc + l] = acc[r][l];
}
#endif

// Edge tiles (mr <= kMr rows, nr <= kNr columns): the same arithmetic in the same order.
template <bool kScale>
inline void micro_edge(const StridedA& A, int64_t i, int64_t mr, int64_t p0, int64_t kc, const float* b, int64_t ldb,
                       int64_t nr, float* c, int64_t ldc, bool first) {
  float acc[kMr][kNr];
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t l = 0; l < nr; ++l) acc[r][l] = first ? 0.0f : c[r * ldc + l];
  const float* arow = A.a + i * A.ars;
  for (int64_t p = p0; p < p0 + kc; ++p) {
    const float* bp = b + p * ldb;
    const float s = kScale ? A.scale[p] : 1.0f;
    for (int64_t r = 0; r < mr; ++r) {
      float av = arow[r * A.ars + p * A.acs];
      if (kScale) av *= s;
      for (int64_t l = 0; l < nr; ++l) acc[r][l] += av * bp[l];
    }
  }
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t l = 0; l < nr; ++l) c[r * ldc + l] = acc[r][l];
}

template <bool kScale>
void gemm_rows(const StridedA& A, const float* b, float* c, int64_t i0, int64_t i1, int64_t n, int64_t k,
               bool accumulate) {
  if (k == 0) {
    if (!accumulate)
      for (int64_t i = i0; i < i1; ++i) std::memset(c + i * n, 0, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  for (int64_t jc = 0; jc < n; jc += kNc) {
    const int64_t nc = std::min(kNc, n - jc);
    for (int64_t pc = 0; pc < k; pc += kKc) {
      const int64_t kc = std::min(kKc, k - pc);
      const bool first = !accumulate && pc == 0;
      for (int64_t i = i0; i < i1; i += kMr) {
        const int64_t mr = std::min(kMr, i1 - i);
        for (int64_t j = jc; j < jc + nc; j += kNr) {
          const int64_t nr = std::min(kNr, jc + nc - j);
          float* ct = c + i * n + j;
          if (mr == kMr && nr == kNr) {
            micro_full<kScale>(A, i, pc, kc, b + j, n, ct, n, first);
          } else {
            micro_edge<kScale>(A, i, mr, pc, kc, b + j, n, nr, ct, n, first);
          }
        }
      }
    }
  }
}

void gemm_all_rows(const StridedA& A, const float* b, float* c, int64_t m, int64_t n, int64_t k, bool accumulate) {
  parallel_for(m, kRowsPerChunk, [&](int64_t i0, int64_t i1) {
    if (A.scale != nullptr) {
      gemm_rows<true>(A, b, c, i0, i1, n, k, accumulate);
    } else {
      gemm_rows<false>(A, b, c, i0, i1, n, k, accumulate);
    }
  });
}
