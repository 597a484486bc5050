#include "data.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace bench {

void FloatBuffer::Free::operator()(float* p) const { std::free(p); }

FloatBuffer::FloatBuffer(int64_t n) : n_(n) {
  const size_t bytes = ((static_cast<size_t>(n) * sizeof(float) + 63) / 64) * 64;
  void* p = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
  if (p == nullptr) throw std::bad_alloc();
  p_.reset(static_cast<float*>(p));
}

void fill_uniform(float* x, int64_t n, uint64_t seed, float lo, float hi) {
  constexpr int64_t kBlock = 1000003;  // prime: no row length of the grid divides it
  const int64_t first = std::min(n, kBlock);
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < first; ++i) {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    const uint64_t r = s * 0x2545F4914F6CDD1Dull;
    x[i] = lo + (hi - lo) * static_cast<float>((r >> 40) * 0x1.0p-24);
  }
  for (int64_t i = first; i < n; i += first) {
    std::memcpy(x + i, x, static_cast<size_t>(std::min(first, n - i)) * sizeof(float));
  }
}

}  // namespace bench
