// The C++ API of the federated-learning kernels: robust aggregation (coordinate-wise median and
// trimmed mean) and the arithmetic of secure aggregation (fixed-point quantisation modulo 2^32,
// pairwise masks expanded by ChaCha20, modular sums). Plain C++17, no Node.
//
// Conventions as in kernels.h: updates are K pointers to D contiguous float32 values; kernels
// never copy or modify their inputs; arguments are checked before memory is touched; a Status is
// returned.
#pragma once
#include <cstdint>

#include "dpfl/chacha20.h"
#include "dpfl/status.h"

namespace dpfl {

// ---- Robust aggregation ------------------------------------------------------------------------
//
// Coordinate-wise median and trimmed mean (Yin, Chen, Ramchandran and Bartlett, "Byzantine-Robust
// Distributed Learning: Towards Optimal Statistical Rates", ICML 2018, Definitions 1 and 2).
// Both are unweighted: every report counts once, which is what gives the breakdown point.
//
// Work is split over blocks of columns: a block of B columns of all K updates is gathered into a
// per-thread column-major buffer (K x B, reading each update row contiguously), then each column
// is reduced with std::nth_element, O(K) expected per coordinate. Blocks are independent, so the
// result is bit-identical for every thread count. An update holding NaN or Inf makes the call fail
// with *bad_update = the smallest such index (out is then unspecified), the policy of
// weighted_sum.

// out[d] = median_k updates[k][d]; for even K the mean of the two middle values (in float64,
// rounded once).
Status coordinate_median(const float* const* updates, int64_t count, int64_t dim, float* out,
                         int64_t* bad_update);

// out[d] = mean of the K - 2*trim middle values of column d (the trim smallest and trim largest
// are dropped), summed in float64 and rounded once. Requires 0 <= 2*trim < count.
Status trimmed_mean(const float* const* updates, int64_t count, int64_t dim, int64_t trim, float* out,
                    int64_t* bad_update);

// ---- Secure aggregation arithmetic -------------------------------------------------------------
//
// The arithmetic of Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving Machine
// Learning" (CCS 2017): inputs are fixed-point integers in Z_{2^32}; each client adds pseudorandom
// masks expanded from seeds it shares pairwise, which cancel in the sum.

// out[i] = round_half_even(x[i] * scale) mod 2^32 (two's complement). Fails without writing when
// an x[i] is non-finite or rounds outside [-(2^31 - 1), 2^31 - 1] (*bad_index = the first such i;
// the caller bounds |x| by clipping and picks scale so that K such values still sum below 2^31).
Status quantize_fixed(const float* x, int64_t n, double scale, uint32_t* out, int64_t* bad_index);

// out[i] = int32(q[i]) / scale: q read as a two's-complement integer (a sum of K quantised values
// that did not overflow 2^31 in magnitude), divided by scale, rounded to float32.
Status dequantize_fixed(const uint32_t* q, int64_t n, double scale, float* out);

// Word i of the mask stream of (key, stream) is word (i mod 16) of ChaCha20 block i / 16 (dpfl's
// block layout, chacha_block in chacha20.h). x[i] += word_i (subtract: x[i] -= word_i) mod 2^32.
// The value applied to x[i] depends only on (key, stream, i), never on threads or chunking.
Status apply_mask(uint32_t* x, int64_t n, const ChaChaKey& key, uint64_t stream, bool subtract);

// Word i of the mask stream (for tests and references).
uint32_t mask_word(const ChaChaKey& key, uint64_t stream, uint64_t i);

// out[i] = sum_k vectors[k][i] mod 2^32. out may alias vectors[0], no other vector.
Status sum_mod(const uint32_t* const* vectors, int64_t count, int64_t n, uint32_t* out);

}  // namespace dpfl
