// Cache-blocked float32 GEMM for the built-in models' dense layers. One micro-kernel computes a
// 4 x 8 (SSE), 4 x 16 (AVX2) or 4 x 32 (AVX-512) tile of C in registers, streaming rows of B
// (contiguous, so the compiler vectorises it) and reading A through strides, which serves both A·B (A row-major) and
// Aᵀ·B (A read column-wise, with an optional per-row scale: the book-keeping weight gradient).
// Work is split over row tiles of C; each C element is summed over k in one fixed order by one
// chunk, so the result is bit-identical for every thread count.
#include <algorithm>
#include <cstring>
#include <vector>

#include "dpfl/dispatch.h"
#include "dpfl/nn.h"
#include "dpfl/parallel.h"

namespace dpfl {
namespace nn {
namespace {

constexpr int64_t kKc = 256;  // depth of a block: a kKc x kNc block of B stays in L2
constexpr int64_t kNc = 512;
constexpr int64_t kRowsPerChunk = 16;

// A's element (i, p) lives at a[i * ars + p * acs].
struct StridedA {
  const float* a;
  int64_t ars;
  int64_t acs;
  const float* scale;  // per-p factor (row r of the original A in the Aᵀ·B form), or null
};

}  // namespace

// The baseline variant: a 4 x 8 tile (two SSE registers per row).
namespace gemm_base {
constexpr int64_t kMr = 4;
constexpr int64_t kNr = 8;
#include "nn_gemm_kernel.inl"
}  // namespace gemm_base

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define DPFL_NN_GEMM_X86 1
// Wider tiles for AVX2 (4 x 16: two ymm per row) and AVX-512 (4 x 32: two zmm per row), chosen
// at run time with the core's ISA dispatch. No FMA: the build keeps -ffp-contract=off.
#pragma GCC push_options
#pragma GCC target("avx2")
namespace gemm_avx2 {
constexpr int64_t kMr = 4;
constexpr int64_t kNr = 16;
#include "nn_gemm_kernel.inl"
}  // namespace gemm_avx2
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f")
namespace gemm_avx512 {
constexpr int64_t kMr = 4;
constexpr int64_t kNr = 32;
#include "nn_gemm_kernel.inl"
}  // namespace gemm_avx512
#pragma GCC pop_options
#endif

namespace {

Status run(const StridedA& A, const float* b, float* c, int64_t m, int64_t n, int64_t k, bool accumulate) {
  if (m == 0 || n == 0) return Status::Ok();
#ifdef DPFL_NN_GEMM_X86
  const Isa isa = active_isa();
  if (isa == Isa::kAvx512) {
    gemm_avx512::gemm_all_rows(A, b, c, m, n, k, accumulate);
    return Status::Ok();
  }
  if (isa == Isa::kAvx2) {
    gemm_avx2::gemm_all_rows(A, b, c, m, n, k, accumulate);
    return Status::Ok();
  }
#endif
  gemm_base::gemm_all_rows(A, b, c, m, n, k, accumulate);
  return Status::Ok();
}

Status check_dims(const float* a, const float* b, const float* c, int64_t m, int64_t n, int64_t k) {
  if (m < 0 || n < 0 || k < 0) return Status::Invalid("gemm dimensions must be non-negative");
  if (c == nullptr && m * n > 0) return Status::Invalid("gemm output must not be null");
  if ((a == nullptr && m * k > 0) || (b == nullptr && k * n > 0))
    return Status::Invalid("gemm inputs must not be null");
  return Status::Ok();
}

}  // namespace

Status gemm_nn(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, bool accumulate) {
  Status s = check_dims(a, b, c, m, n, k);
  if (!s.ok()) return s;
  return run(StridedA{a, k, 1, nullptr}, b, c, m, n, k, accumulate);
}

Status gemm_nt(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, bool accumulate) {
  Status s = check_dims(a, b, c, m, n, k);
  if (!s.ok()) return s;
  // Bᵀ (k x n) built once: O(nk) next to the O(mnk) product.
  std::vector<float> bt;
  try {
    bt.resize(static_cast<size_t>(n * k));
  } catch (...) {
    return {StatusCode::kOutOfMemory, "gemm_nt could not allocate its transpose"};
  }
  constexpr int64_t kTile = 32;
  parallel_for((k + kTile - 1) / kTile, 4, [&](int64_t t0, int64_t t1) {
    for (int64_t p0 = t0 * kTile; p0 < std::min(k, t1 * kTile); p0 += kTile) {
      const int64_t p1 = std::min(k, p0 + kTile);
      for (int64_t j0 = 0; j0 < n; j0 += kTile) {
        const int64_t j1 = std::min(n, j0 + kTile);
        for (int64_t p = p0; p < p1; ++p)
          for (int64_t j = j0; j < j1; ++j) bt[static_cast<size_t>(p * n + j)] = b[j * k + p];
      }
    }
  });
  return run(StridedA{a, k, 1, nullptr}, bt.data(), c, m, n, k, accumulate);
}

Status gemm_tn(const float* a, const float* b, const float* row_scale, float* c, int64_t m, int64_t n, int64_t k,
               bool accumulate) {
  Status s = check_dims(a, b, c, m, n, k);
  if (!s.ok()) return s;
  return run(StridedA{a, 1, m, row_scale}, b, c, m, n, k, accumulate);
}

}  // namespace nn
}  // namespace dpfl
