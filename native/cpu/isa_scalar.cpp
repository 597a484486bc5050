// The scalar variant of every hot loop: the reference the SIMD variants must match bit for bit.
#include <cmath>
#include <cstring>

#include "dpfl/gaussian.h"
#include "isa.h"

namespace dpfl {
namespace {

double sum_squares(const float* x, int64_t n) {
  double lanes[kSumLanes] = {};
  int64_t i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes) {
    for (int j = 0; j < kSumLanes; ++j) lanes[j] += static_cast<double>(x[i + j]) * x[i + j];
  }
  for (int j = 0; i + j < n; ++j) lanes[j] += static_cast<double>(x[i + j]) * x[i + j];
  for (int w = kSumLanes / 2; w >= 1; w /= 2) {
    for (int j = 0; j < w; ++j) lanes[j] += lanes[j + w];
  }
  return lanes[0];
}

void axpy_rows(double* out, const double* in, const float* const* rows, const double* a, int k, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    double v = in[i];
    for (int r = 0; r < k; ++r) v += a[r] * rows[r][i];
    out[i] = v;
  }
}

void store_scaled(float* out, const double* acc, double scale, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(acc[i] * scale);
}

void scale_inplace(float* x, double scale, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(x[i] * scale);
}

bool all_finite(const float* x, int64_t n) {
  // Exponent bits all ones means NaN or Inf; integer ops keep the loop vectorisable.
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, x + i, sizeof b);
    bad |= static_cast<uint32_t>((b & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

uint32_t max_abs_bits(const float* x, int64_t n) {
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, x + i, sizeof b);
    b &= 0x7fffffffu;
    m = b > m ? b : m;
  }
  return m;
}

// Walks samples [first, first + n) block by block: a partial first block, whole blocks, a partial
// last block. block_fn(block, z) fills the kPerBlock samples of one block.
template <uint64_t kPerBlock, typename BlockFn>
void add_stream(float* x, int64_t n, double std, uint64_t first, BlockFn block_fn) {
  uint64_t j = first;
  const uint64_t end = first + static_cast<uint64_t>(n);
  double z[kPerBlock];
  while (j < end) {
    block_fn(j / kPerBlock, z);
    const uint64_t lane0 = j % kPerBlock;
    const uint64_t lanes = (end - j < kPerBlock - lane0) ? end - j : kPerBlock - lane0;
    for (uint64_t l = 0; l < lanes; ++l) {
      float& v = x[j - first + l];
      v = static_cast<float>(static_cast<double>(v) + std * z[lane0 + l]);
    }
    j += lanes;
  }
}

void noise_philox(float* x, int64_t n, double std, uint64_t seed, uint64_t stream, uint64_t first) {
  add_stream<kPhiloxNormalsPerBlock>(x, n, std, first,
                                     [&](uint64_t b, double* z) { philox_normals(seed, stream, b, z); });
}

void noise_chacha(float* x, int64_t n, double std, const ChaChaKey& key, uint64_t stream, uint64_t first) {
  add_stream<kSecureNormalsPerBlock>(x, n, std, first,
                                     [&](uint64_t b, double* z) { secure_normals(key, stream, b, z); });
}

// The same walk writing the samples themselves.
template <uint64_t kPerBlock, typename BlockFn>
void write_stream(double* out, int64_t n, uint64_t first, BlockFn block_fn) {
  uint64_t j = first;
  const uint64_t end = first + static_cast<uint64_t>(n);
  double z[kPerBlock];
  while (j < end) {
    block_fn(j / kPerBlock, z);
    const uint64_t lane0 = j % kPerBlock;
    const uint64_t lanes = (end - j < kPerBlock - lane0) ? end - j : kPerBlock - lane0;
    for (uint64_t l = 0; l < lanes; ++l) out[j - first + l] = z[lane0 + l];
    j += lanes;
  }
}

void normals_philox(double* out, int64_t n, uint64_t seed, uint64_t stream, uint64_t first) {
  write_stream<kPhiloxNormalsPerBlock>(out, n, first,
                                       [&](uint64_t b, double* z) { philox_normals(seed, stream, b, z); });
}

void normals_chacha(double* out, int64_t n, const ChaChaKey& key, uint64_t stream, uint64_t first) {
  write_stream<kSecureNormalsPerBlock>(out, n, first,
                                       [&](uint64_t b, double* z) { secure_normals(key, stream, b, z); });
}

void sgd_range(float* p, const float* g, float* v, int64_t n, const nn::SgdHyper& h) { nn::sgd_range(p, g, v, n, h); }
void adam_range(float* p, const float* g, float* m, float* v, int64_t n, const nn::AdamHyper& h) {
  nn::adam_range(p, g, m, v, n, h);
}

const IsaKernels kScalar = {sum_squares,  axpy_rows,    store_scaled,   scale_inplace,  all_finite, max_abs_bits,
                            noise_philox, noise_chacha, normals_philox, normals_chacha, sgd_range,  adam_range};

}  // namespace

const IsaKernels& scalar_kernels() { return kScalar; }

}  // namespace dpfl
