// The machine's read bandwidth, measured in the same run as the kernels: a summing read over a
// buffer far larger than the last-level cache, on the core's own thread pool with all of its
// threads, best of several passes. Kernels report their achieved GB/s as a fraction of this.
// The machine is shared and its bandwidth drifts by 2x within minutes, so the harness samples the
// probe before every shape as well as at the start and the end of the run.
#pragma once
#include <cstdint>
#include <string>

#include "data.h"

namespace bench {

struct ProbeResult {
  std::string label;  // when it was sampled: "start", "before <shape>", "end"
  int64_t bytes = 0;
  int threads = 0;
  int reps = 0;
  double best_gbps = 0;    // the bandwidth the machine delivered at best
  double median_gbps = 0;  // how steady it was
  uint64_t checksum = 0;   // printed so the reads cannot be optimised away
};

class ReadProbe {
 public:
  // Allocates and fills the buffer once; it lives as long as the probe.
  explicit ReadProbe(int64_t bytes);
  // One untimed warm-up pass, then reps timed passes.
  ProbeResult run(int reps, std::string label);

 private:
  FloatBuffer buf_;
  int64_t bytes_;
};

// Size of the last-level cache from sysfs (0 when unknown).
int64_t last_level_cache_bytes();

}  // namespace bench
