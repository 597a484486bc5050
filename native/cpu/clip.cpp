// Per-sample gradient clipping (flat and per group) and clipping one vector to a norm.
#include <algorithm>
#include <cmath>
#include <new>
#include <vector>

#include "dpfl/kernels.h"

namespace dpfl {
namespace {

// Columns accumulated per tile in the second pass: 2048 float64 = 16 KiB, held in L1.
constexpr int64_t kColumnTile = 2048;

Status check_matrix(const float* grads, int64_t batch, int64_t dim, Groups groups) {
  if (batch <= 0) return Status::Invalid("batchSize must be a positive integer");
  if (dim <= 0) return Status::Invalid("grads.length / batchSize must be a positive integer");
  if (grads == nullptr) return Status::Invalid("grads must not be null");
  if (groups.count <= 0 || groups.ends == nullptr)
    return Status::Invalid("groups must hold at least one end offset");
  int64_t prev = 0;
  for (int64_t g = 0; g < groups.count; ++g) {
    if (groups.ends[g] <= prev)
      return Status::Invalid("groups must be strictly increasing positive end offsets");
    prev = groups.ends[g];
  }
  if (prev != dim) return Status::Invalid("groups must end at the row length (grads.length / batchSize)");
  return Status::Ok();
}

// Sum of squares of each group of one row, in float64.
void group_squares(const float* row, Groups groups, double* sq) {
  int64_t begin = 0;
  for (int64_t g = 0; g < groups.count; ++g) {
    const int64_t end = groups.ends[g];
    double s = 0.0;
    for (int64_t d = begin; d < end; ++d) s += static_cast<double>(row[d]) * row[d];
    sq[g] = s;
    begin = end;
  }
}

// Pass one: norms of every row and group. Writes the group sums of squares to sq (batch x groups).
void compute_norms(const float* grads, int64_t batch, int64_t dim, Groups groups, double* sq,
                   float* norms, float* group_norms) {
  for (int64_t b = 0; b < batch; ++b) {
    double* row_sq = sq + b * groups.count;
    group_squares(grads + b * dim, groups, row_sq);
    double total = 0.0;
    for (int64_t g = 0; g < groups.count; ++g) {
      total += row_sq[g];
      if (group_norms != nullptr) group_norms[b * groups.count + g] = static_cast<float>(std::sqrt(row_sq[g]));
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

Status clip_and_sum(const float* grads, int64_t batch, int64_t dim, Groups groups, const double* max_norms,
                    float* sum, float* norms, float* group_norms, ClipStats* stats) {
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

    // Pass two, column-tiled: acc holds one tile of the sum in float64.
    std::vector<double> acc(static_cast<size_t>(std::min(dim, kColumnTile)));
    int64_t group = 0;
    for (int64_t c0 = 0; c0 < dim; c0 += kColumnTile) {
      const int64_t c1 = std::min(dim, c0 + kColumnTile);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t b = 0; b < batch; ++b) {
        const float* row = grads + b * dim;
        const double* row_scale = scale.data() + b * groups.count;
        // Walk the groups that intersect [c0, c1).
        int64_t g = group;
        int64_t c = c0;
        while (c < c1) {
          const int64_t end = std::min(c1, groups.ends[g]);
          const double f = row_scale[g];
          if (f != 0.0) {
            for (int64_t d = c; d < end; ++d) acc[d - c0] += f * row[d];
          }
          c = end;
          if (c == groups.ends[g]) ++g;
        }
      }
      for (int64_t d = c0; d < c1; ++d) sum[d] = static_cast<float>(acc[d - c0]);
      while (group < groups.count && groups.ends[group] <= c1) ++group;
    }
    *stats = out_stats;
  } catch (const std::bad_alloc&) {
    return {StatusCode::kOutOfMemory, "out of memory for clipping scratch"};
  }
  return Status::Ok();
}

Status clip_by_norm(float* x, int64_t n, double max_norm, double* norm, double* scale) {
  if (x == nullptr || n <= 0) return Status::Invalid("x must be a non-empty Float32Array");
  if (!(max_norm > 0.0) || !std::isfinite(max_norm)) return Status::Invalid("maxNorm must be a positive finite number");
  double sq = 0.0;
  for (int64_t i = 0; i < n; ++i) sq += static_cast<double>(x[i]) * x[i];
  if (!std::isfinite(sq)) return Status::Invalid("x must contain only finite values");
  const double nrm = std::sqrt(sq);
  const double f = clip_scale(nrm, max_norm);
  if (f < 1.0) {
    for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(f * x[i]);
  }
  *norm = nrm;
  *scale = f;
  return Status::Ok();
}

}  // namespace dpfl
