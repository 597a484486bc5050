// The benchmark grid of issue 3 and one runner per kernel family. Each case allocates its inputs
// once, times the dpfl kernel and then the scalar baseline on the same data, and frees them.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "dpfl/dispatch.h"
#include "dpfl/parallel.h"
#include "probe.h"
#include "timer.h"

namespace bench {

// The pool's counters over one call (dpfl::pool_stats): regions run in parallel, the longest wait
// for a worker to take a region up, and the share of chunks the calling thread ran itself.
struct PoolSample {
  int64_t regions = 0;
  double join_max_us = 0;
  double caller_share = 0;
};

// Median of each field over several calls.
PoolSample median_pool(const std::vector<dpfl::PoolStats>& calls);

struct Row {
  std::string kernel;  // clip_flat, clip_grouped, noise_philox, noise_secure, weighted_sum, accumulator_add
  std::string shape;   // "BxD", "D" or "KxD" with plain integers, e.g. "256x100000"
  std::string impl;    // "dpfl" (the core, active ISA), "dpfl-<isa>" (--isa-sweep), "scalar" (baselines.h)
  Timing t;
  double bytes = 0;      // bytes the core's design moves per call (see bytes_* in cases.cpp)
  double min_bytes = 0;  // bytes any implementation must move: inputs read once, outputs written
  double items = 0;      // Gaussian samples per call (noise only)
  double checksum = 0;   // folded from the outputs so no call can be optimised away
  double local_probe_gbps = 0;  // the probe sampled just before this shape
  Timing cold;                  // first calls after an idle period (measure_cold); reps 0 when not measured
  PoolSample warm_pool, cold_pool;  // the pool on one warm call, and on the cold calls (median)
};

struct Runner {
  const Options& opt;
  ReadProbe& probe;
  std::vector<Row> rows;
  std::vector<ProbeResult> probes;  // every probe sample of the run, in order
  double local_probe_gbps = 0;

  bool wanted(const std::string& kernel, const std::string& shape) const;
  Budget budget(double bytes, bool baseline) const;
  void progress(const std::string& what) const;
  // Samples the probe (2 passes) before a shape; its rows record the result.
  void sample_probe(const std::string& shape);
  void add(Row row);

  // Times a core kernel call (fn returns a checksum contribution) as impl "dpfl", warm and then
  // cold (measure_cold; prepare runs before each idle wait), and, with --isa-sweep, warm once more
  // under every other ISA the CPU supports as "dpfl-<isa>".
  template <class F>
  void time_kernel(Row row, F&& fn) {
    time_kernel(std::move(row), [] {}, std::forward<F>(fn));
  }
  template <class P, class F>
  void time_kernel(Row row, P&& prepare, F&& fn) {
    const dpfl::Isa active = dpfl::active_isa();
    const dpfl::Isa order[] = {active, dpfl::Isa::kScalar, dpfl::Isa::kAvx2, dpfl::Isa::kAvx512};
    for (int i = 0; i < 4; ++i) {
      const dpfl::Isa isa = order[i];
      const bool sweep = i > 0;
      if (sweep && (isa == active || !opt.isa_sweep || !dpfl::isa_supported(isa))) continue;
      if (sweep) dpfl::set_isa(isa);
      Row v = row;
      v.impl = sweep ? std::string("dpfl-") + dpfl::isa_name(isa) : "dpfl";
      progress(v.kernel + " " + v.shape + " " + v.impl);
      v.t = measure(budget(v.bytes, false), [&] { v.checksum += fn(); });
      if (!sweep && opt.cold_samples > 0) {
        std::vector<dpfl::PoolStats> calls;
        const auto counted = [&] {
          dpfl::reset_pool_stats();
          v.checksum += fn();
          calls.push_back(dpfl::pool_stats());
        };
        counted();  // one more warm call, for the pool's counters
        v.warm_pool = median_pool(calls);
        calls.clear();
        progress(v.kernel + " " + v.shape + " " + v.impl + " cold");
        v.cold = measure_cold(opt.cold_samples, opt.cold_idle_ms, prepare, counted);
        v.cold_pool = median_pool(calls);
      }
      add(v);
      if (sweep) dpfl::set_isa(active);
    }
  }

  // Times a scalar baseline (fn returns a checksum contribution) as impl "scalar".
  template <class F>
  void time_baseline(Row row, F&& fn) {
    if (opt.no_baseline) return;
    row.impl = "scalar";
    progress(row.kernel + " " + row.shape + " scalar");
    row.t = measure(budget(row.bytes, true), [&] { row.checksum += fn(); });
    add(row);
  }
};

void run_clip_cases(Runner& r);
void run_noise_cases(Runner& r);
void run_aggregate_cases(Runner& r);

// Per-layer groups used by clip_grouped: three weight/bias pairs, ends at fixed fractions of dim
// (integer arithmetic, identical in src/bench/grid.ts).
std::vector<int64_t> layer_group_ends(int64_t dim);

}  // namespace bench
