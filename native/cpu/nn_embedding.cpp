// Embedding bags (weighted sum or mean of table rows per example) and their ghost norms. The
// backward pass writes only the rows the tokens touch; the per-example gradient norm is computed
// from the token list with duplicates merged, never from a dense per-example gradient.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "dpfl/nn.h"
#include "dpfl/parallel.h"

namespace dpfl {
namespace nn {
namespace {

// bad_index (may be null): the position of the first index outside [0, rows), else -1.
Status check_bags(int64_t rows, int64_t dim, const Bags& bags, int64_t* bad_index = nullptr) {
  if (bad_index != nullptr) *bad_index = -1;
  if (rows <= 0 || dim <= 0) return Status::Invalid("embedding table sizes must be positive");
  if (bags.batch < 0 || bags.index_count < 0) return Status::Invalid("bags sizes must be non-negative");
  if (bags.offsets == nullptr) return Status::Invalid("offsets must not be null");
  if (bags.index_count > 0 && bags.indices == nullptr) return Status::Invalid("indices must not be null");
  int32_t prev = bags.offsets[0];
  if (prev < 0) return Status::Invalid("offsets must be non-negative");
  for (int64_t r = 1; r <= bags.batch; ++r) {
    const int32_t o = bags.offsets[r];
    if (o < prev) return Status::Invalid("offsets must be non-decreasing");
    prev = o;
  }
  if (prev > bags.index_count) return Status::Invalid("offsets must not exceed the number of indices");
  // One unsigned compare per index with no early exit, so the loop vectorises; the position of
  // the first bad index is looked for only when there is one.
  const uint32_t limit = static_cast<uint32_t>(std::min<int64_t>(rows, int64_t{1} << 31));
  int any_bad = 0;
  for (int64_t t = bags.offsets[0]; t < prev; ++t) any_bad |= static_cast<uint32_t>(bags.indices[t]) >= limit;
  if (any_bad == 0) return Status::Ok();
  for (int64_t t = bags.offsets[0]; t < prev; ++t) {
    if (bags.indices[t] < 0 || bags.indices[t] >= rows) {
      if (bad_index != nullptr) *bad_index = t;
      break;
    }
  }
  return Status::Invalid("indices must lie in [0, rows)");
}

// Weight of token t of a bag holding n tokens.
inline float token_weight(const Bags& bags, int64_t t, int64_t n) {
  return bags.weights != nullptr ? bags.weights[t] : 1.0f / static_cast<float>(n);
}

// A hint only (no-op where the compiler has no builtin): the line at p will soon be written.
inline void prefetch_write(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 1);
#else
  (void)p;
#endif
}

}  // namespace

Status embedding_bag_forward(const float* table, int64_t rows, int64_t dim, Bags bags, const float* bias, float* out) {
  Status s = check_bags(rows, dim, bags);
  if (!s.ok()) return s;
  if (table == nullptr || (bags.batch > 0 && out == nullptr))
    return Status::Invalid("embedding_bag_forward: null buffer");
  parallel_for(bags.batch, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* o = out + r * dim;
      if (bias != nullptr) {
        std::memcpy(o, bias, static_cast<size_t>(dim) * sizeof(float));
      } else {
        std::memset(o, 0, static_cast<size_t>(dim) * sizeof(float));
      }
      const int64_t t0 = bags.offsets[r], t1 = bags.offsets[r + 1];
      for (int64_t t = t0; t < t1; ++t) {
        const float w = token_weight(bags, t, t1 - t0);
        const float* e = table + static_cast<int64_t>(bags.indices[t]) * dim;
        for (int64_t j = 0; j < dim; ++j) o[j] += w * e[j];
      }
    }
  });
  return Status::Ok();
}

Status embedding_bag_backward(const float* dout, int64_t rows, int64_t dim, Bags bags, const float* row_scale,
                              float* dtable) {
  Status s = check_bags(rows, dim, bags);
  if (!s.ok()) return s;
  if (dtable == nullptr || (bags.batch > 0 && dout == nullptr))
    return Status::Invalid("embedding_bag_backward: null buffer");
  // Tokens are bucketed by table-row range with a stable counting sort (token order kept within
  // a bucket); each bucket is then written by one chunk. No two chunks write one row, and each
  // row sums its tokens in token order, so the result does not depend on the thread count.
  constexpr int64_t kBuckets = 64;
  const int64_t width = std::max<int64_t>(1, (rows + kBuckets - 1) / kBuckets);
  const int64_t buckets = (rows + width - 1) / width;
  const int64_t t_begin = bags.batch > 0 ? bags.offsets[0] : 0;
  const int64_t t_end = bags.batch > 0 ? bags.offsets[bags.batch] : 0;
  std::vector<int64_t> start(static_cast<size_t>(buckets + 1), 0);
  std::vector<int32_t> order_t, order_r;
  try {
    order_t.resize(static_cast<size_t>(t_end - t_begin));
    order_r.resize(static_cast<size_t>(t_end - t_begin));
  } catch (...) {
    return {StatusCode::kOutOfMemory, "embedding_bag_backward could not allocate its token buckets"};
  }
  for (int64_t t = t_begin; t < t_end; ++t) ++start[static_cast<size_t>(bags.indices[t] / width + 1)];
  for (int64_t b = 0; b < buckets; ++b) start[static_cast<size_t>(b + 1)] += start[static_cast<size_t>(b)];
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t r = 0; r < bags.batch; ++r) {
      for (int64_t t = bags.offsets[r]; t < bags.offsets[r + 1]; ++t) {
        const int64_t pos = fill[static_cast<size_t>(bags.indices[t] / width)]++;
        order_t[static_cast<size_t>(pos)] = static_cast<int32_t>(t);
        order_r[static_cast<size_t>(pos)] = static_cast<int32_t>(r);
      }
    }
  }
  parallel_for(buckets, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t k = start[static_cast<size_t>(b0)]; k < start[static_cast<size_t>(b1)]; ++k) {
      const int64_t t = order_t[static_cast<size_t>(k)];
      const int64_t r = order_r[static_cast<size_t>(k)];
      const int64_t n = bags.offsets[r + 1] - bags.offsets[r];
      const float sc = row_scale != nullptr ? row_scale[r] : 1.0f;
      const float w = sc * token_weight(bags, t, n);
      const float* g = dout + r * dim;
      float* d = dtable + static_cast<int64_t>(bags.indices[t]) * dim;
      for (int64_t j = 0; j < dim; ++j) d[j] += w * g[j];
    }
  });
  return Status::Ok();
}

Status embedding_bag_ghost_sqnorms(const float* dout, int64_t rows, int64_t dim, Bags bags, double* sq_norms) {
  Status s = check_bags(rows, dim, bags);
  if (!s.ok()) return s;
  if (bags.batch > 0 && (dout == nullptr || sq_norms == nullptr)) {
    return Status::Invalid("embedding_bag_ghost_sqnorms: null buffer");
  }
  // Per example, a small open-addressing table (sized to the bag, so it stays in L1) maps each
  // distinct row to its summed weight c, so merging duplicates is O(tokens) with no sort and no
  // random access into a table of `rows` entries: Σ_j c_j² is kept up to date as
  // (c + w)² − c² = w·(2c + w) per token, in token order.
  parallel_for(bags.batch, 32, [&](int64_t r0, int64_t r1) {
    thread_local std::vector<int32_t> keys;
    thread_local std::vector<double> sums;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t t0 = bags.offsets[r], t1 = bags.offsets[r + 1];
      size_t cap = 16;
      while (cap < 2 * static_cast<size_t>(t1 - t0)) cap *= 2;
      if (keys.size() < cap) {
        keys.resize(cap);
        sums.resize(cap);
      }
      std::fill(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(cap), -1);
      const uint32_t mask = static_cast<uint32_t>(cap - 1);
      double coeff = 0.0;
      for (int64_t t = t0; t < t1; ++t) {
        const int32_t j = bags.indices[t];
        const double w =
            bags.weights != nullptr ? static_cast<double>(bags.weights[t]) : 1.0 / static_cast<double>(t1 - t0);
        uint32_t h = (static_cast<uint32_t>(j) * 0x9E3779B1u) & mask;
        while (keys[h] != -1 && keys[h] != j) h = (h + 1) & mask;
        if (keys[h] == -1) {
          keys[h] = j;
          sums[h] = 0.0;
        }
        coeff += w * (2.0 * sums[h] + w);
        sums[h] += w;
      }
      double g = 0.0;
      const float* row = dout + r * dim;
      for (int64_t k = 0; k < dim; ++k) g += static_cast<double>(row[k]) * row[k];
      sq_norms[r] = coeff * g;
    }
  });
  return Status::Ok();
}

Status contribution_map_add(Bags bags, int64_t rows, double clip, float* counts, int32_t* stamp, int32_t* example_id,
                            int32_t* touched, int64_t* touched_count, int64_t* bad_index) {
  if (bad_index != nullptr) *bad_index = -1;
  if (!(clip > 0.0 && clip <= std::numeric_limits<double>::max())) {
    return Status::Invalid("contribution_map_add: clip must be positive and finite");
  }
  if (counts == nullptr || stamp == nullptr || example_id == nullptr || touched == nullptr ||
      touched_count == nullptr) {
    return Status::Invalid("contribution_map_add: null buffer");
  }
  if (*example_id < 0 || *example_id > kContributionStampLimit) {
    return Status::Invalid("contribution_map_add: example_id must lie in [0, 2^30]");
  }
  if (*touched_count < 0 || *touched_count > rows) {
    return Status::Invalid("contribution_map_add: touched_count must lie in [0, rows]");
  }
  Status s = check_bags(rows, 1, bags, bad_index);
  if (!s.ok()) return s;
  // The offsets as checked, kept apart from the buffers written below (so a caller's aliasing of
  // them cannot move a bag outside indices or past the distinct buffer).
  std::vector<int64_t> off;
  std::vector<int32_t> distinct;
  try {
    off.assign(bags.offsets, bags.offsets + bags.batch + 1);
    int64_t longest = 0;
    for (int64_t r = 0; r < bags.batch; ++r) longest = std::max<int64_t>(longest, off[r + 1] - off[r]);
    distinct.resize(static_cast<size_t>(longest));
  } catch (...) {
    return {StatusCode::kOutOfMemory, "contribution_map_add could not allocate its work buffers"};
  }
  // One thread, examples in order: the float32 sums and the touched order are those of the plain
  // loop by construction. Both loops are branch-free (a row's first occurrence and a row's first
  // count are data-dependent coin flips: mispredicted branches cost more than the lookups), and
  // the table-sized arrays, read at random rows, are prefetched a little ahead in the token stream.
  constexpr int64_t kAhead = 64;
  const int32_t* idx = bags.indices;
  const int64_t t_end = off[static_cast<size_t>(bags.batch)];
  const uint32_t limit = static_cast<uint32_t>(std::min<int64_t>(rows, int64_t{1} << 31));
  int32_t* dist = distinct.data();
  int32_t spare = 0;
  int32_t id = *example_id;
  int64_t k = *touched_count;
  for (int64_t r = 0; r < bags.batch; ++r) {
    if (id == kContributionStampLimit) {
      std::memset(stamp, 0, static_cast<size_t>(rows) * sizeof(int32_t));
      id = 0;
    }
    ++id;
    const int64_t t0 = off[static_cast<size_t>(r)], t1 = off[static_cast<size_t>(r + 1)];
    int64_t n = 0;
    for (int64_t t = t0; t < t1; ++t) {
      if (t + kAhead < t_end) {  // a hint: harmless whatever the index
        prefetch_write(stamp + idx[t + kAhead]);
        prefetch_write(counts + idx[t + kAhead]);
      }
      const int32_t j = idx[t];
      // Checked above; re-checked (a never-taken branch) only because indices might share memory
      // with stamp, counts or touched: then they change under the loop, and this stops before a
      // write outside the arrays (the map is left part-written: the caller broke the contract).
      if (static_cast<uint32_t>(j) >= limit) return Status::Invalid("contribution_map_add: indices alias an output");
      dist[n] = j;
      n += stamp[j] != id;
      stamp[j] = id;
    }
    if (n == 0) continue;
    const double w = std::min(1.0, clip / std::sqrt(static_cast<double>(n)));
    for (int64_t q = 0; q < n; ++q) {
      const int32_t j = dist[q];
      const float c = counts[j];
      const float next = static_cast<float>(static_cast<double>(c) + w);
      // Counts only grow (w > 0), so a row enters touched at most once per reset of counts: k <= rows.
      // The slot is written whether or not it is kept; once every row is in (k == rows) it goes to
      // a dummy.
      int32_t* slot = k < rows ? touched + k : &spare;
      *slot = j;
      k += static_cast<int64_t>(c == 0.0f) & static_cast<int64_t>(next != 0.0f);
      counts[j] = next;
    }
  }
  *example_id = id;
  *touched_count = k;
  return Status::Ok();
}

}  // namespace nn
}  // namespace dpfl
