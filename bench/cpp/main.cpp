// dpfl_bench: the C++ benchmark harness of the dpfl core (issue 3, items 4 and 5). Times every
// kernel over the shape grid, with a read-bandwidth probe at the start and at the end of the run
// and a single-threaded scalar baseline per kernel. `dpfl bench` runs it and merges its --json
// output with the TypeScript-side numbers.
#include <cstdio>
#include <new>

#include "args.h"
#include "cases.h"
#include "dpfl/dispatch.h"
#include "dpfl/parallel.h"
#include "probe.h"
#include "report.h"

namespace {

// The one place that names the instruction-set variant in use (DPFL_ISA lowers it).
std::string isa_in_use() { return dpfl::isa_name(dpfl::active_isa()); }

}  // namespace

int main(int argc, char** argv) {
  const bench::Options opt = bench::parse_args(argc, argv);
  bench::Machine machine{isa_in_use(), dpfl::thread_count(), static_cast<long long>(bench::last_level_cache_bytes())};
  const int probe_reps = opt.probe_reps;
  try {
    std::fprintf(stderr, "dpfl_bench: read-bandwidth probe (%lld MiB, %d threads)\n",
                 static_cast<long long>(opt.probe_mib), machine.threads);
    bench::ReadProbe probe(opt.probe_mib << 20);
    bench::Runner runner{opt, probe, {}, {}, 0};
    runner.probes.push_back(probe.run(probe_reps, "start"));
    bench::run_clip_cases(runner);
    bench::run_noise_cases(runner);
    bench::run_aggregate_cases(runner);
    runner.probes.push_back(probe.run(probe_reps, "end"));
    if (opt.json) {
      bench::print_json(machine, runner.probes, runner.rows);
    } else {
      bench::print_table(machine, runner.probes, runner.rows);
    }
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "dpfl_bench: out of memory (try --quick)\n");
    return 1;
  }
  return 0;
}
