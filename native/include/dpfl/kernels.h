// The C++ API of the dpfl core: per-sample clipping, Gaussian noise, aggregation.
// Plain C++17, no Node: linked by the addon, the C++ tests and the benchmarks.
//
// Conventions: matrices are contiguous row-major float32; kernels never copy their inputs and
// write into caller-provided outputs; sums over rows accumulate in float64; every kernel checks
// its arguments before touching memory and returns a Status.
#pragma once
#include <cstdint>
#include <vector>

#include "dpfl/chacha20.h"
#include "dpfl/constants.h"  // kClipEpsilon, kMaxAbsNoiseSample
#include "dpfl/status.h"

namespace dpfl {

// ---- Per-sample gradient clipping -------------------------------------------------------------

// Parameter groups split a row of length dim into consecutive slices: group g covers columns
// [ends[g-1], ends[g]) with ends[-1] = 0, ends strictly increasing and ends[num_groups-1] = dim.
// A flat (ungrouped) row is one group with ends = {dim}.
struct Groups {
  const int64_t* ends;
  int64_t count;
};

struct ClipStats {
  int64_t clipped = 0;     // finite rows whose scale was below 1 in at least one group
  int64_t non_finite = 0;  // rows holding NaN or Inf: they contribute zero to the sum
};

// L2 norm of each row (norms: batch floats) and, when group_norms is not null, of each group of
// each row (group_norms: batch x groups.count, row-major). Norms are computed in float64.
Status per_sample_norms(const float* grads, int64_t batch, int64_t dim, Groups groups, float* norms,
                        float* group_norms);

// Clips each row group-wise to max_norms[g] with scale min(1, C_g / (norm_g + kClipEpsilon)) and
// writes the float64-accumulated sum of the clipped rows to sum (dim floats). Rows containing a
// non-finite value contribute zero and are counted (the NaN/Inf policy of dpfl). norms and
// group_norms (both optional) receive the pre-clipping norms. A sum beyond float32's range (only
// possible with huge max_norms) is refused with kInvalidArgument; sum is then unspecified.
// Reads grads twice: the scale of a row depends on its whole norm, so one pass computes norms and
// a second, column-tiled pass accumulates with the float64 tile held in cache.
Status clip_and_sum(const float* grads, int64_t batch, int64_t dim, Groups groups, const double* max_norms, float* sum,
                    float* norms, float* group_norms, ClipStats* stats);

// Per-variable blocks, the layout frameworks give per-example gradients in: block k is a
// batch x widths[k] row-major matrix (widths[k] >= 0, data[k] may be null when it is 0), and row b
// of the batch x sum(widths) matrix they stand for is row b of every block, concatenated in order.
// The kernels read the blocks in place: no interleaved copy.
struct Blocks {
  const float* const* data;
  const int64_t* widths;
  int64_t count;
};

// per_sample_norms of the concatenated rows (norms: batch floats): each block's float64 sum of
// squares, added in block order, as the matrix kernels do for groups ending at the block ends.
Status per_sample_norms_blocks(Blocks blocks, int64_t batch, float* norms);

// clip_and_sum of the concatenated rows with one threshold (flat clipping): one scale
// min(1, C / (norm + kClipEpsilon)) per row from the norm above, the float64-accumulated clipped
// sum written per block (sums[k]: widths[k] floats), the same NaN/Inf and overflow policy.
Status clip_and_sum_blocks(Blocks blocks, int64_t batch, double max_norm, float* const* sums, float* norms,
                           ClipStats* stats);

// Scales x in place to L2 norm at most max_norm (same rule as above). Refuses non-finite x
// without modifying it. Returns the pre-clipping norm and the scale applied.
Status clip_by_norm(float* x, int64_t n, double max_norm, double* norm, double* scale);

// ---- Gaussian noise ----------------------------------------------------------------------------

// Which generator, keyed how. Reproducible mode: Philox4x32-10 keyed by a 64-bit seed. Secure
// mode: ChaCha20 keyed by 256 bits from the OS CSPRNG, with the Holohan-Braghin sampler.
struct NoiseKey {
  bool secure = false;
  uint64_t seed = 0;
  ChaChaKey chacha{};
  uint64_t stream = 0;
};

// Fills key with a fresh secure key from the OS CSPRNG (getrandom / getentropy / BCrypt).
Status make_secure_key(NoiseKey* key);

// x[i] += stddev * N_(offset + i), where N_j is sample j of the key's stream. The value added to
// each element depends only on (key, stream, offset + i): never on threads or chunking. The sum
// is formed in float64 and rounded once. Refuses non-finite x without modifying it, and refuses
// (also before writing) when max|x| + kMaxAbsNoiseSample * stddev could round past float32's range,
// so a successful call never makes an element infinite (the test depends on x and std only, never
// on the noise drawn).
Status add_gaussian_noise(float* x, int64_t n, double stddev, const NoiseKey& key, uint64_t offset);

// out[i] = N_(offset + i) in float64, unscaled, computed on the calling thread only (never the
// pool): made to prefetch the noise of a coming step on a worker thread while the caller's pooled
// kernels run. add_scaled_normals(x, out, n, std) then gives the bits of add_gaussian_noise.
Status gaussian_normals(double* out, int64_t n, const NoiseKey& key, uint64_t offset);

// x[i] = (float)((double)x[i] + stddev * z[i]): the rounding of add_gaussian_noise, with the same
// checks (finite x, finite z, no float32 overflow; refused before anything is written).
Status add_scaled_normals(float* x, const double* z, int64_t n, double stddev);

// Sample j of the key's stream as a float64 (for tests and references).
double gaussian_sample(const NoiseKey& key, uint64_t j);

// ---- Aggregation -------------------------------------------------------------------------------

// out[d] = sum_k w_k u_k[d] (divided by sum_k w_k when normalize), accumulated in float64 over
// column tiles so each update is read once. Weights must be finite and >= 0 (and sum > 0 when
// normalizing). An update holding NaN or Inf makes the call fail (bad_update = its index); out
// is then unspecified. out may be one of the updates: each column tile of every update is read
// before that tile of out is written.
Status weighted_sum(const float* const* updates, int64_t count, int64_t dim, const double* weights, bool normalize,
                    float* out, int64_t* bad_update);

// Streaming weighted sum with O(dim) float64 state: updates are folded in one at a time.
class Accumulator {
 public:
  // Allocates and touches both float64 buffers of dim (the state and the spare add_many forms the
  // next state in; throws std::bad_alloc when that fails), so no add pays their page faults: a
  // server builds its aggregator when a round opens, and each add is then a call after an idle wait.
  explicit Accumulator(int64_t dim);

  // Adds weight * update. A non-finite update or weight is refused and leaves the state unchanged.
  Status add(const float* update, int64_t n, double weight);
  // Adds count updates (each dim floats) in one pass over the state: the same bits as count calls
  // of add, each update read once and the float64 state read and written once per 8 updates.
  // All-or-nothing: a bad update (its index in bad_update) or weight leaves the state unchanged
  // (the sum is formed in a second buffer and swapped in only when it is finite).
  Status add_many(const float* const* updates, const double* weights, int64_t count, int64_t* bad_update);
  // Writes the sum (divided by the total weight when normalize) to out (dim floats). A result
  // beyond float32's range is refused (kInvalidArgument; out is then unspecified).
  Status result(bool normalize, float* out) const;
  void reset();

  int64_t dim() const { return dim_; }
  int64_t count() const { return count_; }
  double total_weight() const { return total_weight_; }

 private:
  int64_t dim_;
  std::vector<double> sum_;
  std::vector<double> spare_;  // where add_many forms the next state
  int64_t count_ = 0;
  double total_weight_ = 0.0;
};

// True when every element of x is finite.
bool all_finite(const float* x, int64_t n);

}  // namespace dpfl
