// Command-line options of the C++ harness.
#pragma once
#include <cstdint>
#include <string>

namespace bench {

struct Options {
  bool json = false;       // one JSON object on stdout instead of the table
  bool quick = false;      // drop the largest shapes, shorter time budget per case
  bool no_baseline = false;  // skip the scalar baselines (they dominate the run time)
  bool isa_sweep = false;    // also time every kernel under each other ISA the CPU supports
  std::string filter;      // run only cases whose "kernel shape" id matches this regular expression
  int64_t probe_mib = 2048;  // probe buffer: must be far larger than the last-level cache
  int probe_reps = -1;       // timed passes of the start and end probes; <0: 3 with --quick, else 5
  double min_seconds = -1;   // per-case time budget; <0 picks the default for quick/full
  // Cold calls (timer.h, measure_cold): samples per kernel case (0: none) and the idle time before
  // each. <0: 3 samples; 1000 ms idle.
  int cold_samples = -1;
  double cold_idle_ms = -1;
};

// Parses argv; prints usage and exits on --help or a bad option.
Options parse_args(int argc, char** argv);

}  // namespace bench
