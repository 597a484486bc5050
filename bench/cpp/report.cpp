#include "report.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace bench {
namespace {

double best_probe(const std::vector<ProbeResult>& probes) {
  double best = 0;
  for (const ProbeResult& p : probes) best = std::max(best, p.best_gbps);
  return best;
}

const Row* find(const std::vector<Row>& rows, const Row& like, const char* impl) {
  for (const Row& r : rows) {
    if (r.kernel == like.kernel && r.shape == like.shape && r.impl == impl) return &r;
  }
  return nullptr;
}

void probe_json(const ProbeResult& p, bool comma) {
  std::printf(
      "{\"label\":\"%s\",\"bytes\":%lld,\"threads\":%d,\"reps\":%d,\"bestGBps\":%.4f,\"medianGBps\":%.4f,\"checksum\":\"%llu\"}%s",
      p.label.c_str(), static_cast<long long>(p.bytes), p.threads, p.reps, p.best_gbps, p.median_gbps,
      static_cast<unsigned long long>(p.checksum), comma ? "," : "");
}

}  // namespace

void print_table(const Machine& m, const std::vector<ProbeResult>& probes, const std::vector<Row>& rows) {
  const double probe = best_probe(probes);
  std::printf(
      "dpfl_bench  isa=%s threads=%d llc=%lld MiB  read probe best %.1f GB/s (start %.1f, end %.1f; %zu samples of %lld MiB)\n",
      m.isa.c_str(), m.threads, m.llc_bytes >> 20, probe, probes.front().best_gbps, probes.back().best_gbps,
      probes.size(), static_cast<long long>(probes.front().bytes >> 20));
  std::printf(
      "GB/s counts the bytes of the core's passes (see bench/cpp/cases.cpp); local = probe sampled before the shape\n\n");
  std::printf("%-26s %-13s %11s %8s %7s %7s %11s %11s %9s %10s %9s\n", "kernel", "shape", "median ms", "GB/s", "%probe",
              "local", "samples/s", "scalar ms", "x scalar", "cold ms", "cold/warm");
  for (const Row& r : rows) {
    if (r.impl.rfind("dpfl", 0) != 0) continue;  // core rows; their scalar baseline is a column
    const std::string name = r.impl == "dpfl" ? r.kernel : r.kernel + " [isa=" + r.impl.substr(5) + "]";
    const double gbps = r.bytes / (r.t.median_ms * 1e-3) / 1e9;
    char samples[32] = "";
    if (r.items > 0) std::snprintf(samples, sizeof samples, "%.3g", r.items / (r.t.median_ms * 1e-3));
    const Row* s = find(rows, r, "scalar");
    char scalar_ms[32] = "", ratio[32] = "";
    if (s != nullptr) {
      std::snprintf(scalar_ms, sizeof scalar_ms, "%.4g", s->t.median_ms);
      std::snprintf(ratio, sizeof ratio, "%.1f", s->t.median_ms / r.t.median_ms);
    }
    char cold_ms[32] = "", cold_ratio[32] = "";
    if (r.cold.reps > 0) {
      std::snprintf(cold_ms, sizeof cold_ms, "%.4g", r.cold.median_ms);
      std::snprintf(cold_ratio, sizeof cold_ratio, "%.2f", r.cold.median_ms / r.t.median_ms);
    }
    std::printf("%-26s %-13s %11.4g %8.2f %6.0f%% %7.1f %11s %11s %9s %10s %9s\n", name.c_str(), r.shape.c_str(),
                r.t.median_ms, gbps, 100.0 * gbps / probe, r.local_probe_gbps, samples, scalar_ms, ratio, cold_ms,
                cold_ratio);
  }
  double checksum = 0;
  for (const Row& r : rows) checksum += r.checksum;
  std::printf("\nchecksum %.6g (outputs folded in, so no timed call is dead code)\n", checksum);
}

void print_json(const Machine& m, const std::vector<ProbeResult>& probes, const std::vector<Row>& rows) {
  std::printf("{\"harness\":\"dpfl_bench\",\"schema\":1,");
  std::printf("\"machine\":{\"isa\":\"%s\",\"threads\":%d,\"llcBytes\":%lld},", m.isa.c_str(), m.threads, m.llc_bytes);
  std::printf("\"probe\":{\"bestGBps\":%.4f,\"samples\":[", best_probe(probes));
  for (size_t i = 0; i < probes.size(); ++i) probe_json(probes[i], i + 1 < probes.size());
  std::printf("]},\"results\":[");
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::printf(
        "%s{\"kernel\":\"%s\",\"shape\":\"%s\",\"impl\":\"%s\",\"medianMs\":%.6g,\"minMs\":%.6g,\"reps\":%d,"
        "\"bytes\":%.17g,\"minBytes\":%.17g,\"items\":%.17g,\"localProbeGBps\":%.4f,\"checksum\":%.9g",
        i ? "," : "", r.kernel.c_str(), r.shape.c_str(), r.impl.c_str(), r.t.median_ms, r.t.min_ms, r.t.reps, r.bytes,
        r.min_bytes, r.items, r.local_probe_gbps, r.checksum);
    if (r.cold.reps > 0) {
      std::printf(",\"cold\":{\"medianMs\":%.6g,\"minMs\":%.6g,\"reps\":%d,\"idleMs\":%.6g}", r.cold.median_ms,
                  r.cold.min_ms, r.cold.reps, r.cold.idle_ms);
      for (const auto& [name, p] : {std::make_pair("warmPool", r.warm_pool), std::make_pair("coldPool", r.cold_pool)}) {
        std::printf(",\"%s\":{\"regions\":%lld,\"workerJoinMaxUs\":%.4g,\"callerShare\":%.4g}", name,
                    static_cast<long long>(p.regions), p.join_max_us, p.caller_share);
      }
    }
    std::printf("}");
  }
  std::printf("]}\n");
}

}  // namespace bench
