// Per-sample gradient clipping (flat and per group, of one matrix or of per-variable blocks) and
// clipping one vector to a norm.
//
// Two passes over G: the scale of a row depends on its whole norm, so pass one computes the norms
// and pass two accumulates the scaled rows. Pass one works on fixed segments of each row's groups
// (so a single long row still uses every thread) and adds the segment sums in order; pass two
// splits each group's (block's) columns into tiles, each tile's float64 accumulator held in L2 while all B rows
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
// Columns per pass-two tile: 64 KiB of float64 in L2, each row read in runs of 32 KiB (see
// kColumnTile in aggregate.cpp: longer runs keep the hardware prefetchers streaming).
constexpr int64_t kColumnTile = 8192;
constexpr int64_t kMinRowsPerItem = 1;

// Where the columns of one slice of a row live: row b's column j of the slice is base[b * stride + j].
// A matrix gives one span per group (base = grads + group start, stride = dim); per-variable
// blocks give one span per block (base = block, stride = its width).
struct Span {
  const float* base;
  int64_t stride, width;
  int64_t group;  // the group of sq / scale the span belongs to
  float* out;     // where the span's columns of the clipped sum go
};

struct Segment {
  const Span* span;
  int64_t begin, end;  // columns of the span
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

std::vector<Span> matrix_spans(const float* grads, int64_t dim, Groups groups, float* sum) {
  std::vector<Span> spans;
  int64_t begin = 0;
  for (int64_t g = 0; g < groups.count; ++g) {
    spans.push_back({grads + begin, dim, groups.ends[g] - begin, g, sum == nullptr ? nullptr : sum + begin});
    begin = groups.ends[g];
  }
  return spans;
}

Status check_blocks(Blocks blocks, int64_t batch) {
  if (batch <= 0) return Status::Invalid("batchSize must be a positive integer");
  if (blocks.count <= 0 || blocks.data == nullptr || blocks.widths == nullptr)
    return Status::Invalid("blocks must hold at least one block");
  int64_t dim = 0;
  for (int64_t k = 0; k < blocks.count; ++k) {
    if (blocks.widths[k] < 0) return Status::Invalid("block widths must be non-negative");
    if (blocks.widths[k] > 0 && blocks.data[k] == nullptr) return Status::Invalid("blocks must not be null");
    dim += blocks.widths[k];
  }
  if (dim <= 0) return Status::Invalid("the blocks' total width must be positive");
  return Status::Ok();
}

// One span (and one group) per non-empty block.
std::vector<Span> block_spans(Blocks blocks, float* const* sums) {
  std::vector<Span> spans;
  for (int64_t k = 0; k < blocks.count; ++k) {
    const int64_t w = blocks.widths[k];
    if (w > 0) spans.push_back({blocks.data[k], w, w, static_cast<int64_t>(spans.size()), sums ? sums[k] : nullptr});
  }
  return spans;
}

// The spans cut into segments of at most kSegment columns.
std::vector<Segment> segments_of(const std::vector<Span>& spans) {
  std::vector<Segment> segs;
  for (const Span& s : spans) {
    for (int64_t b = 0; b < s.width; b += kSegment) segs.push_back({&s, b, std::min(s.width, b + kSegment)});
  }
  return segs;
}

// Pass one: group sums of squares of every row into sq (batch x group_count), norms when asked.
void compute_norms(const std::vector<Span>& spans, int64_t batch, int64_t group_count, double* sq, float* norms,
                   float* group_norms) {
  const std::vector<Segment> segs = segments_of(spans);
  const int64_t per_row = static_cast<int64_t>(segs.size());
  int64_t dim = 0;
  for (const Span& s : spans) dim += s.width;
  std::vector<double> partial(static_cast<size_t>(batch * per_row));
  // Rows of short segments are batched into one work item so tiny rows do not pay per-item costs.
  const int64_t items = batch * per_row;
  const int64_t grain = std::max<int64_t>(kMinRowsPerItem, (1 << 16) / std::max<int64_t>(1, dim / per_row + 1));
  const IsaKernels& k = isa();
  parallel_for(items, grain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / per_row;
      const Segment& s = segs[static_cast<size_t>(i % per_row)];
      partial[static_cast<size_t>(i)] = k.sum_squares(s.span->base + b * s.span->stride + s.begin, s.end - s.begin);
    }
  });
  for (int64_t b = 0; b < batch; ++b) {
    double* row = sq + b * group_count;
    std::fill(row, row + group_count, 0.0);
    for (int64_t j = 0; j < per_row; ++j)
      row[segs[static_cast<size_t>(j)].span->group] += partial[static_cast<size_t>(b * per_row + j)];
    double total = 0.0;
    for (int64_t g = 0; g < group_count; ++g) {
      total += row[g];
      if (group_norms != nullptr) group_norms[b * group_count + g] = static_cast<float>(std::sqrt(row[g]));
    }
    if (norms != nullptr) norms[b] = static_cast<float>(std::sqrt(total));
  }
}

double clip_scale(double norm, double max_norm) { return std::min(1.0, max_norm / (norm + kClipEpsilon)); }

// Pass two: each piece (at most kColumnTile columns of one span) accumulates all rows in row order,
// in float64, scaled by scale[b * scale_count + span.group]. Every column is summed on its own, so
// the bits do not depend on how columns are cut into pieces. Returns false on a float32 overflow.
bool sum_scaled(const std::vector<Span>& spans, int64_t batch, const double* scale, int64_t scale_count) {
  std::vector<Segment> pieces;
  for (const Span& s : spans) {
    for (int64_t c = 0; c < s.width; c += kColumnTile) pieces.push_back({&s, c, std::min(s.width, c + kColumnTile)});
  }
  const IsaKernels& k = isa();
  std::atomic<bool> overflow{false};
  parallel_for(static_cast<int64_t>(pieces.size()), 1, [&](int64_t p0, int64_t p1) {
    alignas(64) double acc[kColumnTile];
    for (int64_t p = p0; p < p1; ++p) {
      const Segment& piece = pieces[static_cast<size_t>(p)];
      const Span& s = *piece.span;
      const int64_t n = piece.end - piece.begin;
      std::fill(acc, acc + n, 0.0);
      // Rows with a non-zero scale, in row order, kMaxRows at a time.
      const float* rows[kMaxRows];
      double a[kMaxRows];
      int m = 0;
      for (int64_t b = 0; b < batch; ++b) {
        const double f = scale[static_cast<size_t>(b * scale_count + s.group)];
        if (f == 0.0) continue;
        rows[m] = s.base + b * s.stride + piece.begin;
        a[m++] = f;
        if (m == kMaxRows) {
          k.axpy_rows(acc, acc, rows, a, m, n);
          m = 0;
        }
      }
      if (m > 0) k.axpy_rows(acc, acc, rows, a, m, n);
      k.store_scaled(s.out + piece.begin, acc, 1.0, n);
      // Finite rows with finite bounds can still sum past float32's range (B rows of norm near
      // C = 3e38): refuse rather than hand an infinite sum to the noise and the release.
      if (!k.all_finite(s.out + piece.begin, n)) overflow.store(true, std::memory_order_relaxed);
    }
  });
  return !overflow.load();
}

constexpr const char* kOverflow = "maxNorm must be small enough that the clipped sum fits in float32";

}  // namespace

Status per_sample_norms(const float* grads, int64_t batch, int64_t dim, Groups groups, float* norms,
                        float* group_norms) {
  Status s = check_matrix(grads, batch, dim, groups);
  if (!s.ok()) return s;
  if (norms == nullptr) return Status::Invalid("norms must not be null");
  try {
    std::vector<double> sq(static_cast<size_t>(batch * groups.count));
    compute_norms(matrix_spans(grads, dim, groups, nullptr), batch, groups.count, sq.data(), norms, group_norms);
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
    const std::vector<Span> spans = matrix_spans(grads, dim, groups, sum);
    // scale[b, g]: the clipping factor of group g of row b (0 for a non-finite row).
    std::vector<double> scale(static_cast<size_t>(batch * groups.count));
    compute_norms(spans, batch, groups.count, scale.data(), norms, group_norms);
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
    if (!sum_scaled(spans, batch, scale.data(), groups.count)) return Status::Invalid(kOverflow);
    *stats = out_stats;
  } catch (const std::bad_alloc&) {
    return {StatusCode::kOutOfMemory, "out of memory for clipping scratch"};
  }
  return Status::Ok();
}

Status per_sample_norms_blocks(Blocks blocks, int64_t batch, float* norms) {
  Status s = check_blocks(blocks, batch);
  if (!s.ok()) return s;
  if (norms == nullptr) return Status::Invalid("norms must not be null");
  try {
    const std::vector<Span> spans = block_spans(blocks, nullptr);
    const int64_t groups = static_cast<int64_t>(spans.size());
    std::vector<double> sq(static_cast<size_t>(batch * groups));
    compute_norms(spans, batch, groups, sq.data(), norms, nullptr);
  } catch (const std::bad_alloc&) {
    return {StatusCode::kOutOfMemory, "out of memory for per-sample norms"};
  }
  return Status::Ok();
}

Status clip_and_sum_blocks(Blocks blocks, int64_t batch, double max_norm, float* const* sums, float* norms,
                           ClipStats* stats) {
  Status s = check_blocks(blocks, batch);
  if (!s.ok()) return s;
  if (sums == nullptr || stats == nullptr) return Status::Invalid("sums must not be null");
  for (int64_t k = 0; k < blocks.count; ++k) {
    if (blocks.widths[k] > 0 && sums[k] == nullptr) return Status::Invalid("sums must not be null");
  }
  if (!(max_norm > 0.0) || !std::isfinite(max_norm)) return Status::Invalid("maxNorm must be a positive finite number");
  try {
    std::vector<Span> spans = block_spans(blocks, sums);
    const int64_t groups = static_cast<int64_t>(spans.size());
    // Each block's sum of squares, added in block order: the norm of the concatenated row.
    std::vector<double> sq(static_cast<size_t>(batch * groups));
    compute_norms(spans, batch, groups, sq.data(), norms, nullptr);
    std::vector<double> scale(static_cast<size_t>(batch));  // one factor per row (0: non-finite)
    ClipStats out_stats;
    for (int64_t b = 0; b < batch; ++b) {
      double total = 0.0;
      for (int64_t g = 0; g < groups; ++g) total += sq[static_cast<size_t>(b * groups + g)];
      if (!std::isfinite(total)) {
        ++out_stats.non_finite;
        continue;
      }
      scale[static_cast<size_t>(b)] = clip_scale(std::sqrt(total), max_norm);
      if (scale[static_cast<size_t>(b)] < 1.0) ++out_stats.clipped;
    }
    for (Span& span : spans) span.group = 0;
    if (!sum_scaled(spans, batch, scale.data(), 1)) return Status::Invalid(kOverflow);
    *stats = out_stats;
  } catch (const std::bad_alloc&) {
    return {StatusCode::kOutOfMemory, "out of memory for clipping scratch"};
  }
  return Status::Ok();
}

Status clip_by_norm(float* x, int64_t n, double max_norm, double* norm, double* scale) {
  if (x == nullptr || n <= 0) return Status::Invalid("x must be a non-empty Float32Array");
  if (!(max_norm > 0.0) || !std::isfinite(max_norm)) return Status::Invalid("maxNorm must be a positive finite number");
  const std::vector<Span> spans = {{x, n, n, 0, nullptr}};
  double sq = 0.0;
  float nrm_f = 0.0f;
  compute_norms(spans, 1, 1, &sq, &nrm_f, nullptr);
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
