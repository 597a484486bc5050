#include <atomic>

#include "dpfl/kernels.h"
#include "dpfl/parallel.h"
#include "isa.h"

namespace dpfl {

bool all_finite(const float* x, int64_t n) {
  constexpr int64_t kChunk = 1 << 16;
  if (n <= kChunk) return isa().all_finite(x, n);
  std::atomic<bool> ok{true};
  parallel_for(n, kChunk, [&](int64_t begin, int64_t end) {
    if (!isa().all_finite(x + begin, end - begin)) ok.store(false, std::memory_order_relaxed);
  });
  return ok.load();
}

}  // namespace dpfl
