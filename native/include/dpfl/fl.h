// The C++ API of the federated-learning kernels: robust aggregation (coordinate-wise median,
// trimmed mean, Krum, multi-Krum, Bulyan) and the arithmetic of secure aggregation (fixed-point
// quantisation modulo 2^32, pairwise masks expanded by ChaCha20, modular sums). Plain C++17, no Node.
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
Status coordinate_median(const float* const* updates, int64_t count, int64_t dim, float* out, int64_t* bad_update);

// out[d] = mean of the K - 2*trim middle values of column d (the trim smallest and trim largest
// are dropped), summed in float64 and rounded once. Requires 0 <= 2*trim < count.
Status trimmed_mean(const float* const* updates, int64_t count, int64_t dim, int64_t trim, float* out,
                    int64_t* bad_update);

// ---- Distance-based robust aggregation: Krum, multi-Krum, Bulyan -------------------------------
//
// Krum and multi-Krum (Blanchard, El Mhamdi, Guerraoui and Stainer, "Machine Learning with
// Adversaries: Byzantine Tolerant Gradient Descent", NeurIPS 2017) and Bulyan (El Mhamdi,
// Guerraoui and Rouault, "The Hidden Vulnerability of Distributed Learning in Byzantium", ICML
// 2018), with the semantics of Flower's krum.py / bulyan.py (unweighted here). f is the number of
// Byzantine updates tolerated. All are unweighted and deterministic: distances are float64 sums in
// a fixed order (blocks of pairs on the thread pool, each pair summed by one thread), and every tie
// (equal scores) goes to the lower update index, so results are bit-identical for every thread
// count. A NaN/Inf update fails the call with *bad_update = the smallest such index; selected (may
// be null) receives the chosen update indices; out is unspecified after a failure.

// dist[i * count + j] = sum_d (u_i[d] - u_j[d])^2 in float64 (symmetric, zero diagonal): O(K^2 D).
Status pairwise_sq_distances(const float* const* updates, int64_t count, int64_t dim, double* dist,
                             int64_t* bad_update);

// score[i] = sum of the count - f - 2 smallest dist[i][j], j != i (Krum's score). Needs count > 2f + 2.
Status krum_scores(const double* dist, int64_t count, int64_t byzantine, double* scores);

// out = the update with the smallest Krum score (*selected = its index). Needs count > 2f + 2.
Status krum(const float* const* updates, int64_t count, int64_t dim, int64_t byzantine, float* out, int64_t* selected,
            int64_t* bad_update);

// out = the float64 mean (rounded once) of the `keep` updates with the smallest Krum scores;
// selected[0, keep) = their indices, best first. Needs count > 2f + 2 and 1 <= keep <= count - f
// (more than count - f would always admit a Byzantine update).
Status multi_krum(const float* const* updates, int64_t count, int64_t dim, int64_t byzantine, int64_t keep, float* out,
                  int64_t* selected, int64_t* bad_update);

// Bulyan: select theta = count - 2f updates by iterated Krum (each round scores the updates not yet
// selected, with max(1, n - f - 2) neighbours among those n, as Flower does), then out[d] = the
// float64 mean of the beta = theta - 2f values of coordinate d closest to its median over the
// selected (ties to the lower value). selected[0, theta) = the indices in selection order.
// Needs count >= 4f + 3.
Status bulyan(const float* const* updates, int64_t count, int64_t dim, int64_t byzantine, float* out, int64_t* selected,
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
