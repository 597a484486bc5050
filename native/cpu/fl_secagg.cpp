// Secure-aggregation arithmetic (Bonawitz et al., CCS 2017): fixed-point quantisation into
// Z_{2^32}, ChaCha20 mask expansion, modular sums. Unsigned arithmetic wraps modulo 2^32 by the
// C++ standard, which is exactly the group the protocol works in.
#include <algorithm>
#include <atomic>
#include <cmath>

#include "dpfl/fl.h"
#include "dpfl/parallel.h"

namespace dpfl {
namespace {

constexpr int64_t kChunk = 1 << 16;  // elements per work item (a multiple of the 16-word block)
// |x·scale| below this rounds to at most 2^31 − 1 in magnitude (half to even never reaches 2^31).
constexpr double kLimit = 2147483647.5;

}  // namespace

Status quantize_fixed(const float* x, int64_t n, double scale, uint32_t* out, int64_t* bad_index) {
  *bad_index = -1;
  if (n <= 0) return Status::Invalid("x must not be empty");
  if (x == nullptr || out == nullptr) return Status::Invalid("x and out must not be null");
  if (!std::isfinite(scale) || !(scale > 0.0)) return Status::Invalid("scale must be a positive finite number");
  // Check everything before writing, so a refused input leaves out untouched.
  std::atomic<int64_t> bad{-1};
  parallel_for(n, kChunk, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const double v = static_cast<double>(x[i]) * scale;
      if (!(std::fabs(v) < kLimit)) {  // false for NaN too
        int64_t cur = bad.load();
        while ((cur < 0 || i < cur) && !bad.compare_exchange_weak(cur, i)) {
        }
        return;
      }
    }
  });
  if (bad.load() >= 0) {
    *bad_index = bad.load();
    return Status::Invalid("x must be finite with |round(x * scale)| < 2^31");
  }
  parallel_for(n, kChunk, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      // nearbyint rounds half to even in the default rounding mode; the cast to int64 is exact.
      const int64_t q = static_cast<int64_t>(std::nearbyint(static_cast<double>(x[i]) * scale));
      out[i] = static_cast<uint32_t>(q);  // two's complement modulo 2^32
    }
  });
  return Status::Ok();
}

Status dequantize_fixed(const uint32_t* q, int64_t n, double scale, float* out) {
  if (n <= 0) return Status::Invalid("q must not be empty");
  if (q == nullptr || out == nullptr) return Status::Invalid("q and out must not be null");
  if (!std::isfinite(scale) || !(scale > 0.0)) return Status::Invalid("scale must be a positive finite number");
  const double inv = 1.0 / scale;
  parallel_for(n, kChunk, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int64_t s = q[i] >= 0x80000000u ? static_cast<int64_t>(q[i]) - (int64_t(1) << 32) : q[i];
      out[i] = static_cast<float>(static_cast<double>(s) * inv);
    }
  });
  return Status::Ok();
}

uint32_t mask_word(const ChaChaKey& key, uint64_t stream, uint64_t i) {
  return chacha_block(key, stream, i / 16).v[i % 16];
}

Status apply_mask(uint32_t* x, int64_t n, const ChaChaKey& key, uint64_t stream, bool subtract) {
  if (n <= 0) return Status::Invalid("x must not be empty");
  if (x == nullptr) return Status::Invalid("x must not be null");
  parallel_for(n, kChunk, [&](int64_t b, int64_t e) {
    // b is a multiple of 16, so each chunk starts on a block boundary.
    for (int64_t i = b; i < e; i += 16) {
      const U32x16 block = chacha_block(key, stream, static_cast<uint64_t>(i) / 16);
      const int64_t m = std::min<int64_t>(16, e - i);
      if (subtract) {
        for (int64_t j = 0; j < m; ++j) x[i + j] -= block.v[j];
      } else {
        for (int64_t j = 0; j < m; ++j) x[i + j] += block.v[j];
      }
    }
  });
  return Status::Ok();
}

Status sum_mod(const uint32_t* const* vectors, int64_t count, int64_t n, uint32_t* out) {
  if (count <= 0) return Status::Invalid("vectors must hold at least one vector");
  if (n <= 0) return Status::Invalid("vectors must not be empty");
  if (vectors == nullptr || out == nullptr) return Status::Invalid("vectors and out must not be null");
  for (int64_t k = 0; k < count; ++k)
    if (vectors[k] == nullptr) return Status::Invalid("vectors must not hold null pointers");
  parallel_for(n, kChunk, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = vectors[0][i];
    for (int64_t k = 1; k < count; ++k) {
      const uint32_t* v = vectors[k];
      for (int64_t i = b; i < e; ++i) out[i] += v[i];
    }
  });
  return Status::Ok();
}

}  // namespace dpfl
