// Validates every CUDA kernel against the CPU core on random data, then times each one over the
// CPU benchmark's shapes against a device-to-device copy measured in the same run.
//   dpfl_cuda_validate [--quick] [--json FILE]
// Exit codes: 0 all checks passed, 1 a check failed, 77 no usable CUDA device (skipped).
// Sums: |gpu - cpu| <= 1e-6 * sum_b |terms| + 3e-7 |cpu| (both accumulate in float64 and round once;
// the orders differ). Noise: bit equality. Outputs are poisoned with NaN before each call, so an
// element the kernel failed to write is caught.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "dpfl/cuda_backend.h"
#include "dpfl/kernels.h"

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "FAILED: %s\n", what.c_str());
  }
}

void must(int rc, const char* what) {
  if (rc != DPFL_CUDA_OK) {
    std::fprintf(stderr, "FAILED: %s: %s\n", what, dpfl_cuda_last_error());
    std::exit(1);
  }
}

struct Dev {
  void* p = nullptr;
  size_t bytes = 0;
  explicit Dev(size_t n) : bytes(n) { must(dpfl_cuda_malloc(&p, n), "malloc"); }
  ~Dev() { dpfl_cuda_free(p); }
  float* f() const { return static_cast<float*>(p); }
  void put(const void* src) { must(dpfl_cuda_upload(p, src, bytes), "upload"); }
  void get(void* dst) const { must(dpfl_cuda_download(dst, p, bytes), "download"); }
  void poison() {
    std::vector<float> nan(bytes / sizeof(float), std::numeric_limits<float>::quiet_NaN());
    put(nan.data());
  }
};

std::vector<float> randn(size_t n, uint32_t seed, float scale) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(gen);
  return v;
}

using Clock = std::chrono::steady_clock;
template <typename F>
double median_ms(F f, int reps) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void validate_clip(int64_t batch, int64_t dim, std::vector<int64_t> ends, std::vector<double> c, uint32_t seed) {
  std::vector<float> g = randn(batch * dim, seed, 0.05f);
  if (batch > 3) g[2 * dim + dim / 2] = std::numeric_limits<float>::quiet_NaN();  // the NaN policy
  const int64_t groups = static_cast<int64_t>(ends.size());
  std::vector<float> sum(dim), norms(batch), gnorms(batch * groups);
  dpfl::ClipStats cs;
  expect(dpfl::clip_and_sum(g.data(), batch, dim, {ends.data(), groups}, c.data(), sum.data(), norms.data(),
                            gnorms.data(), &cs)
             .ok(),
         "cpu clip_and_sum");
  Dev dg(g.size() * 4), ds(dim * 4), dn(batch * 4), dgn(batch * groups * 4);
  dg.put(g.data());
  ds.poison();
  dn.poison();
  dgn.poison();
  dpfl_cuda_clip_stats st;
  must(dpfl_cuda_clip_and_sum(dg.f(), batch, dim, ends.data(), groups, c.data(), ds.f(), dn.f(), dgn.f(), &st), "clip");
  std::vector<float> s2(dim), n2(batch), gn2(batch * groups);
  ds.get(s2.data());
  dn.get(n2.data());
  dgn.get(gn2.data());
  // Bound each column by the sum of the magnitudes of its terms (at most batch * max C).
  double cmax = *std::max_element(c.begin(), c.end());
  bool ok = true;
  for (int64_t d = 0; d < dim; ++d)
    ok = ok && std::fabs(s2[d] - sum[d]) <= 1e-6 * batch * cmax + 3e-7 * std::fabs(sum[d]);
  expect(ok, "clip sum " + std::to_string(batch) + "x" + std::to_string(dim));
  ok = true;
  for (int64_t b = 0; b < batch; ++b)
    ok = ok && (std::isnan(norms[b]) ? std::isnan(n2[b]) : std::fabs(n2[b] - norms[b]) <= 3e-7 * norms[b]);
  expect(ok, "clip norms");
  expect(st.clipped == cs.clipped && st.non_finite == cs.non_finite, "clip stats");
}

void validate_noise(int64_t n, uint64_t offset) {
  std::vector<float> x = randn(n, 3, 1.0f);
  dpfl::NoiseKey philox;
  philox.seed = 0x0123456789abcdefull;
  philox.stream = 7;
  dpfl::NoiseKey secure;
  expect(dpfl::make_secure_key(&secure).ok(), "secure key");
  secure.stream = 9;
  for (const dpfl::NoiseKey* k : {&philox, &secure}) {
    std::vector<float> cpu = x, gpu(n);
    expect(dpfl::add_gaussian_noise(cpu.data(), n, 1.5, *k, offset).ok(), "cpu noise");
    Dev d(n * 4);
    d.put(x.data());
    must(dpfl_cuda_add_gaussian_noise(d.f(), n, 1.5, k->seed, k->secure ? k->chacha.k : nullptr, k->stream, offset),
         "noise");
    d.get(gpu.data());
    expect(std::memcmp(cpu.data(), gpu.data(), n * 4) == 0, std::string(k->secure ? "secure" : "philox") +
                                                                " noise bit-identical, n=" + std::to_string(n) +
                                                                " offset=" + std::to_string(offset));
  }
}

void validate_sum(int64_t count, int64_t dim) {
  std::vector<std::vector<float>> u;
  std::vector<const float*> hp;
  std::vector<double> w;
  for (int64_t k = 0; k < count; ++k) {
    u.push_back(randn(dim, 100 + k, 1.0f));
    w.push_back(1.0 + k % 7);
  }
  for (auto& v : u) hp.push_back(v.data());
  std::vector<float> cpu(dim), gpu(dim);
  int64_t bad;
  expect(dpfl::weighted_sum(hp.data(), count, dim, w.data(), true, cpu.data(), &bad).ok(), "cpu weighted_sum");
  std::vector<Dev*> dev;
  std::vector<const float*> dp;
  for (auto& v : u) {
    dev.push_back(new Dev(dim * 4));
    dev.back()->put(v.data());
    dp.push_back(dev.back()->f());
  }
  Dev out(dim * 4);
  out.poison();
  must(dpfl_cuda_weighted_sum(dp.data(), count, dim, w.data(), 1, out.f(), &bad), "weighted_sum");
  out.get(gpu.data());
  bool ok = true;
  for (int64_t d = 0; d < dim; ++d) ok = ok && std::fabs(gpu[d] - cpu[d]) <= 1e-6 + 3e-7 * std::fabs(cpu[d]);
  expect(ok, "weighted sum " + std::to_string(count) + "x" + std::to_string(dim));
  std::vector<float> poisoned = u[1 % count];
  poisoned[dim - 1] = std::numeric_limits<float>::infinity();
  dev[1 % count]->put(poisoned.data());
  expect(dpfl_cuda_weighted_sum(dp.data(), count, dim, w.data(), 1, out.f(), &bad) == DPFL_CUDA_NON_FINITE &&
             bad == 1 % count,
         "weighted sum names the non-finite update");
  for (Dev* d : dev) delete d;
}

struct Row {
  std::string kernel, shape;
  double ms, bytes, gbs, pct;
};

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  const char* json = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) json = argv[++i];
  }
  char name[256] = {0};
  if (dpfl_cuda_init(name, sizeof name) != DPFL_CUDA_OK) {
    std::printf("SKIPPED: no usable CUDA device (%s)\n", dpfl_cuda_last_error());
    return 77;
  }
  std::printf("device: %s\n", name);

  validate_clip(1, 1, {1}, {1.0}, 1);
  validate_clip(19, 989, {989}, {0.5}, 2);
  validate_clip(7, 70001, {3, 65536, 65537, 70001}, {0.1, 1.0, 0.01, 0.3}, 3);
  validate_clip(64, 100003, {100003}, {0.2}, 4);
  for (int64_t n : {1, 3, 4, 5, 1001, 1 << 20}) {
    for (uint64_t off : {0ull, 1ull, 3ull, (1ull << 33) + 5}) validate_noise(n, off);
  }
  validate_sum(1, 1);
  validate_sum(10, 12345);
  validate_sum(100, 1000);
  {
    std::vector<float> x = randn(50001, 8, 1.0f), cpu = x, gpu(x.size());
    double n1, s1, n2, s2;
    expect(dpfl::clip_by_norm(cpu.data(), 50001, 10.0, &n1, &s1).ok(), "cpu clip_by_norm");
    Dev d(x.size() * 4);
    d.put(x.data());
    must(dpfl_cuda_clip_by_norm(d.f(), 50001, 10.0, &n2, &s2), "clip_by_norm");
    d.get(gpu.data());
    expect(std::fabs(n1 - n2) <= 3e-7 * n1 && std::fabs(s1 - s2) <= 1e-6 * s1, "clip_by_norm norm and scale");
  }
  std::printf("validation: %s (%d failures)\n", failures == 0 ? "passed" : "FAILED", failures);
  if (failures != 0) return 1;

  // Timing. Reference: a device-to-device copy (reads and writes each byte once).
  std::vector<Row> rows;
  const int reps = quick ? 3 : 10;
  const size_t probe_bytes = size_t(1) << 30;
  Dev a(probe_bytes), b(probe_bytes);
  const double copy_ms = median_ms([&] { must(dpfl_cuda_copy(b.p, a.p, probe_bytes), "copy"); }, reps);
  const double copy_gbs = 2.0 * probe_bytes / copy_ms / 1e6;
  auto add = [&](const std::string& k, const std::string& s, double ms, double bytes) {
    rows.push_back({k, s, ms, bytes, bytes / ms / 1e6, 100.0 * bytes / ms / 1e6 / copy_gbs});
  };
  const std::vector<std::pair<int64_t, int64_t>> clip_shapes =
      quick ? std::vector<std::pair<int64_t, int64_t>>{{32, 1000}, {256, 100000}}
            : std::vector<std::pair<int64_t, int64_t>>{{32, 1000}, {256, 100000}, {256, 1000000}, {1024, 1000000}};
  for (auto [batch, dim] : clip_shapes) {
    Dev g(batch * dim * 4), s(dim * 4), n(batch * 4);
    std::vector<float> h = randn(batch * dim, 5, 0.01f);
    g.put(h.data());
    const int64_t ends[1] = {dim};
    const double c[1] = {1.0};
    dpfl_cuda_clip_stats st;
    const double ms = median_ms(
        [&] { must(dpfl_cuda_clip_and_sum(g.f(), batch, dim, ends, 1, c, s.f(), n.f(), nullptr, &st), "clip"); }, reps);
    add("clip_and_sum", std::to_string(batch) + "x" + std::to_string(dim), ms, 2.0 * batch * dim * 4);
    if (batch == 1024) {  // a whole DP step on device data: clip + sum + noise, vs one read of G
      const double step = median_ms(
          [&] {
            must(dpfl_cuda_clip_and_sum(g.f(), batch, dim, ends, 1, c, s.f(), n.f(), nullptr, &st), "clip");
            must(dpfl_cuda_add_gaussian_noise(s.f(), dim, 1.1, 42, nullptr, 0, 0), "noise");
          },
          reps);
      const double read_ms = batch * dim * 4.0 / (copy_gbs / 2) / 1e6;
      std::printf("DP step 1024x1e6 on device: %.3f ms = %.2f x one read of G (target < 3)\n", step, step / read_ms);
    }
  }
  for (int64_t n : quick ? std::vector<int64_t>{100000, 1000000} : std::vector<int64_t>{100000, 1000000, 10000000}) {
    Dev x(n * 4);
    std::vector<float> zero(n, 0.0f);
    x.put(zero.data());
    const uint32_t key[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    add("noise philox", std::to_string(n),
        median_ms([&] { must(dpfl_cuda_add_gaussian_noise(x.f(), n, 1.0, 1, nullptr, 0, 0), "noise"); }, reps),
        4.0 * n);
    add("noise secure", std::to_string(n),
        median_ms([&] { must(dpfl_cuda_add_gaussian_noise(x.f(), n, 1.0, 0, key, 0, 0), "noise"); }, reps), 4.0 * n);
  }
  const std::vector<std::pair<int64_t, int64_t>> agg_shapes =
      quick ? std::vector<std::pair<int64_t, int64_t>>{{10, 1000000}}
            : std::vector<std::pair<int64_t, int64_t>>{{10, 1000000}, {100, 1000000}, {1000, 100000}};
  for (auto [count, dim] : agg_shapes) {
    Dev all(count * dim * 4), out(dim * 4);
    std::vector<float> h = randn(count * dim, 6, 1.0f);
    all.put(h.data());
    std::vector<const float*> ptrs;
    for (int64_t k = 0; k < count; ++k) ptrs.push_back(all.f() + k * dim);
    std::vector<double> w(count, 1.0);
    int64_t bad;
    add("weighted_sum", std::to_string(count) + "x" + std::to_string(dim),
        median_ms([&] { must(dpfl_cuda_weighted_sum(ptrs.data(), count, dim, w.data(), 1, out.f(), &bad), "sum"); },
                  reps),
        4.0 * count * dim);
  }

  std::printf("\n%-14s %-14s %10s %10s %8s\n", "kernel", "shape", "median ms", "GB/s", "% copy");
  for (const Row& r : rows)
    std::printf("%-14s %-14s %10.3f %10.1f %7.1f%%\n", r.kernel.c_str(), r.shape.c_str(), r.ms, r.gbs, r.pct);
  std::printf("device-to-device copy: %.1f GB/s (read + write)\n", copy_gbs);
  if (json != nullptr) {
    FILE* f = std::fopen(json, "w");
    if (f == nullptr) return 1;
    std::fprintf(f, "{\"device\":\"%s\",\"copyGBs\":%.3f,\"rows\":[", name, copy_gbs);
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::fprintf(
          f, "%s{\"kernel\":\"%s\",\"shape\":\"%s\",\"medianMs\":%.6f,\"bytes\":%.0f,\"GBs\":%.3f,\"pctOfCopy\":%.2f}",
          i ? "," : "", r.kernel.c_str(), r.shape.c_str(), r.ms, r.bytes, r.gbs, r.pct);
    }
    std::fprintf(f, "]}\n");
    std::fclose(f);
  }
  return 0;
}
