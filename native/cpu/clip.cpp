// Per-sample gradient clipping (flat and per group) and clipping one vector to a norm.
//
// Two passes over G: the scale of a row depends on its whole norm, so pass one computes the norms
// and pass two accumulates the scaled rows. Pass one works on fixed segments of each row's groups
// (so a single long row still uses every thread) and adds the segment sums in order; pass two
// splits the columns into tiles, each tile's float64 accumulator held in L1 while all B rows
// stream through it. Segment and tile boundaries do not depend on the thread count, and the
// per-ISA loops are bit-identical, so results are identical for every thread count and ISA.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <new>
#include <vector>

#include "dpfl/kernels.h"
#include "dpfl/parallel.h"
#include "isa.h"

namespace dpfl {
namespace {

constexpr int64_t kSegment = 1 << 18;     // columns per pass-one work item (1 MiB of floats)
constexpr int64_t kColumnTile = 2048;     // columns per pass-two tile: 16 KiB of float64 in L1
constexpr int64_t kMinRowsPerItem = 1;

struct Segment {
  int64_t group, begin, end;
};

Status check_matrix(const float* grads, int64_t batch, int64_t dim, Groups groups) {
  if (batch <= 0) return Status::Invalid("batchSize must be a positive integer");
  if (dim <= 0) return Status::Invalid("grads.length / batchSize must be a positive integer");
  if (grads == nullptr) return Status::Invalid("grads must not be null");
  if (groups.count <= 0 || groups.ends == nullptr) return Status::Invalid("groups must hold at least one end offset");
  int64_t prev = 0;
  for (int64_t g = 0; g < groups.count; ++g) {
    if (groups.ends[g] <= prev) return Status::Invalid("groups must be strictly increasing positive end offsets");
    prev = groups.ends[g];
  }
  if (prev != dim) return Status::Invalid("groups must end at the row length (grads.length / batchSize)");
  return Status::Ok();
}

// The groups of a row cut into segments of at most kSegment columns.
std::vector<Segment> segments_of(Groups groups) {
  std::vector<Segment> segs;
  int64_t begin = 0;
  for (int64_t g = 0; g < groups.count; ++g) {
    for (int64_t b = begin; b < groups.ends[g]; b += kSegment)
      segs.push_back({g, b, std::min(groups.ends[g], b + kSegment)});
    begin = groups.ends[g];
  }
  return segs;
}

// Pass one: group sums of squares of every row into sq (batch x groups), norms when asked.
void compute_norms(const float* grads, int64_t batch, int64_t dim, Groups groups, double* sq, float* norms,
                   float* group_norms) {
  const std::vector<Segment> segs = segments_of(groups);
  const int64_t per_row = static_cast<int64_t>(segs.size());
  std::vector<double> partial(static_cast<size_t>(batch * per_row));
  // Rows of short segments are batched into one work item so tiny rows do not pay per-item costs.
  const int64_t items = batch * per_row;
  const int64_t grain = std::max<int64_t>(kMinRowsPerItem, (1 << 16) / std::max<int64_t>(1, dim / per_row + 1));
  const IsaKernels& k = isa();
  parallel_for(items, grain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / per_row;
      const Segment& s = segs[static_cast<size_t>(i % per_row)];
      partial[static_cast<size_t>(i)] = k.sum_squares(grads + b * dim + s.begin, s.end - s.begin);
    }
  });
  for (int64_t b = 0; b < batch; ++b) {
    double* row = sq + b * groups.count;
    std::fill(row, row + groups.count, 0.0);
    for (int64_t j = 0; j < per_row; ++j)
      row[segs[static_cast<size_t>(j)].group] += partial[static_cast<size_t>(b * per_row + j)];
    double total = 0.0;
    for (int64_t g = 0; g < groups.count; ++g) {
      total += row[g];
      if (group_norms != nullptr) group_norms[b * groups.count + g] = static_cast<float>(std::sqrt(row[g]));
    }
    if (norms != nullptr) norms[b] = static_cast<float>(std::sqrt(total));
  }
}

double clip_scale(double norm, double max_norm) { return std::min(1.0, max_norm / (norm + kClipEpsilon)); }

}  // namespace

Status per_sample_norms(const float* grads, int64_t batch, int64_t dim, Groups groups, float* norms,
                        float* group_norms) {
  Status s = check_matrix(grads, batch, dim, groups);
  if (!s.ok()) return s;
  if (norms == nullptr) return Status::Invalid("norms must not be null");
  try {
    std::vector<double> sq(static_cast<size_t>(batch * groups.count));
    compute_norms(grads, batch, dim, groups, sq.data(), norms, group_norms);
  } catch (const std::bad_alloc&) {
    return {StatusCode::kOutOfMemory, "out of memory for per-sample norms"};
  }
  return Status::Ok();
}

Status clip_and_sum(const float* grads, int64_t batch, int64_t dim, Groups groups, const double* max_norms, float* sum,
                    float* norms, float* group_norms, ClipStats* stats) {
  Status s = check_matrix(grads, batch, dim, groups);
  if (!s.ok()) return s;
  if (sum == nullptr || stats == nullptr) return Status::Invalid("sum must not be null");
  for (int64_t g = 0; g < groups.count; ++g) {
    if (!(max_norms[g] > 0.0) || !std::isfinite(max_norms[g]))
      return Status::Invalid("maxNorm must be a positive finite number");
  }
  try {
    // scale[b, g]: the clipping factor of group g of row b (0 for a non-finite row).
    std::vector<double> scale(static_cast<size_t>(batch * groups.count));
    compute_norms(grads, batch, dim, groups, scale.data(), norms, group_norms);
    ClipStats out_stats;
    for (int64_t b = 0; b < batch; ++b) {
      double* row = scale.data() + b * groups.count;
      bool finite = true;
      for (int64_t g = 0; g < groups.count; ++g) finite = finite && std::isfinite(row[g]);
      if (!finite) {
        ++out_stats.non_finite;
        std::fill(row, row + groups.count, 0.0);
        continue;
      }
      bool clipped = false;
      for (int64_t g = 0; g < groups.count; ++g) {
        row[g] = clip_scale(std::sqrt(row[g]), max_norms[g]);
        clipped = clipped || row[g] < 1.0;
      }
      if (clipped) ++out_stats.clipped;
    }

    // Pass two: each tile of columns accumulates all rows in row order, in float64.
    const IsaKernels& k = isa();
    const int64_t tiles = (dim + kColumnTile - 1) / kColumnTile;
    std::atomic<bool> overflow{false};
    parallel_for(tiles, 1, [&](int64_t t0, int64_t t1) {
      alignas(64) double acc[kColumnTile];
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t c0 = t * kColumnTile;
        const int64_t c1 = std::min(dim, c0 + kColumnTile);
        std::fill(acc, acc + (c1 - c0), 0.0);
        const int64_t g0 = std::upper_bound(groups.ends, groups.ends + groups.count, c0) - groups.ends;
        for (int64_t g = g0, c = c0; c < c1; ++g) {  // the groups that intersect [c0, c1)
          const int64_t end = std::min(c1, groups.ends[g]);
          // Rows with a non-zero scale, in row order, kMaxRows at a time.
          const float* rows[kMaxRows];
          double a[kMaxRows];
          int m = 0;
          for (int64_t b = 0; b < batch; ++b) {
            const double f = scale[static_cast<size_t>(b * groups.count + g)];
            if (f == 0.0) continue;
            rows[m] = grads + b * dim + c;
            a[m++] = f;
            if (m == kMaxRows) {
              k.axpy_rows(acc + (c - c0), acc + (c - c0), rows, a, m, end - c);
              m = 0;
            }
          }
          if (m > 0) k.axpy_rows(acc + (c - c0), acc + (c - c0), rows, a, m, end - c);
          c = end;
        }
        k.store_scaled(sum + c0, acc, 1.0, c1 - c0);
        // Finite rows with finite bounds can still sum past float32's range (B rows of norm near
        // C = 3e38): refuse rather than hand an infinite sum to the noise and the release.
        if (!k.all_finite(sum + c0, c1 - c0)) overflow.store(true, std::memory_order_relaxed);
      }
    });
    if (overflow.load()) return Status::Invalid("maxNorm must be small enough that the clipped sum fits in float32");
    *stats = out_stats;
  } catch (const std::bad_alloc&) {
    return {StatusCode::kOutOfMemory, "out of memory for clipping scratch"};
  }
  return Status::Ok();
}

Status clip_by_norm(float* x, int64_t n, double max_norm, double* norm, double* scale) {
  if (x == nullptr || n <= 0) return Status::Invalid("x must be a non-empty Float32Array");
  if (!(max_norm > 0.0) || !std::isfinite(max_norm)) return Status::Invalid("maxNorm must be a positive finite number");
  const int64_t ends[1] = {n};
  double sq = 0.0;
  float nrm_f = 0.0f;
  compute_norms(x, 1, n, {ends, 1}, &sq, &nrm_f, nullptr);
  if (!std::isfinite(sq)) return Status::Invalid("x must contain only finite values");
  const double nrm = std::sqrt(sq);
  const double f = clip_scale(nrm, max_norm);
  if (f < 1.0) {
    const IsaKernels& k = isa();
    parallel_for(n, 1 << 16, [&](int64_t b, int64_t e) { k.scale_inplace(x + b, f, e - b); });
  }
  *norm = nrm;
  *scale = f;
  return Status::Ok();
}

}  // namespace dpfl
