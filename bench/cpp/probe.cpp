#include "probe.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "data.h"
#include "dpfl/parallel.h"
#include "timer.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

namespace bench {
namespace {

constexpr int64_t kChunkBytes = 4 << 20;  // work item of the pool: large, so scheduling is free

// Sums n bytes (a multiple of 64) as 64-bit integers with four independent accumulators, so the
// loop is bound by loads, not by an add chain, and prefetches 4 KiB ahead (measured on this
// machine: +30% over relying on the hardware prefetcher alone, and the kernels prefetch too).
// SSE2 is the x86-64 baseline, and two 16-byte loads per cycle are far above what DRAM delivers,
// so the probe needs no wider ISA.
uint64_t sum_bytes(const unsigned char* p, int64_t n) {
#if defined(__SSE2__)
  __m128i a = _mm_setzero_si128(), b = a, c = a, d = a;
  for (int64_t i = 0; i < n; i += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(p + i + 4096), _MM_HINT_T0);
    a = _mm_add_epi64(a, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i)));
    b = _mm_add_epi64(b, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 16)));
    c = _mm_add_epi64(c, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 32)));
    d = _mm_add_epi64(d, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 48)));
  }
  alignas(16) uint64_t lanes[2];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes), _mm_add_epi64(_mm_add_epi64(a, b), _mm_add_epi64(c, d)));
  return lanes[0] + lanes[1];
#else
  const uint64_t* q = reinterpret_cast<const uint64_t*>(p);
  uint64_t s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i = 0; i < n / 8; i += 8) {
    for (int j = 0; j < 8; ++j) s[j] += q[i + j];
  }
  uint64_t t = 0;
  for (uint64_t v : s) t += v;
  return t;
#endif
}

int64_t round_to_chunks(int64_t bytes) { return std::max<int64_t>(kChunkBytes, bytes / kChunkBytes * kChunkBytes); }

}  // namespace

ReadProbe::ReadProbe(int64_t bytes) : buf_(round_to_chunks(bytes) / 4), bytes_(round_to_chunks(bytes)) {
  fill_uniform(buf_.data(), buf_.size(), 7, -1.0f, 1.0f);
}

ProbeResult ReadProbe::run(int reps, std::string label) {
  const auto* base = reinterpret_cast<const unsigned char*>(buf_.data());
  const int64_t chunks = bytes_ / kChunkBytes;
  std::vector<uint64_t> partial(static_cast<size_t>(chunks));
  ProbeResult r;
  r.label = std::move(label);
  r.bytes = bytes_;
  r.threads = dpfl::thread_count();
  r.reps = reps;
  std::vector<double> gbps;
  for (int rep = 0; rep < reps + 1; ++rep) {  // rep 0 warms the pool, the TLB and the prefetchers
    const auto t0 = std::chrono::steady_clock::now();
    dpfl::parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) partial[c] = sum_bytes(base + c * kChunkBytes, kChunkBytes);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (uint64_t v : partial) r.checksum += v;
    if (rep > 0) gbps.push_back(static_cast<double>(bytes_) / s / 1e9);
  }
  r.best_gbps = *std::max_element(gbps.begin(), gbps.end());
  r.median_gbps = median_of(gbps);
  return r;
}

int64_t last_level_cache_bytes() {
  int64_t best = 0;
  for (int i = 0; i < 8; ++i) {
    std::ifstream f("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/size");
    std::string s;
    if (!(f >> s) || s.empty()) continue;
    int64_t v = std::stoll(s);
    const char unit = s.back();
    if (unit == 'K') v <<= 10;
    if (unit == 'M') v <<= 20;
    best = std::max(best, v);
  }
  return best;
}

}  // namespace bench
