// Shared by the libFuzzer targets of the core: decodes sizes and values from the fuzz input,
// float64 references, and a check that aborts (so libFuzzer saves the input) with a message.
// Every size is bounded so one execution stays in the millisecond range under ASan.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "dpfl/dispatch.h"
#include "dpfl/parallel.h"
#include "tolerances.h"

#define FUZZ_CHECK(cond, ...)                                                            \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: property failed: %s\n  ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                                 \
      std::fprintf(stderr, "\n");                                                        \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

namespace fuzz {

// One pool thread by default: on a loaded CI machine, waking workers for tiny inputs costs more
// than the kernel. same_everywhere switches to 3 threads for the inputs large enough to split.
inline const bool kSingleThreaded = (dpfl::set_thread_count(1), true);

// Reads the input front to back; past its end every read returns zeros, so any prefix of an
// input is itself a valid input (libFuzzer's mutations stay meaningful).
class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}

  uint8_t byte() { return p_ < end_ ? *p_++ : 0; }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(byte()) << (8 * i);
    return v;
  }
  uint64_t u64() { return static_cast<uint64_t>(u32()) | (static_cast<uint64_t>(u32()) << 32); }
  bool flag() { return (byte() & 1) != 0; }
  // A value in [lo, hi] (inclusive).
  int64_t range(int64_t lo, int64_t hi) {
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    const uint64_t v = span <= 256 ? byte() : u32();
    return lo + static_cast<int64_t>(v % span);
  }
  // A size: usually small, sometimes out of range (negative, zero), sometimes up to max.
  int64_t size(int64_t max) {
    switch (byte() % 8) {
      case 0:
        return range(-3, 0);
      case 1:
        return range(1, max);
      default:
        return range(1, std::min<int64_t>(max, 20));
    }
  }

  // A float from a per-array magnitude scale_exp: small integers times 2^scale_exp (exact,
  // often equal, often zero), with rarer raw bit patterns and special values.
  float value(int scale_exp) {
    const uint8_t mode = byte();
    if (mode < 200) return std::ldexp(static_cast<float>(static_cast<int8_t>(byte())), scale_exp);
    if (mode < 230) {
      static const float kSpecial[] = {0.0f,
                                       -0.0f,
                                       1.0f,
                                       -1.0f,
                                       std::numeric_limits<float>::max(),
                                       -std::numeric_limits<float>::max(),
                                       std::numeric_limits<float>::min(),
                                       std::numeric_limits<float>::denorm_min(),
                                       1e-30f,
                                       1e30f,
                                       1e19f,
                                       -1e19f};
      return kSpecial[byte() % (sizeof kSpecial / sizeof kSpecial[0])];
    }
    if (mode < 250) {
      float f;
      const uint32_t bits = u32() & 0xff7fffffu;  // raw bits, never NaN or Inf (exponent < 255)
      std::memcpy(&f, &bits, 4);
      return f;
    }
    static const float kNonFinite[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                                       -std::numeric_limits<float>::infinity()};
    return kNonFinite[byte() % 3];
  }
  int scale_exp() { return static_cast<int>(range(-24, 24)) - 7; }
  std::vector<float> floats(int64_t n) {
    const int e = scale_exp();
    std::vector<float> v(static_cast<size_t>(std::max<int64_t>(0, n)));
    for (float& x : v) x = value(e);
    return v;
  }
  // A positive double hyper-parameter (a norm bound, a standard deviation, a scale), sometimes
  // zero, negative, non-finite or extreme.
  double real() {
    const uint8_t mode = byte();
    if (mode < 220) return std::ldexp(static_cast<double>(1 + byte()), static_cast<int>(range(-30, 20)) - 4);
    static const double kOdd[] = {0.0, -1.0, std::nan(""), INFINITY, -INFINITY, 1e300, 1e-300, 3e38, 1e-45};
    return kOdd[byte() % (sizeof kOdd / sizeof kOdd[0])];
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// |got - ref| <= atol + rtol·|ref| for a float64-accumulated sum rounded once to float32, where
// mag = Σ|terms|: the table's absolute term is for summands of size ~1, so it is scaled by the
// summands' magnitude; denorm_min covers the rounding of results in float32's subnormal range.
inline bool sum_close(double got, double ref, double mag) {
  return std::fabs(got - ref) <=
         tol::kSumAtol * mag + tol::kSumRtol * std::fabs(ref) + std::numeric_limits<float>::denorm_min();
}

// True when a float64 value rounds to a finite float32.
inline bool fits_float(double v) { return std::isfinite(v) && std::fabs(v) < 3.4028235677973366e38; }

inline bool all_finite(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

template <typename T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// The ISA variants this build and CPU can run (scalar always).
inline std::vector<dpfl::Isa> isas() {
  std::vector<dpfl::Isa> out;
  for (dpfl::Isa i : {dpfl::Isa::kScalar, dpfl::Isa::kAvx2, dpfl::Isa::kAvx512})
    if (dpfl::isa_supported(i)) out.push_back(i);
  return out;
}

// Runs fn under every supported ISA and, when threads is set, under 1 and 3 pool threads too;
// fn returns the output bits, which must agree across all runs (dispatch.h, parallel.h promise
// bit-identical results). Returns the first run's output.
template <typename Fn>
auto same_everywhere(const char* what, bool threads, Fn fn) -> decltype(fn()) {
  const std::vector<dpfl::Isa> all = isas();
  const dpfl::Isa before = dpfl::active_isa();
  decltype(fn()) first;
  bool have = false;
  for (int t : threads ? std::vector<int>{1, 3} : std::vector<int>{0}) {
    if (t > 0) dpfl::set_thread_count(t);
    for (dpfl::Isa i : all) {
      dpfl::set_isa(i);
      auto got = fn();
      if (!have) {
        first = std::move(got);
        have = true;
      } else {
        FUZZ_CHECK(same_bits(first, got), "%s differs under isa %s, %d threads", what, dpfl::isa_name(i), t);
      }
    }
  }
  dpfl::set_isa(before);
  if (threads) dpfl::set_thread_count(1);
  return first;
}

}  // namespace fuzz
