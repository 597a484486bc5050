// Output of the harness: a human-readable table on stdout, or one JSON object with --json (the
// form src/bench reads).
#pragma once
#include <string>
#include <vector>

#include "cases.h"
#include "probe.h"

namespace bench {

struct Machine {
  std::string isa;
  int threads = 0;
  long long llc_bytes = 0;
};

// probes: every sample of the run (start, one per shape, end); the best of them is the machine's
// read bandwidth that %probe refers to.
void print_table(const Machine& m, const std::vector<ProbeResult>& probes, const std::vector<Row>& rows);
void print_json(const Machine& m, const std::vector<ProbeResult>& probes, const std::vector<Row>& rows);

}  // namespace bench
