// Coordinate-wise median and trimmed mean of K client updates (Yin et al., ICML 2018).
// Columns are processed in blocks: gather a K x B block column-major (each update row read
// contiguously), check it for NaN/Inf, then select per column with nth_element (O(K) expected).
#include <algorithm>
#include <atomic>
#include <cstring>
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

Status coordinate_median(const float* const* updates, int64_t count, int64_t dim, float* out,
                         int64_t* bad_update) {
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

}  // namespace dpfl
