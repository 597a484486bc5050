// Row moves of sparsity-preserving DP-SGD (DP-AdaFEST / DP-FEST): the k selected rows of an
// embedding-sized table copied out, written back or cleared, once or twice per training step.
// Plain copies, so every thread count gives the same bytes.
#include <algorithm>
#include <cstring>

#include "dpfl/nn.h"
#include "dpfl/parallel.h"

namespace dpfl {
namespace nn {
namespace {

// Bytes moved per pool chunk. Measured at 2^18 × 64 with 5000 rows (1.25 MiB, 2 threads): one chunk
// takes 0.13-0.22 ms warm or cold, and two chunks of 2500 or four of 1250 rows were no faster
// (within the noise of a shared machine), so a call splits only when each chunk has several times
// that much to move. Software prefetch a few rows ahead was measured at
// distances 2–32 rows, with the table in the LLC and evicted to DRAM: no gain (±1%); the row
// addresses come from sel, not from the loads, so the out-of-order core already overlaps the
// misses. None is issued.
constexpr int64_t kGrainBytes = int64_t{4} << 20;

// Narrow rows (the linear models' 1- and 2-float rows) are copied a float at a time: a memcpy call
// of a few bytes per row cost more than the copy (1000 rows of 1 float: 5.1 µs, JavaScript 3.2 µs).
constexpr int64_t kNarrowRow = 4;

inline void copy_row(float* dst, const float* src, int64_t dim) {
  if (dim > kNarrowRow) {
    std::memcpy(dst, src, static_cast<size_t>(dim) * sizeof(float));
    return;
  }
  for (int64_t c = 0; c < dim; ++c) std::memcpy(dst + c, src + c, sizeof(float));  // a 4-byte move: bits kept
}

inline void zero_row(float* dst, int64_t dim) {
  if (dim > kNarrowRow) {
    std::memset(dst, 0, static_cast<size_t>(dim) * sizeof(float));
    return;
  }
  for (int64_t c = 0; c < dim; ++c) dst[c] = 0.0f;
}

uint32_t row_limit(int64_t rows) { return static_cast<uint32_t>(std::min<int64_t>(rows, int64_t{1} << 31)); }

// Calls move(i, row) for i in [0, k). sel was checked; each row is checked again (a branch never
// taken) only so that a sel sharing memory with the written buffer, changed under the loop,
// still cannot send a write outside the table.
template <class Move>
void for_rows(int64_t rows, int64_t dim, const int32_t* sel, int64_t k, const Move& move) {
  const uint32_t limit = row_limit(rows);
  const int64_t grain = std::max<int64_t>(1, kGrainBytes / (dim * static_cast<int64_t>(sizeof(float))));
  parallel_for(k, grain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const uint32_t j = static_cast<uint32_t>(sel[i]);
      if (j < limit) move(i, static_cast<int64_t>(j));
    }
  });
}

// sel: k strictly increasing rows in [0, rows). One pass with no early exit (it vectorises); the
// position of the first bad entry is looked for only when there is one.
Status check_rows(int64_t rows, int64_t dim, const int32_t* sel, int64_t k, const void* a, const void* b,
                  int64_t* bad_index) {
  if (bad_index != nullptr) *bad_index = -1;
  if (rows < 0 || dim <= 0 || k < 0) return Status::Invalid("row moves: rows >= 0, dim > 0 and k >= 0 required");
  if (k == 0) return Status::Ok();
  if (sel == nullptr) return Status::Invalid("row moves: null sel");
  const uint32_t limit = row_limit(rows);
  int bad = static_cast<uint32_t>(sel[0]) >= limit;
  bad |= static_cast<uint32_t>(sel[k - 1]) >= limit;
  for (int64_t i = 1; i < k; ++i) bad |= sel[i] <= sel[i - 1];
  if (bad == 0) return a != nullptr && b != nullptr ? Status::Ok() : Status::Invalid("row moves: null buffer");
  for (int64_t i = 0; i < k; ++i) {
    if (static_cast<uint32_t>(sel[i]) >= limit || (i > 0 && sel[i] <= sel[i - 1])) {
      if (bad_index != nullptr) *bad_index = i;
      break;
    }
  }
  return Status::Invalid("sel must be strictly increasing rows in [0, rows)");
}

}  // namespace

Status gather_rows(const float* table, int64_t rows, int64_t dim, const int32_t* sel, int64_t k, float* out,
                   int64_t* bad_index) {
  Status s = check_rows(rows, dim, sel, k, table, out, bad_index);
  if (!s.ok() || k == 0) return s;
  for_rows(rows, dim, sel, k, [&](int64_t i, int64_t j) { copy_row(out + i * dim, table + j * dim, dim); });
  return Status::Ok();
}

Status scatter_rows(const float* src, int64_t rows, int64_t dim, const int32_t* sel, int64_t k, float* table,
                    int64_t* bad_index) {
  Status s = check_rows(rows, dim, sel, k, src, table, bad_index);
  if (!s.ok() || k == 0) return s;
  for_rows(rows, dim, sel, k, [&](int64_t i, int64_t j) { copy_row(table + j * dim, src + i * dim, dim); });
  return Status::Ok();
}

Status zero_rows(float* table, int64_t rows, int64_t dim, const int32_t* sel, int64_t k, int64_t* bad_index) {
  Status s = check_rows(rows, dim, sel, k, table, table, bad_index);
  if (!s.ok() || k == 0) return s;
  for_rows(rows, dim, sel, k, [&](int64_t, int64_t j) { zero_row(table + j * dim, dim); });
  return Status::Ok();
}

}  // namespace nn
}  // namespace dpfl
