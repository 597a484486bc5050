// libFuzzer target: the addon's size arithmetic (native/addon/checked_size.h), the one place the
// addon multiplies and adds element counts before comparing them with a view's length. Property:
// against an exact __int128 reference, every product/sum of counts in [0, 2^53) is accepted with
// the exact value, and everything else (a negative count, a result at or past 2^53, a byte count
// past SIZE_MAX) is refused with the output untouched.
#include <cstddef>
#include <cstdint>

#include "checked_size.h"
#include "fuzz_input.h"

namespace {

using dpfl_addon::kMaxSafeCount;

// Counts near the edges are the interesting ones: around 0, 2^26.5, 2^32, 2^53 and INT64 limits.
int64_t count(fuzz::Input& in) {
  const int64_t edges[] = {0, 1, 94906265, 94906266, 1LL << 32, kMaxSafeCount, INT64_MAX, INT64_MIN, 1LL << 53};
  switch (in.byte() % 4) {
    case 0: {  // edge ± 2, wrapping at the int64 limits (unsigned arithmetic: no UB in the harness itself)
      const int64_t edge = edges[in.byte() % (sizeof(edges) / sizeof(edges[0]))];
      return static_cast<int64_t>(static_cast<uint64_t>(edge) + static_cast<uint64_t>(in.range(-2, 2)));
    }
    case 1:
      return in.range(-4, 4096);
    default:
      return static_cast<int64_t>(in.u64());
  }
}

bool in_range(__int128 v) { return v >= 0 && v <= kMaxSafeCount; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const int64_t a = count(in);
  const int64_t b = count(in);
  const bool args_ok = in_range(a) && in_range(b);

  int64_t out = -7;
  const __int128 product = static_cast<__int128>(a) * b;
  const bool mul_ok = dpfl_addon::CheckedMul(a, b, &out);
  FUZZ_CHECK(mul_ok == (args_ok && in_range(product)), "CheckedMul(%lld, %lld) returned %d", (long long)a, (long long)b,
             mul_ok);
  FUZZ_CHECK(mul_ok ? out == product : out == -7, "CheckedMul(%lld, %lld) wrote %lld", (long long)a, (long long)b,
             (long long)out);

  out = -7;
  const __int128 sum = static_cast<__int128>(a) + b;
  const bool add_ok = dpfl_addon::CheckedAdd(a, b, &out);
  FUZZ_CHECK(add_ok == (args_ok && in_range(sum)), "CheckedAdd(%lld, %lld) returned %d", (long long)a, (long long)b,
             add_ok);
  FUZZ_CHECK(add_ok ? out == sum : out == -7, "CheckedAdd(%lld, %lld) wrote %lld", (long long)a, (long long)b,
             (long long)out);

  std::size_t bytes = 7;
  const int64_t element = in.range(0, 16);
  const __int128 total = static_cast<__int128>(a) * element;
  const bool bytes_ok = dpfl_addon::CheckedBytes(a, element, &bytes);
  const bool expect_bytes = in_range(a) && in_range(total) && total <= static_cast<__int128>(SIZE_MAX);
  FUZZ_CHECK(bytes_ok == expect_bytes, "CheckedBytes(%lld, %lld) returned %d", (long long)a, (long long)element,
             bytes_ok);
  FUZZ_CHECK(bytes_ok ? static_cast<__int128>(bytes) == total : bytes == 7, "CheckedBytes wrote %zu", bytes);
  return 0;
}
