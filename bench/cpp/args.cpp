#include "args.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bench {

static const char* kUsage =
    "usage: dpfl_bench [--json] [--quick] [--no-baseline] [--isa-sweep] [--filter REGEX] [--probe-mib N] [--probe-reps N] [--min-time S]\n"
    "                  [--cold N] [--cold-idle-ms MS]\n"
    "Times every dpfl core kernel over the shape grid of issue 3 beside a read-bandwidth probe and\n"
    "single-threaded scalar baselines. DPFL_THREADS and DPFL_ISA select the core's threads and ISA.\n";

static const char* value_of(int argc, char** argv, int* i) {
  if (*i + 1 >= argc) {
    std::fprintf(stderr, "dpfl_bench: %s needs a value\n%s", argv[*i], kUsage);
    std::exit(2);
  }
  return argv[++*i];
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (!std::strcmp(a, "--json")) {
      o.json = true;
    } else if (!std::strcmp(a, "--quick")) {
      o.quick = true;
    } else if (!std::strcmp(a, "--no-baseline")) {
      o.no_baseline = true;
    } else if (!std::strcmp(a, "--isa-sweep")) {
      o.isa_sweep = true;
    } else if (!std::strcmp(a, "--filter")) {
      o.filter = value_of(argc, argv, &i);
    } else if (!std::strcmp(a, "--probe-mib")) {
      o.probe_mib = std::atoll(value_of(argc, argv, &i));
    } else if (!std::strcmp(a, "--probe-reps")) {
      o.probe_reps = std::atoi(value_of(argc, argv, &i));
    } else if (!std::strcmp(a, "--min-time")) {
      o.min_seconds = std::atof(value_of(argc, argv, &i));
    } else if (!std::strcmp(a, "--cold")) {
      o.cold_samples = std::atoi(value_of(argc, argv, &i));
    } else if (!std::strcmp(a, "--cold-idle-ms")) {
      o.cold_idle_ms = std::atof(value_of(argc, argv, &i));
    } else if (!std::strcmp(a, "--help") || !std::strcmp(a, "-h")) {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "dpfl_bench: unknown option %s\n%s", a, kUsage);
      std::exit(2);
    }
  }
  if (o.probe_mib < 1) o.probe_mib = 1;
  if (o.probe_reps < 1) o.probe_reps = o.quick ? 3 : 5;
  if (o.min_seconds < 0) o.min_seconds = o.quick ? 0.25 : 0.75;
  if (o.cold_samples < 0) o.cold_samples = 3;
  if (o.cold_idle_ms < 0) o.cold_idle_ms = 1000;
  return o;
}

}  // namespace bench
