// Checked arithmetic on element counts, the one place the addon multiplies sizes. Node-free (no
// napi.h) so the C++ tests and fuzzers can link it. Every count is a JS safe integer (< 2^53), so
// a product that leaves [0, 2^53) cannot describe any view the caller passed: refusing it before
// comparing with a view's length is what keeps a wrapped product (2^32 * 2^32 = 0 mod 2^64) from
// matching a zero-length view.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dpfl_addon {

// The largest count a JS number holds exactly, 2^53 - 1.
constexpr int64_t kMaxSafeCount = 9007199254740991LL;

// *out = a * b when a, b and the product are all in [0, kMaxSafeCount]; false otherwise (*out
// untouched).
inline bool CheckedMul(int64_t a, int64_t b, int64_t* out) {
  if (a < 0 || b < 0 || a > kMaxSafeCount || b > kMaxSafeCount) return false;
  if (a != 0 && b > kMaxSafeCount / a) return false;
  *out = a * b;
  return true;
}

// *out = a + b under the same rule.
inline bool CheckedAdd(int64_t a, int64_t b, int64_t* out) {
  if (a < 0 || b < 0 || a > kMaxSafeCount || b > kMaxSafeCount - a) return false;
  *out = a + b;
  return true;
}

// *out = count * element_size bytes as a size_t, for copies and allocations.
inline bool CheckedBytes(int64_t count, int64_t element_size, std::size_t* out) {
  int64_t bytes = 0;
  if (!CheckedMul(count, element_size, &bytes)) return false;
  if (static_cast<uint64_t>(bytes) > static_cast<uint64_t>(SIZE_MAX)) return false;
  *out = static_cast<std::size_t>(bytes);
  return true;
}

}  // namespace dpfl_addon
