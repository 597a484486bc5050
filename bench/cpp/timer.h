// Timing loop of the harness: one untimed warm-up call, then timed calls until both a minimum
// count and a minimum total time are reached. Reports the median (robust on a noisy shared
// machine) and the minimum.
#pragma once
#include <algorithm>
#include <chrono>
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

}  // namespace bench
