#include "cases.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <regex>
#include <utility>

#include "baselines.h"
#include "data.h"
#include "dpfl/kernels.h"

namespace bench {

// ---- Runner -----------------------------------------------------------------------------------

// --filter is an ECMAScript regular expression searched in "kernel shape" (the same rule as the
// TypeScript side), e.g. "clip", "^noise_philox 1000$", "x1000000$".
bool Runner::wanted(const std::string& kernel, const std::string& shape) const {
  return opt.filter.empty() || std::regex_search(kernel + " " + shape, std::regex(opt.filter));
}

// At least 5 timed calls (3 for the slow baselines and for calls that move more than 2 GB), and
// the per-case time budget.
Budget Runner::budget(double bytes, bool baseline) const {
  return Budget{opt.min_seconds, baseline || bytes > 2e9 ? 3 : 5, 10000};
}

PoolSample median_pool(const std::vector<dpfl::PoolStats>& calls) {
  std::vector<double> regions, join, share;
  for (const dpfl::PoolStats& c : calls) {
    regions.push_back(static_cast<double>(c.regions));
    join.push_back(c.worker_join_max_us);
    share.push_back(c.chunks > 0 ? static_cast<double>(c.caller_chunks) / c.chunks : 0.0);
  }
  PoolSample p;
  p.regions = static_cast<int64_t>(median_of(regions));
  p.join_max_us = median_of(join);
  p.caller_share = median_of(share);
  return p;
}

void Runner::progress(const std::string& what) const { std::fprintf(stderr, "dpfl_bench: %s\n", what.c_str()); }

void Runner::sample_probe(const std::string& shape) {
  probes.push_back(probe.run(2, "before " + shape));
  local_probe_gbps = probes.back().best_gbps;
}

void Runner::add(Row row) {
  row.local_probe_gbps = local_probe_gbps;
  rows.push_back(std::move(row));
}

static std::string shape2(int64_t a, int64_t b) { return std::to_string(a) + "x" + std::to_string(b); }

static void fail_if(const dpfl::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "dpfl_bench: kernel failed: %s\n", s.message);
    std::exit(1);
  }
}

std::vector<int64_t> layer_group_ends(int64_t dim) {
  const int64_t per_mille[6] = {600, 601, 950, 951, 999, 1000};
  std::vector<int64_t> ends;
  for (int64_t f : per_mille) ends.push_back(dim * f / 1000);
  return ends;
}

// ---- Clipping ---------------------------------------------------------------------------------
// Byte model (kernels.h): pass one reads G for the norms, pass two reads G again for the clipped
// sum: 2·B·D·4 read, D·4 (sum) + B·4 (norms) + B·G·4 (group norms) written. Minimum: G once.

void run_clip_cases(Runner& r) {
  std::vector<std::pair<int64_t, int64_t>> grid = {{32, 1000}, {256, 100000}, {256, 1000000}};
  if (!r.opt.quick) grid.push_back({1024, 1000000});
  for (auto [batch, dim] : grid) {
    const std::string shape = shape2(batch, dim);
    const bool flat = r.wanted("clip_flat", shape), grouped = r.wanted("clip_grouped", shape);
    if (!flat && !grouped) continue;
    r.progress("clip " + shape + ": filling " + std::to_string(batch * dim * 4 / 1000000) + " MB");
    FloatBuffer g(batch * dim), sum(dim), norms(batch);
    FloatBuffer group_norms(batch * 6);
    std::vector<double> acc(static_cast<size_t>(dim));
    fill_uniform(g.data(), g.size(), 1, -1.0f, 1.0f);
    // Norms are about sqrt(D/3): C at that value clips roughly half the rows (both paths run).
    const double c = std::sqrt(dim / 3.0);
    r.sample_probe(shape);

    for (const bool is_grouped : {false, true}) {
      const std::string kernel = is_grouped ? "clip_grouped" : "clip_flat";
      if (!(is_grouped ? grouped : flat)) continue;
      const std::vector<int64_t> ends = is_grouped ? layer_group_ends(dim) : std::vector<int64_t>{dim};
      const int64_t ng = static_cast<int64_t>(ends.size());
      std::vector<double> max_norms(ends.size());
      for (int64_t k = 0, c0 = 0; k < ng; c0 = ends[k], ++k) max_norms[k] = c * std::sqrt((ends[k] - c0) / double(dim));
      const dpfl::Groups groups{ends.data(), ng};
      const double bytes = 2.0 * batch * dim * 4 + dim * 4.0 + batch * 4.0 + (is_grouped ? batch * ng * 4.0 : 0);
      const double min_bytes = 1.0 * batch * dim * 4 + dim * 4.0 + batch * 4.0 + (is_grouped ? batch * ng * 4.0 : 0);

      const Row row{kernel, shape, "", {}, bytes, min_bytes, 0, 0, 0, {}, {}, {}};
      r.time_kernel(row, [&] {
        dpfl::ClipStats st;
        fail_if(dpfl::clip_and_sum(g.data(), batch, dim, groups, max_norms.data(), sum.data(), norms.data(),
                                   is_grouped ? group_norms.data() : nullptr, &st));
        return sum.data()[dim / 2] + st.clipped;
      });
      r.time_baseline(row, [&] {
        scalar_clip_and_sum(g.data(), batch, dim, ends.data(), ng, max_norms.data(), acc.data(), sum.data(),
                            norms.data());
        return sum.data()[dim / 2];
      });
    }
  }
}

// ---- Noise ------------------------------------------------------------------------------------
// Byte model (noise.cpp): a finite check reads x, then the noise pass reads and writes it:
// 3·D·4 bytes. Minimum: 2·D·4 (x read and written once). Noise is compute-bound on 2 cores, so
// samples/s is the figure that matters.

void run_noise_cases(Runner& r) {
  for (int64_t n : {int64_t{1000}, int64_t{100000}, int64_t{1000000}, int64_t{10000000}}) {
    const std::string shape = std::to_string(n);
    const bool philox = r.wanted("noise_philox", shape), secure = r.wanted("noise_secure", shape);
    if (!philox && !secure) continue;
    FloatBuffer x(n);
    fill_uniform(x.data(), n, 2, -1.0f, 1.0f);
    const double bytes = 3.0 * n * 4, min_bytes = 2.0 * n * 4;
    // Re-adding noise to the same buffer is fine: std 1e-3 keeps x far from overflow.
    const double stddev = 1e-3;
    uint64_t offset = 0;
    r.sample_probe(shape);

    for (const bool is_secure : {false, true}) {
      const std::string kernel = is_secure ? "noise_secure" : "noise_philox";
      if (!(is_secure ? secure : philox)) continue;
      const Row row{kernel, shape, "", {}, bytes, min_bytes, double(n), 0, 0, {}, {}, {}};
      r.time_kernel(row, [&] {
        dpfl::NoiseKey key;
        if (is_secure) {
          fail_if(dpfl::make_secure_key(&key));  // part of every secure call (a fresh key each time)
        } else {
          key.seed = 42;
        }
        fail_if(dpfl::add_gaussian_noise(x.data(), n, stddev, key, offset));
        offset += static_cast<uint64_t>(n);
        return x.data()[n / 2];
      });
      uint64_t stream = 0;
      r.time_baseline(row, [&] {
        if (is_secure) {
          dpfl::NoiseKey key;
          fail_if(dpfl::make_secure_key(&key));
          scalar_noise_secure(x.data(), n, stddev, key.chacha, 0);
        } else {
          scalar_noise_philox(x.data(), n, stddev, 42, ++stream);
        }
        return x.data()[n / 2];
      });
    }
  }
}

// ---- Aggregation ------------------------------------------------------------------------------
// weighted_sum (aggregate.cpp): column tiles, each update read once: K·D·4 read, D·4 written.
// Accumulator::add, K calls: a finite check reads the update, then acc += w·u reads it again and
// reads and writes the float64 state: K·(2·D·4 + 2·D·8). Minimum: K·(D·4 + 2·D·8).

void run_aggregate_cases(Runner& r) {
  const std::vector<std::pair<int64_t, int64_t>> grid = {{10, 1000}, {10, 1000000}, {100, 1000000}, {1000, 100000}};
  for (auto [count, dim] : grid) {
    const std::string shape = shape2(count, dim);
    const bool ws = r.wanted("weighted_sum", shape), acc_add = r.wanted("accumulator_add", shape);
    if (!ws && !acc_add) continue;
    r.progress("aggregate " + shape + ": filling " + std::to_string(count * dim * 4 / 1000000) + " MB");
    FloatBuffer u(count * dim), out(dim);
    fill_uniform(u.data(), u.size(), 3, -1.0f, 1.0f);
    std::vector<const float*> rows(static_cast<size_t>(count));
    std::vector<double> weights(static_cast<size_t>(count)), acc(static_cast<size_t>(dim));
    for (int64_t k = 0; k < count; ++k) {
      rows[k] = u.data() + k * dim;
      weights[k] = 1.0 + static_cast<double>(k % 7);  // sample counts
    }
    r.sample_probe(shape);

    if (ws) {
      const double bytes = count * dim * 4.0 + dim * 4.0;
      const Row row{"weighted_sum", shape, "", {}, bytes, bytes, 0, 0, 0, {}, {}, {}};
      r.time_kernel(row, [&] {
        int64_t bad = -1;
        fail_if(dpfl::weighted_sum(rows.data(), count, dim, weights.data(), true, out.data(), &bad));
        return out.data()[dim / 2];
      });
      r.time_baseline(row, [&] {
        scalar_weighted_sum(rows.data(), count, dim, weights.data(), acc.data(), out.data());
        return out.data()[dim / 2];
      });
    }
    if (acc_add) {
      const double bytes = count * (2.0 * dim * 4 + 2.0 * dim * 8), min_bytes = count * (dim * 4.0 + 2.0 * dim * 8);
      const Row row{"accumulator_add", shape, "", {}, bytes, min_bytes, 0, 0, 0, {}, {}, {}};
      // No reset inside the timed region: the state just keeps accumulating (it stays finite).
      // A cold sample starts a fresh aggregator before the idle wait, as a server does per round.
      auto agg = std::make_unique<dpfl::Accumulator>(dim);
      r.time_kernel(
          row, [&] { agg = std::make_unique<dpfl::Accumulator>(dim); },
          [&] {
            for (int64_t i = 0; i < count; ++i) fail_if(agg->add(rows[i], dim, weights[i]));
            return agg->total_weight();
          });
      fail_if(agg->result(true, out.data()));
      std::fill(acc.begin(), acc.end(), 0.0);
      r.time_baseline(row, [&] {
        for (int64_t i = 0; i < count; ++i) scalar_accumulate(acc.data(), rows[i], dim, weights[i]);
        return acc[dim / 2] + out.data()[dim / 2];
      });
    }
  }
}

}  // namespace bench
