// The "naive" implementations the kernels are compared with: each kernel written as the plain,
// single-threaded loop a C++ programmer would write first, with the same float64 accumulation
// and the same generators, but no tiling, no SIMD intrinsics, no threads and no input checks.
#pragma once
#include <cstdint>

#include "dpfl/chacha20.h"

namespace bench {

// Row by row: the row's group norms, then sum += scale * row in float64 (acc: dim doubles).
void scalar_clip_and_sum(const float* grads, int64_t batch, int64_t dim, const int64_t* ends, int64_t groups,
                         const double* max_norms, double* acc, float* sum, float* norms);

// x[i] += std * z_i with textbook Box-Muller (std::log, std::cos, std::sin) on Philox4x32-10.
void scalar_noise_philox(float* x, int64_t n, double stddev, uint64_t seed, uint64_t stream);

// The secure sampler the same way: ChaCha20 blocks, (z_a + z_b) / sqrt(2) per output.
void scalar_noise_secure(float* x, int64_t n, double stddev, const dpfl::ChaChaKey& key, uint64_t stream);

// Update by update: acc += w_k * u_k over the whole length (acc: dim doubles), then out = acc.
void scalar_weighted_sum(const float* const* updates, int64_t count, int64_t dim, const double* weights, double* acc,
                         float* out);

// One streaming step: acc += w * u.
void scalar_accumulate(double* acc, const float* update, int64_t dim, double weight);

}  // namespace bench
