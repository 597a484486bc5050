#include "baselines.h"

#include <cmath>

#include "dpfl/gaussian.h"
#include "dpfl/kernels.h"
#include "dpfl/philox.h"

namespace bench {

void scalar_clip_and_sum(const float* grads, int64_t batch, int64_t dim, const int64_t* ends, int64_t groups,
                         const double* max_norms, double* acc, float* sum, float* norms) {
  for (int64_t d = 0; d < dim; ++d) acc[d] = 0.0;
  for (int64_t b = 0; b < batch; ++b) {
    const float* row = grads + b * dim;
    double total = 0.0;
    for (int64_t g = 0, c0 = 0; g < groups; c0 = ends[g], ++g) {
      double sq = 0.0;
      for (int64_t c = c0; c < ends[g]; ++c) sq += static_cast<double>(row[c]) * row[c];
      total += sq;
      const double norm = std::sqrt(sq);
      const double scale = std::fmin(1.0, max_norms[g] / (norm + dpfl::kClipEpsilon));
      for (int64_t c = c0; c < ends[g]; ++c) acc[c] += scale * row[c];
    }
    norms[b] = static_cast<float>(std::sqrt(total));
  }
  for (int64_t d = 0; d < dim; ++d) sum[d] = static_cast<float>(acc[d]);
}

namespace {
// Textbook Box-Muller with the C library's log, cos and sin.
inline void box_muller_libm(double u1, double u2, double* z0, double* z1) {
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double t = 6.283185307179586 * u2;
  *z0 = r * std::cos(t);
  *z1 = r * std::sin(t);
}
}  // namespace

void scalar_noise_philox(float* x, int64_t n, double stddev, uint64_t seed, uint64_t stream) {
  for (int64_t i = 0; i < n; i += 2) {
    const dpfl::U32x4 w = dpfl::philox_block(seed, stream, static_cast<uint64_t>(i / 2));
    double z[2];
    box_muller_libm(dpfl::uniform52(w.v[0], w.v[1]), dpfl::uniform52(w.v[2], w.v[3]), &z[0], &z[1]);
    for (int64_t j = 0; j < 2 && i + j < n; ++j) x[i + j] = static_cast<float>(x[i + j] + stddev * z[j]);
  }
}

void scalar_noise_secure(float* x, int64_t n, double stddev, const dpfl::ChaChaKey& key, uint64_t stream) {
  const double inv_sqrt2 = 0.7071067811865476;
  for (int64_t i = 0; i < n; i += 4) {
    const dpfl::U32x16 w = dpfl::chacha_block(key, stream, static_cast<uint64_t>(i / 4));
    double z[8];
    for (int p = 0; p < 4; ++p) {
      box_muller_libm(dpfl::uniform52(w.v[4 * p], w.v[4 * p + 1]), dpfl::uniform52(w.v[4 * p + 2], w.v[4 * p + 3]),
                      &z[2 * p], &z[2 * p + 1]);
    }
    for (int64_t j = 0; j < 4 && i + j < n; ++j) {
      x[i + j] = static_cast<float>(x[i + j] + stddev * (z[j] + z[j + 4]) * inv_sqrt2);
    }
  }
}

void scalar_weighted_sum(const float* const* updates, int64_t count, int64_t dim, const double* weights, double* acc,
                         float* out) {
  for (int64_t d = 0; d < dim; ++d) acc[d] = 0.0;
  for (int64_t k = 0; k < count; ++k) scalar_accumulate(acc, updates[k], dim, weights[k]);
  for (int64_t d = 0; d < dim; ++d) out[d] = static_cast<float>(acc[d]);
}

void scalar_accumulate(double* acc, const float* update, int64_t dim, double weight) {
  for (int64_t d = 0; d < dim; ++d) acc[d] += weight * update[d];
}

}  // namespace bench
