// Timing loop of the harness: one untimed warm-up call, then timed calls until both a minimum
// count and a minimum total time are reached. Reports the median (robust on a noisy shared
// machine) and the minimum.
#pragma once
#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace bench {

struct Budget {
  double min_seconds;
  int min_reps;
  int max_reps;
};

struct Timing {
  double median_ms = 0;
  double min_ms = 0;
  int reps = 0;
  double idle_ms = 0;  // cold calls only: the idle wait before each
};

inline double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

template <class F>
Timing measure(const Budget& budget, F&& fn) {
  using clock = std::chrono::steady_clock;
  fn();  // warm-up: page faults, pool start, caches
  std::vector<double> ms;
  double total = 0;
  while ((static_cast<int>(ms.size()) < budget.min_reps || total < budget.min_seconds) &&
         static_cast<int>(ms.size()) < budget.max_reps) {
    const auto t0 = clock::now();
    fn();
    const double dt = std::chrono::duration<double>(clock::now() - t0).count();
    ms.push_back(dt * 1e3);
    total += dt;
  }
  Timing t;
  t.median_ms = median_of(ms);
  t.min_ms = *std::min_element(ms.begin(), ms.end());
  t.reps = static_cast<int>(ms.size());
  return t;
}

// A cold call: the first call after the process sat idle for idle_ms (the pool's workers parked,
// the cores possibly in a sleep state, caches and TLBs open to other tenants). Inputs stay resident
// (the warm calls just used them) and outputs are the warm calls' buffers, as an API user keeps
// them; prepare() runs before the idle wait, untimed (e.g. a fresh aggregator for a new round).
// Median of `samples` such calls; the caller times its warm calls with measure() first.
template <class P, class F>
Timing measure_cold(int samples, double idle_ms, P&& prepare, F&& fn) {
  using clock = std::chrono::steady_clock;
  std::vector<double> ms;
  for (int i = 0; i < samples; ++i) {
    prepare();
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(idle_ms));
    const auto t0 = clock::now();
    fn();
    ms.push_back(std::chrono::duration<double>(clock::now() - t0).count() * 1e3);
  }
  Timing t;
  if (ms.empty()) return t;
  t.median_ms = median_of(ms);
  t.min_ms = *std::min_element(ms.begin(), ms.end());
  t.reps = static_cast<int>(ms.size());
  t.idle_ms = idle_ms;
  return t;
}

}  // namespace bench
