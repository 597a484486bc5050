// Weighted sums of client updates: one-shot over K vectors, and streaming.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <cmath>

#include "dpfl/kernels.h"
#include "dpfl/parallel.h"
#include "isa.h"

namespace dpfl {
namespace {

// Columns per tile: 8192 float64 accumulators (64 KiB, in L2) while K updates stream by, each
// update read in runs of 32 KiB. Longer runs than 2048 columns (8 KiB, two 4 KiB pages) mean fewer
// restarts of the hardware prefetchers' page-bound streams, so more bytes in flight per core:
// 100x1e6 went 13.2 -> 12.2 ms (read probe 28 GB/s, 2026-12-02), and the bytes a core must keep
// in flight grow with the bandwidth (the fast memory mode). Tiles are independent, so the pool
// runs them in any order with identical results, and the width is a multiple of every SIMD width,
// so the same columns take the scalar tail whatever the tile.
constexpr int64_t kColumnTile = 8192;
constexpr int64_t kChunk = 1 << 16;  // elements per work item of the streaming accumulator

// True when no element is NaN or Inf (exponent bits all ones); integer ops keep it vectorisable.
bool all_finite_f64(const double* x, int64_t n) {
  uint64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint64_t b;
    std::memcpy(&b, x + i, sizeof b);
    bad |= static_cast<uint64_t>((b & 0x7ff0000000000000ull) == 0x7ff0000000000000ull);
  }
  return bad == 0;
}

Status check_weights(const double* weights, int64_t count, bool normalize, double* total) {
  double sum = 0.0;
  for (int64_t k = 0; k < count; ++k) {
    if (!std::isfinite(weights[k]) || weights[k] < 0.0)
      return Status::Invalid("weights must be finite and non-negative");
    sum += weights[k];
  }
  if (normalize && !(sum > 0.0)) return Status::Invalid("weights must have a positive sum to normalize");
  *total = sum;
  return Status::Ok();
}

}  // namespace

Status weighted_sum(const float* const* updates, int64_t count, int64_t dim, const double* weights, bool normalize,
                    float* out, int64_t* bad_update) {
  *bad_update = -1;
  if (count <= 0) return Status::Invalid("updates must hold at least one update");
  if (dim <= 0) return Status::Invalid("updates must have a positive length");
  if (out == nullptr || updates == nullptr || weights == nullptr) return Status::Invalid("out must not be null");
  double total = 0.0;
  Status s = check_weights(weights, count, normalize, &total);
  if (!s.ok()) return s;
  const double inv = normalize ? 1.0 / total : 1.0;
  const IsaKernels& k = isa();
  const int64_t tiles = (dim + kColumnTile - 1) / kColumnTile;
  std::atomic<bool> non_finite{false};
  std::atomic<int64_t> first_bad{-1};
  parallel_for(tiles, 1, [&](int64_t t0, int64_t t1) {
    alignas(64) double acc[kColumnTile];
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t c0 = t * kColumnTile;
      const int64_t width = std::min(kColumnTile, dim - c0);
      std::fill(acc, acc + width, 0.0);
      for (int64_t c = 0; c < count; c += kMaxRows) {
        const int m = static_cast<int>(std::min<int64_t>(kMaxRows, count - c));
        const float* rows[kMaxRows];
        for (int r = 0; r < m; ++r) rows[r] = updates[c + r] + c0;
        k.axpy_rows(acc, acc, rows, weights + c, m, width);
      }
      // A non-finite accumulator means a NaN/Inf input (any weight times NaN/Inf is non-finite).
      // The culprit is looked up here (slow path only), before this tile of out is written: out
      // may be one of the updates, and a scan after the store blamed that update instead.
      if (!all_finite_f64(acc, width)) {
        for (int64_t c = 0; c < count; ++c) {
          if (!k.all_finite(updates[c] + c0, width)) {
            int64_t cur = first_bad.load();
            while ((cur < 0 || c < cur) && !first_bad.compare_exchange_weak(cur, c)) {
            }
            break;
          }
        }
      }
      // A non-finite result from finite inputs: a sum too large for float32.
      k.store_scaled(out + c0, acc, inv, width);
      if (!k.all_finite(out + c0, width)) non_finite.store(true, std::memory_order_relaxed);
    }
  });
  if (first_bad.load() >= 0) {
    *bad_update = first_bad.load();
    return Status::Invalid("updates must contain only finite values");
  }
  if (non_finite.load()) return Status::Invalid("weights must be small enough that the weighted sum fits in float32");
  return Status::Ok();
}

// Both buffers are written here (zeros), not on the first add: a fresh aggregator's first add
// otherwise faulted in the spare's pages (10 adds of 1e6: 17 ms cold vs 6.4 ms warm, 2026-12-02).
Accumulator::Accumulator(int64_t dim)
    : dim_(dim),
      sum_(static_cast<size_t>(dim > 0 ? dim : 0), 0.0),
      spare_(static_cast<size_t>(dim > 0 ? dim : 0), 0.0) {}

Status Accumulator::add(const float* update, int64_t n, double weight) {
  if (n != dim_) return Status::Invalid("update must have the aggregator's dimension");
  if (!std::isfinite(weight) || weight < 0.0) return Status::Invalid("weight must be finite and non-negative");
  int64_t bad = -1;
  const Status s = add_many(&update, &weight, 1, &bad);
  return bad >= 0 ? Status::Invalid("update must contain only finite values") : s;
}

Status Accumulator::add_many(const float* const* updates, const double* weights, int64_t count, int64_t* bad_update) {
  *bad_update = -1;
  if (count < 0) return Status::Invalid("updates.length must be non-negative");
  for (int64_t c = 0; c < count; ++c) {
    if (!std::isfinite(weights[c]) || weights[c] < 0.0)
      return Status::Invalid("weights must be finite and non-negative");
  }
  if (count == 0) return Status::Ok();
  try {
    spare_.resize(sum_.size());
  } catch (const std::bad_alloc&) {
    return {StatusCode::kOutOfMemory, "out of memory for the aggregator's second buffer"};
  }
  // spare = sum + sum_c w_c u_c, each update read once. The state is replaced only when every
  // chunk came out finite (a NaN/Inf update makes its columns non-finite), so a rejected batch
  // leaves it exactly as it was without a separate checking pass over the updates.
  const IsaKernels& k = isa();
  std::atomic<bool> non_finite{false};
  parallel_for(dim_, kChunk, [&](int64_t b, int64_t e) {
    const double* in = sum_.data() + b;
    double* out = spare_.data() + b;
    for (int64_t c = 0; c < count; c += kMaxRows) {
      const int m = static_cast<int>(std::min<int64_t>(kMaxRows, count - c));
      const float* rows[kMaxRows];
      for (int r = 0; r < m; ++r) rows[r] = updates[c + r] + b;
      k.axpy_rows(out, in, rows, weights + c, m, e - b);
      in = out;
    }
    if (!all_finite_f64(out, e - b)) non_finite.store(true, std::memory_order_relaxed);
  });
  if (non_finite.load()) {
    for (int64_t c = 0; c < count; ++c) {
      if (!all_finite(updates[c], dim_)) {
        *bad_update = c;
        return Status::Invalid("updates must contain only finite values");
      }
    }
    return Status::Invalid("weights must be small enough that the weighted sum stays finite");
  }
  sum_.swap(spare_);
  for (int64_t c = 0; c < count; ++c) total_weight_ += weights[c];
  count_ += count;
  return Status::Ok();
}

Status Accumulator::result(bool normalize, float* out) const {
  if (normalize && !(total_weight_ > 0.0))
    return Status::Invalid("the aggregator must hold a positive total weight to normalize");
  const double inv = normalize ? 1.0 / total_weight_ : 1.0;
  const IsaKernels& k = isa();
  // The float64 state can exceed float32 (one report of 1e30 with weight 1e12): refuse rather
  // than return +-Inf as the aggregate.
  std::atomic<bool> overflow{false};
  parallel_for(dim_, kChunk, [&](int64_t b, int64_t e) {
    k.store_scaled(out + b, sum_.data() + b, inv, e - b);
    if (!k.all_finite(out + b, e - b)) overflow.store(true, std::memory_order_relaxed);
  });
  if (overflow.load()) return Status::Invalid("the aggregate must fit in float32: weights or updates are too large");
  return Status::Ok();
}

void Accumulator::reset() {
  std::fill(sum_.begin(), sum_.end(), 0.0);
  count_ = 0;
  total_weight_ = 0.0;
}

}  // namespace dpfl
