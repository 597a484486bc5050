// Robust aggregation of K client updates: coordinate-wise median and trimmed mean (Yin et al.,
// ICML 2018), Krum, multi-Krum (Blanchard et al., NeurIPS 2017) and Bulyan (El Mhamdi et al., ICML
// 2018). Columns are processed in blocks: gather a K x B block column-major (each update row read
// contiguously), check it for NaN/Inf, then select per column with nth_element (O(K) expected).
// The distance rules first build the K x K matrix of squared distances in tiles of pairs.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <numeric>
#include <utility>
#include <vector>

#include "dpfl/fl.h"
#include "dpfl/parallel.h"

namespace dpfl {
namespace {

// The gathered block is about 256 KiB, so it stays in L2 while its columns are selected.
constexpr int64_t kBlockFloats = 1 << 16;

int64_t block_columns(int64_t count) {
  int64_t b = kBlockFloats / count;
  b = std::max<int64_t>(16, std::min<int64_t>(4096, b));
  return b - b % 16;
}

bool finite_bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return (u & 0x7f800000u) != 0x7f800000u;
}

// Lowers *slot to k when k is smaller (the first bad update wins whatever the thread order).
void record_min(std::atomic<int64_t>* slot, int64_t k) {
  int64_t cur = slot->load();
  while ((cur < 0 || k < cur) && !slot->compare_exchange_weak(cur, k)) {
  }
}

// Runs reduce(column, K values) for every column; the values may be reordered by reduce.
template <typename Reduce>
Status by_columns(const float* const* updates, int64_t count, int64_t dim, float* out, int64_t* bad_update,
                  Reduce reduce) {
  *bad_update = -1;
  if (count <= 0) return Status::Invalid("updates must hold at least one update");
  if (dim <= 0) return Status::Invalid("updates must have a positive length");
  if (updates == nullptr || out == nullptr) return Status::Invalid("updates and out must not be null");
  for (int64_t k = 0; k < count; ++k)
    if (updates[k] == nullptr) return Status::Invalid("updates must not hold null pointers");
  const int64_t width = block_columns(count);
  const int64_t blocks = (dim + width - 1) / width;
  std::atomic<int64_t> bad{-1};
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    thread_local std::vector<float> buffer;
    buffer.resize(static_cast<size_t>(count * width));
    for (int64_t b = b0; b < b1; ++b) {
      if (bad.load(std::memory_order_relaxed) >= 0) return;
      const int64_t c0 = b * width;
      const int64_t w = std::min(width, dim - c0);
      float* col = buffer.data();
      // Transpose: column j of the block lives at col[j * count, (j + 1) * count).
      for (int64_t k = 0; k < count; ++k) {
        const float* row = updates[k] + c0;
        bool ok = true;
        for (int64_t j = 0; j < w; ++j) {
          col[j * count + k] = row[j];
          ok &= finite_bits(row[j]);
        }
        if (!ok) {
          record_min(&bad, k);
          return;
        }
      }
      for (int64_t j = 0; j < w; ++j) out[c0 + j] = reduce(col + j * count);
    }
  });
  if (bad.load() >= 0) {
    // Blocks stop at their first bad row; rescan so the index is the smallest over all blocks.
    for (int64_t k = 0; k < count; ++k) {
      bool ok = true;
      for (int64_t d = 0; d < dim && ok; ++d) ok = finite_bits(updates[k][d]);
      if (!ok) {
        *bad_update = k;
        break;
      }
    }
    return Status::Invalid("updates must contain only finite values");
  }
  return Status::Ok();
}

}  // namespace

Status coordinate_median(const float* const* updates, int64_t count, int64_t dim, float* out, int64_t* bad_update) {
  const int64_t mid = count / 2;
  return by_columns(updates, count, dim, out, bad_update, [count, mid](float* v) -> float {
    std::nth_element(v, v + mid, v + count);
    if (count % 2 == 1) return v[mid];
    // Even K: the lower middle value is the largest of the elements before mid.
    const float lower = *std::max_element(v, v + mid);
    return static_cast<float>((static_cast<double>(lower) + static_cast<double>(v[mid])) * 0.5);
  });
}

Status trimmed_mean(const float* const* updates, int64_t count, int64_t dim, int64_t trim, float* out,
                    int64_t* bad_update) {
  *bad_update = -1;
  if (trim < 0 || 2 * trim >= count) return Status::Invalid("trim must satisfy 0 <= 2 * trim < updates.length");
  const int64_t kept = count - 2 * trim;
  const double inv = 1.0 / static_cast<double>(kept);
  return by_columns(updates, count, dim, out, bad_update, [count, trim, kept, inv](float* v) -> float {
    if (trim > 0) {
      // After these two selections v[trim, count - trim) holds exactly the middle values.
      std::nth_element(v, v + trim, v + count);
      std::nth_element(v + trim, v + (count - trim - 1), v + count);
    }
    double s = 0.0;
    for (int64_t i = trim; i < trim + kept; ++i) s += v[i];
    return static_cast<float>(s * inv);
  });
}

// ---- Krum, multi-Krum, Bulyan ------------------------------------------------------------------

namespace {

constexpr int64_t kTileRows = 8;        // a tile pairs 8 updates with 8 others
constexpr int64_t kChunkFloats = 1024;  // 16 rows x 4 KiB of a chunk stay in L1/L2 across the 64 pairs

// sum_d (a[d] - b[d])^2 over n floats in float64, four lanes combined in a fixed order.
double sq_distance(const float* a, const float* b, int64_t n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int64_t d = 0;
  for (; d + 4 <= n; d += 4) {
    const double e0 = static_cast<double>(a[d]) - b[d];
    const double e1 = static_cast<double>(a[d + 1]) - b[d + 1];
    const double e2 = static_cast<double>(a[d + 2]) - b[d + 2];
    const double e3 = static_cast<double>(a[d + 3]) - b[d + 3];
    s0 += e0 * e0;
    s1 += e1 * e1;
    s2 += e2 * e2;
    s3 += e3 * e3;
  }
  for (; d < n; ++d) {
    const double e = static_cast<double>(a[d]) - b[d];
    s0 += e * e;
  }
  return (s0 + s1) + (s2 + s3);
}

Status check_updates(const float* const* updates, int64_t count, int64_t dim, int64_t* bad_update) {
  *bad_update = -1;
  if (count <= 0) return Status::Invalid("updates must hold at least one update");
  if (dim <= 0) return Status::Invalid("updates must have a positive length");
  if (updates == nullptr) return Status::Invalid("updates must not be null");
  for (int64_t k = 0; k < count; ++k)
    if (updates[k] == nullptr) return Status::Invalid("updates must not hold null pointers");
  std::atomic<int64_t> bad{-1};
  parallel_for(count, 1, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) {
      bool ok = true;
      for (int64_t d = 0; d < dim; ++d) ok &= finite_bits(updates[k][d]);
      if (!ok) record_min(&bad, k);
    }
  });
  *bad_update = bad.load();
  return *bad_update >= 0 ? Status::Invalid("updates must contain only finite values") : Status::Ok();
}

// The distances of finite updates (checked by the caller): tiles of kTileRows x kTileRows pairs run
// in parallel; inside a tile the columns go by in chunks, so each chunk of the 16 rows is read from
// cache for all of its pairs. Every pair is summed by one tile in chunk order: thread-independent.
void fill_distances(const float* const* updates, int64_t count, int64_t dim, double* dist) {
  const int64_t blocks = (count + kTileRows - 1) / kTileRows;
  std::vector<std::pair<int64_t, int64_t>> tiles;
  for (int64_t bi = 0; bi < blocks; ++bi)
    for (int64_t bj = bi; bj < blocks; ++bj) tiles.emplace_back(bi, bj);
  parallel_for(static_cast<int64_t>(tiles.size()), 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t i0 = tiles[t].first * kTileRows, i1 = std::min(count, i0 + kTileRows);
      const int64_t j0 = tiles[t].second * kTileRows, j1 = std::min(count, j0 + kTileRows);
      double acc[kTileRows][kTileRows] = {};
      for (int64_t c0 = 0; c0 < dim; c0 += kChunkFloats) {
        const int64_t w = std::min(kChunkFloats, dim - c0);
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = std::max(j0, i + 1); j < j1; ++j)
            acc[i - i0][j - j0] += sq_distance(updates[i] + c0, updates[j] + c0, w);
      }
      for (int64_t i = i0; i < i1; ++i) {
        if (i >= j0 && i < j1) dist[i * count + i] = 0.0;
        for (int64_t j = std::max(j0, i + 1); j < j1; ++j) {
          dist[i * count + j] = acc[i - i0][j - j0];
          dist[j * count + i] = acc[i - i0][j - j0];
        }
      }
    }
  });
}

// Krum scores from the distance matrix. Each row's neighbours are sorted by (distance, index) once;
// a score is then the sum, smallest first, of the first `closest` neighbours not yet `gone`. So
// Bulyan's rounds of Krum over the remaining updates cost O(K^2) simple steps each instead of a
// selection per row (K = 1000, 2 cores: about 1 s instead of 22 s), and nothing is allocated inside
// the parallel regions.
class KrumScorer {
 public:
  KrumScorer(const double* dist, int64_t count)
      : dist_(dist), count_(count), near_(static_cast<size_t>(count * (count - 1))) {
    const int64_t width = count - 1;
    parallel_for(count, 8, [&](int64_t a0, int64_t a1) {
      for (int64_t a = a0; a < a1; ++a) {
        int32_t* row = near_.data() + a * width;
        const double* d = dist + a * count;
        for (int64_t b = 0, c = 0; b < count; ++b)
          if (b != a) row[c++] = static_cast<int32_t>(b);
        std::sort(row, row + width, [d](int32_t x, int32_t y) { return d[x] < d[y] || (d[x] == d[y] && x < y); });
      }
    });
  }

  // scores[a] for every a not gone (gone: one flag per update, or null for none).
  void score(const char* gone, int64_t closest, double* scores) const {
    const int64_t width = count_ - 1;
    parallel_for(count_, 16, [&](int64_t a0, int64_t a1) {
      for (int64_t a = a0; a < a1; ++a) {
        if (gone != nullptr && gone[a]) continue;
        const int32_t* row = near_.data() + a * width;
        const double* d = dist_ + a * count_;
        double s = 0.0;
        for (int64_t c = 0, taken = 0; taken < closest; ++c) {
          if (gone != nullptr && gone[row[c]]) continue;
          s += d[row[c]];
          ++taken;
        }
        scores[a] = s;
      }
    });
  }

 private:
  const double* dist_;
  int64_t count_;
  std::vector<int32_t> near_;
};

// Bulyan's selection: `picks` rounds of Krum, each over the updates not yet chosen, with
// max(1, n - f - 2) neighbours among those n; the lowest index wins a tie.
std::vector<int64_t> iterated_krum(const double* dist, int64_t count, int64_t byzantine, int64_t picks) {
  const KrumScorer scorer(dist, count);
  std::vector<char> gone(static_cast<size_t>(count), 0);
  std::vector<double> scores(static_cast<size_t>(count));
  std::vector<int64_t> chosen;
  for (int64_t n = count; static_cast<int64_t>(chosen.size()) < picks; --n) {
    scorer.score(gone.data(), std::min(n - 1, std::max<int64_t>(1, n - byzantine - 2)), scores.data());
    int64_t best = -1;
    for (int64_t a = 0; a < count; ++a)
      if (!gone[a] && (best < 0 || scores[a] < scores[best])) best = a;
    chosen.push_back(best);
    gone[best] = 1;
  }
  return chosen;
}

// Positions 0..n-1 ordered by (score, position): the lower index wins a tie.
std::vector<int64_t> rank_by_score(const std::vector<double>& scores) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] < scores[b]; });
  return order;
}

Status krum_arguments(int64_t count, int64_t byzantine) {
  if (byzantine < 0) return Status::Invalid("byzantine must be a non-negative integer");
  if (count <= 2 * byzantine + 2) return Status::Invalid("Krum needs more than 2 * byzantine + 2 updates");
  return Status::Ok();
}

// Checks the updates, builds the distance matrix and ranks all updates by Krum score.
Status krum_rank(const float* const* updates, int64_t count, int64_t dim, int64_t byzantine,
                 std::vector<int64_t>* order, int64_t* bad_update) {
  Status s = check_updates(updates, count, dim, bad_update);
  if (!s.ok()) return s;
  std::vector<double> dist(static_cast<size_t>(count * count));
  fill_distances(updates, count, dim, dist.data());
  std::vector<double> scores(static_cast<size_t>(count));
  s = krum_scores(dist.data(), count, byzantine, scores.data());
  if (s.ok()) *order = rank_by_score(scores);
  return s;
}

// out[d] = float64 mean of the rows, summed in the given row order and rounded once.
Status mean_of(const std::vector<const float*>& rows, int64_t dim, float* out) {
  const int64_t n = static_cast<int64_t>(rows.size());
  const double inv = 1.0 / static_cast<double>(n);
  int64_t bad = -1;
  return by_columns(rows.data(), n, dim, out, &bad, [n, inv](float* v) -> float {
    double s = 0.0;
    for (int64_t k = 0; k < n; ++k) s += v[k];
    return static_cast<float>(s * inv);
  });
}

// More than 2^26 updates would need a distance matrix beyond any machine's memory (and K * K
// could overflow int64 long before); refuse instead.
constexpr int64_t kMaxDistanceCount = int64_t{1} << 26;

}  // namespace

Status pairwise_sq_distances(const float* const* updates, int64_t count, int64_t dim, double* dist,
                             int64_t* bad_update) {
  *bad_update = -1;
  if (dist == nullptr) return Status::Invalid("dist must not be null");
  if (count > kMaxDistanceCount) return Status::Invalid("updates must hold at most 2^26 updates");
  const Status s = check_updates(updates, count, dim, bad_update);
  if (!s.ok()) return s;
  try {
    fill_distances(updates, count, dim, dist);
  } catch (const std::bad_alloc&) {
    return {StatusCode::kOutOfMemory, "out of memory for the tiles of the distance matrix"};
  }
  return Status::Ok();
}

Status krum_scores(const double* dist, int64_t count, int64_t byzantine, double* scores) {
  const Status s = krum_arguments(count, byzantine);
  if (!s.ok()) return s;
  if (dist == nullptr || scores == nullptr) return Status::Invalid("dist and scores must not be null");
  if (count > kMaxDistanceCount) return Status::Invalid("updates must hold at most 2^26 updates");
  try {
    KrumScorer(dist, count).score(nullptr, count - byzantine - 2, scores);
  } catch (const std::bad_alloc&) {
    return {StatusCode::kOutOfMemory, "out of memory for the sorted neighbours"};
  }
  return Status::Ok();
}

Status krum(const float* const* updates, int64_t count, int64_t dim, int64_t byzantine, float* out, int64_t* selected,
            int64_t* bad_update) {
  return multi_krum(updates, count, dim, byzantine, 1, out, selected, bad_update);
}

Status multi_krum(const float* const* updates, int64_t count, int64_t dim, int64_t byzantine, int64_t keep, float* out,
                  int64_t* selected, int64_t* bad_update) {
  *bad_update = -1;
  Status s = krum_arguments(count, byzantine);
  if (!s.ok()) return s;
  if (keep < 1 || keep > count - byzantine) return Status::Invalid("keep must satisfy 1 <= keep <= count - byzantine");
  if (out == nullptr) return Status::Invalid("out must not be null");
  if (count > kMaxDistanceCount) return Status::Invalid("updates must hold at most 2^26 updates");
  try {
    std::vector<int64_t> order;
    s = krum_rank(updates, count, dim, byzantine, &order, bad_update);
    if (!s.ok()) return s;
    if (selected != nullptr) std::copy(order.begin(), order.begin() + keep, selected);
    if (keep == 1) {
      std::memmove(out, updates[order[0]], static_cast<size_t>(dim) * sizeof(float));  // out may be that row
      return Status::Ok();
    }
    // Summed in index order, so the result does not depend on how ties among the kept were ranked.
    std::vector<int64_t> kept(order.begin(), order.begin() + keep);
    std::sort(kept.begin(), kept.end());
    std::vector<const float*> rows;
    for (int64_t k : kept) rows.push_back(updates[k]);
    return mean_of(rows, dim, out);
  } catch (const std::bad_alloc&) {
    return {StatusCode::kOutOfMemory, "out of memory for the distance matrix"};
  }
}

Status bulyan(const float* const* updates, int64_t count, int64_t dim, int64_t byzantine, float* out, int64_t* selected,
              int64_t* bad_update) {
  *bad_update = -1;
  if (byzantine < 0) return Status::Invalid("byzantine must be a non-negative integer");
  if (count < 4 * byzantine + 3) return Status::Invalid("Bulyan needs at least 4 * byzantine + 3 updates");
  if (out == nullptr) return Status::Invalid("out must not be null");
  if (count > kMaxDistanceCount) return Status::Invalid("updates must hold at most 2^26 updates");
  try {
    Status s = check_updates(updates, count, dim, bad_update);
    if (!s.ok()) return s;
    std::vector<double> dist(static_cast<size_t>(count * count));
    fill_distances(updates, count, dim, dist.data());
    const int64_t theta = count - 2 * byzantine;
    const int64_t beta = theta - 2 * byzantine;
    const std::vector<int64_t> chosen = iterated_krum(dist.data(), count, byzantine, theta);
    if (selected != nullptr) std::copy(chosen.begin(), chosen.end(), selected);
    std::vector<int64_t> kept = chosen;
    std::sort(kept.begin(), kept.end());
    std::vector<const float*> rows;
    for (int64_t k : kept) rows.push_back(updates[k]);
    const double inv = 1.0 / static_cast<double>(beta);
    int64_t bad = -1;
    return by_columns(rows.data(), theta, dim, out, &bad, [theta, beta, inv](float* v) -> float {
      std::sort(v, v + theta);
      const int64_t mid = theta / 2;
      const double med = theta % 2 == 1 ? v[mid] : (static_cast<double>(v[mid - 1]) + v[mid]) * 0.5;
      // Grow a window [lo, hi) outwards from the median, taking the closer neighbour (the lower on a tie).
      int64_t hi = std::upper_bound(v, v + theta, med, [](double m, float x) { return m < x; }) - v;
      int64_t lo = hi;
      while (hi - lo < beta) {
        if (hi >= theta || (lo > 0 && med - v[lo - 1] <= v[hi] - med)) {
          --lo;
        } else {
          ++hi;
        }
      }
      double s = 0.0;
      for (int64_t i = lo; i < hi; ++i) s += v[i];
      return static_cast<float>(s * inv);
    });
  } catch (const std::bad_alloc&) {
    return {StatusCode::kOutOfMemory, "out of memory for the distance matrix"};
  }
}

}  // namespace dpfl
