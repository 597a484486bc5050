// The addon's checked size arithmetic (native/addon/checked_size.h, Node-free): products and sums
// of counts are accepted only inside [0, 2^53), so a product that wraps modulo 2^64 can never match
// the length of a zero-length view.
#include <cstdint>

#include "../addon/checked_size.h"
#include "check.h"

using dpfl_addon::CheckedAdd;
using dpfl_addon::CheckedBytes;
using dpfl_addon::CheckedMul;
using dpfl_addon::kMaxSafeCount;

TEST(products_inside_the_safe_range_are_exact) {
  int64_t out = -1;
  CHECK(CheckedMul(0, kMaxSafeCount, &out));
  CHECK_EQ(out, int64_t{0});
  CHECK(CheckedMul(int64_t{1} << 26, (int64_t{1} << 27) - 1, &out));
  CHECK_EQ(out, (int64_t{1} << 53) - (int64_t{1} << 26));
  CHECK(CheckedMul(kMaxSafeCount, 1, &out));
  CHECK_EQ(out, kMaxSafeCount);
}

TEST(products_that_wrap_or_leave_the_safe_range_are_refused) {
  int64_t out = 7;
  CHECK(!CheckedMul(int64_t{1} << 32, int64_t{1} << 32, &out));  // 2^64: wraps to 0
  CHECK(!CheckedMul(int64_t{1} << 52, int64_t{1} << 12, &out));  // the embedding-bag case
  CHECK(!CheckedMul(int64_t{1} << 27, int64_t{1} << 26, &out));  // exactly 2^53
  CHECK(!CheckedMul(kMaxSafeCount + 1, 0, &out));
  CHECK(!CheckedMul(-1, 1, &out));
  CHECK(!CheckedMul(INT64_MAX, INT64_MAX, &out));
  CHECK_EQ(out, int64_t{7});  // untouched on refusal
}

TEST(sums_and_bytes) {
  int64_t sum = 0;
  CHECK(CheckedAdd(kMaxSafeCount - 1, 1, &sum));
  CHECK_EQ(sum, kMaxSafeCount);
  CHECK(!CheckedAdd(kMaxSafeCount, 1, &sum));
  CHECK(!CheckedAdd(-1, 2, &sum));
  std::size_t bytes = 0;
  CHECK(CheckedBytes(1000, 4, &bytes));
  CHECK_EQ(bytes, std::size_t{4000});
  CHECK(!CheckedBytes(kMaxSafeCount, 8, &bytes));
}

CHECK_MAIN()
