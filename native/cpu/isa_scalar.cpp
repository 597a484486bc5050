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
// last block. block_fn(block, z) fills the kPerBlock samples of one block; sink(i, z) consumes
// sample first + i, whose value is z.
template <uint64_t kPerBlock, typename BlockFn, typename Sink>
void walk_stream(int64_t n, uint64_t first, BlockFn block_fn, Sink sink) {
  uint64_t j = first;
  const uint64_t end = first + static_cast<uint64_t>(n);
  double z[kPerBlock];
  while (j < end) {
    block_fn(j / kPerBlock, z);
    const uint64_t lane0 = j % kPerBlock;
    const uint64_t lanes = (end - j < kPerBlock - lane0) ? end - j : kPerBlock - lane0;
    for (uint64_t l = 0; l < lanes; ++l) sink(static_cast<int64_t>(j - first + l), z[lane0 + l]);
    j += lanes;
  }
}

// The two sinks: add std * z to x (rounded once to float32), or write z itself.
struct AddScaled {
  float* x;
  double std;
  void operator()(int64_t i, double z) const { x[i] = static_cast<float>(static_cast<double>(x[i]) + std * z); }
};
struct Write {
  double* out;
  void operator()(int64_t i, double z) const { out[i] = z; }
};

void noise_philox(float* x, int64_t n, double std, uint64_t seed, uint64_t stream, uint64_t first) {
  walk_stream<kPhiloxNormalsPerBlock>(
      n, first, [&](uint64_t b, double* z) { philox_normals(seed, stream, b, z); }, AddScaled{x, std});
}

void noise_chacha(float* x, int64_t n, double std, const ChaChaKey& key, uint64_t stream, uint64_t first) {
  walk_stream<kSecureNormalsPerBlock>(
      n, first, [&](uint64_t b, double* z) { secure_normals(key, stream, b, z); }, AddScaled{x, std});
}

void normals_philox(double* out, int64_t n, uint64_t seed, uint64_t stream, uint64_t first) {
  walk_stream<kPhiloxNormalsPerBlock>(
      n, first, [&](uint64_t b, double* z) { philox_normals(seed, stream, b, z); }, Write{out});
}

void normals_chacha(double* out, int64_t n, const ChaChaKey& key, uint64_t stream, uint64_t first) {
  walk_stream<kSecureNormalsPerBlock>(
      n, first, [&](uint64_t b, double* z) { secure_normals(key, stream, b, z); }, Write{out});
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
