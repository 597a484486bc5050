// Robust aggregation (median, trimmed mean, Krum, multi-Krum, Bulyan) and secure-aggregation
// arithmetic against float64 / plain references.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>
#include <utility>
#include <vector>

#include "check.h"
#include "dpfl/fl.h"
#include "dpfl/parallel.h"
#include "tolerances.h"

namespace {

struct Rows {
  std::vector<std::vector<float>> data;
  std::vector<const float*> ptrs;
};

Rows make_rows(int64_t count, int64_t dim, uint32_t seed, bool ties) {
  Rows r;
  for (int64_t k = 0; k < count; ++k) {
    std::vector<float> v = check::random_floats(dim, seed * 131 + k);
    // Ties: round to a coarse grid so many columns hold repeated values.
    if (ties)
      for (float& x : v) x = std::round(x * 2.0f) / 2.0f;
    r.data.push_back(v);
  }
  for (auto& d : r.data) r.ptrs.push_back(d.data());
  return r;
}

// Float64 references by full sort of each column.
std::vector<double> sorted_column(const Rows& r, int64_t d) {
  std::vector<double> c;
  for (auto& row : r.data) c.push_back(row[d]);
  std::sort(c.begin(), c.end());
  return c;
}

double median_ref(const Rows& r, int64_t d) {
  std::vector<double> c = sorted_column(r, d);
  const size_t k = c.size();
  return k % 2 ? c[k / 2] : (c[k / 2 - 1] + c[k / 2]) / 2;
}

double trimmed_ref(const Rows& r, int64_t d, int64_t trim) {
  std::vector<double> c = sorted_column(r, d);
  double s = 0;
  for (size_t i = trim; i < c.size() - trim; ++i) s += c[i];
  return s / static_cast<double>(c.size() - 2 * trim);
}

const int64_t kShapes[][2] = {{1, 1}, {2, 19}, {3, 111}, {4, 989}, {7, 5000}, {100, 333}, {1001, 37}, {2, 70000}};

}  // namespace

TEST(median_matches_sorted_reference) {
  uint32_t seed = 1;
  for (auto& s : kShapes) {
    for (bool ties : {false, true}) {
      const Rows r = make_rows(s[0], s[1], seed++, ties);
      std::vector<float> out(s[1], -99.0f);
      int64_t bad = 7;
      CHECK_OK(dpfl::coordinate_median(r.ptrs.data(), s[0], s[1], out.data(), &bad));
      CHECK_EQ(bad, int64_t(-1));
      // Odd K: an exact element. Even K: a float64 mean of two floats rounded once.
      for (int64_t d = 0; d < s[1]; ++d) CHECK_CLOSE(out[d], median_ref(r, d), 0, tol::kSumRtol);
    }
  }
}

TEST(trimmed_mean_matches_sorted_reference) {
  uint32_t seed = 50;
  for (auto& s : kShapes) {
    ++seed;
    const Rows r = make_rows(s[0], s[1], seed, seed % 2 == 0);
    for (int64_t trim : {int64_t(0), (s[0] - 1) / 2, s[0] / 10}) {
      std::vector<float> out(s[1], -99.0f);
      int64_t bad = 7;
      CHECK_OK(dpfl::trimmed_mean(r.ptrs.data(), s[0], s[1], trim, out.data(), &bad));
      CHECK_EQ(bad, int64_t(-1));
      for (int64_t d = 0; d < s[1]; ++d) CHECK_CLOSE(out[d], trimmed_ref(r, d, trim), tol::kSumAtol, tol::kSumRtol);
    }
  }
}

TEST(robust_results_do_not_depend_on_threads) {
  const Rows r = make_rows(64, 40000, 9, false);
  std::vector<float> a(40000), b(40000), c(40000), e(40000);
  int64_t bad;
  const int before = dpfl::thread_count();
  dpfl::set_thread_count(1);
  CHECK_OK(dpfl::coordinate_median(r.ptrs.data(), 64, 40000, a.data(), &bad));
  CHECK_OK(dpfl::trimmed_mean(r.ptrs.data(), 64, 40000, 6, c.data(), &bad));
  dpfl::set_thread_count(3);
  CHECK_OK(dpfl::coordinate_median(r.ptrs.data(), 64, 40000, b.data(), &bad));
  CHECK_OK(dpfl::trimmed_mean(r.ptrs.data(), 64, 40000, 6, e.data(), &bad));
  dpfl::set_thread_count(before);
  CHECK(a == b);
  CHECK(c == e);
}

TEST(robust_rejects_non_finite_and_bad_arguments) {
  Rows r = make_rows(9, 20000, 3, false);
  r.data[6][19999] = std::numeric_limits<float>::infinity();
  r.data[4][15000] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> out(20000);
  int64_t bad = -1;
  CHECK(!dpfl::coordinate_median(r.ptrs.data(), 9, 20000, out.data(), &bad).ok());
  CHECK_EQ(bad, int64_t(4));
  bad = -1;
  CHECK(!dpfl::trimmed_mean(r.ptrs.data(), 9, 20000, 2, out.data(), &bad).ok());
  CHECK_EQ(bad, int64_t(4));
  const Rows ok = make_rows(4, 5, 1, false);
  CHECK(!dpfl::trimmed_mean(ok.ptrs.data(), 4, 5, 2, out.data(), &bad).ok());  // 2 * trim == K
  CHECK(!dpfl::trimmed_mean(ok.ptrs.data(), 4, 5, -1, out.data(), &bad).ok());
  CHECK(!dpfl::coordinate_median(ok.ptrs.data(), 0, 5, out.data(), &bad).ok());
  CHECK(!dpfl::coordinate_median(ok.ptrs.data(), 4, 0, out.data(), &bad).ok());
}

TEST(median_resists_outliers) {
  // 7 honest clients near 1, 3 Byzantine at 1e6: the median stays at an honest value.
  std::vector<std::vector<float>> rows;
  for (int k = 0; k < 7; ++k) rows.push_back(std::vector<float>(10, 1.0f + 0.01f * k));
  for (int k = 0; k < 3; ++k) rows.push_back(std::vector<float>(10, 1e6f));
  std::vector<const float*> p;
  for (auto& v : rows) p.push_back(v.data());
  std::vector<float> out(10);
  int64_t bad;
  CHECK_OK(dpfl::coordinate_median(p.data(), 10, 10, out.data(), &bad));
  for (float v : out) CHECK(v >= 1.0f && v <= 1.07f);
  CHECK_OK(dpfl::trimmed_mean(p.data(), 10, 10, 3, out.data(), &bad));
  for (float v : out) CHECK(v >= 1.0f && v <= 1.07f);
}

// ---- Krum, multi-Krum, Bulyan against a plain float64 reference ----------------------------------

namespace {

std::vector<double> distance_ref(const Rows& r) {
  const size_t k = r.data.size();
  std::vector<double> d(k * k, 0.0);
  for (size_t i = 0; i < k; ++i)
    for (size_t j = 0; j < k; ++j)
      for (size_t c = 0; c < r.data[i].size(); ++c) {
        const double e = static_cast<double>(r.data[i][c]) - r.data[j][c];
        d[i * k + j] += e * e;
      }
  return d;
}

// Krum scores of `active` among themselves by full sort; the ranking is by (score, index).
std::vector<int64_t> krum_order_ref(const std::vector<double>& dist, int64_t count, const std::vector<int64_t>& active,
                                    int64_t closest) {
  std::vector<std::pair<double, int64_t>> scored;
  for (int64_t a : active) {
    std::vector<double> row;
    for (int64_t b : active)
      if (b != a) row.push_back(dist[a * count + b]);
    std::sort(row.begin(), row.end());
    double s = 0;
    for (int64_t c = 0; c < closest; ++c) s += row[c];
    scored.push_back({s, a});
  }
  std::sort(scored.begin(), scored.end());
  std::vector<int64_t> order;
  for (auto& p : scored) order.push_back(p.second);
  return order;
}

std::vector<int64_t> bulyan_selection_ref(const std::vector<double>& dist, int64_t count, int64_t f) {
  std::vector<int64_t> remaining(count), chosen;
  std::iota(remaining.begin(), remaining.end(), int64_t{0});
  while (static_cast<int64_t>(chosen.size()) < count - 2 * f) {
    const int64_t n = static_cast<int64_t>(remaining.size());
    const int64_t closest = std::min(n - 1, std::max<int64_t>(1, n - f - 2));
    const int64_t best = krum_order_ref(dist, count, remaining, closest)[0];
    chosen.push_back(best);
    remaining.erase(std::find(remaining.begin(), remaining.end(), best));
  }
  return chosen;
}

// Bulyan's coordinate rule by full sort: the beta values nearest the median (the lower on a tie).
double bulyan_column_ref(std::vector<double> c, int64_t beta) {
  std::sort(c.begin(), c.end());
  const size_t n = c.size();
  const double med = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
  std::vector<std::pair<double, double>> by_distance;
  for (double v : c) by_distance.push_back({std::fabs(v - med), v});
  std::sort(by_distance.begin(), by_distance.end());
  double s = 0;
  for (int64_t i = 0; i < beta; ++i) s += by_distance[i].second;
  return s / static_cast<double>(beta);
}

// A grid of distinct sizes: K from 1 to 23, D of 1, 19, 111, 989 and one past a chunk (1024).
const int64_t kKrumCounts[] = {1, 2, 3, 4, 5, 7, 8, 9, 11, 16, 17, 23};
const int64_t kKrumDims[] = {1, 19, 111, 989, 2500};

}  // namespace

TEST(distances_krum_multi_krum_and_bulyan_match_reference) {
  uint32_t seed = 400;
  for (int64_t k : kKrumCounts) {
    for (int64_t d : kKrumDims) {
      const Rows r = make_rows(k, d, seed++, false);
      const std::vector<double> dist = distance_ref(r);
      std::vector<double> got(k * k, -1.0);
      int64_t bad = 7;
      CHECK_OK(dpfl::pairwise_sq_distances(r.ptrs.data(), k, d, got.data(), &bad));
      CHECK_EQ(bad, int64_t(-1));
      for (int64_t i = 0; i < k * k; ++i) CHECK_CLOSE(got[i], dist[i], 0, 1e-12);
      for (int64_t f = 0; 2 * f + 2 < k; ++f) {
        std::vector<int64_t> all(k);
        std::iota(all.begin(), all.end(), int64_t{0});
        const std::vector<int64_t> order = krum_order_ref(dist, k, all, k - f - 2);
        std::vector<double> scores(k);
        CHECK_OK(dpfl::krum_scores(dist.data(), k, f, scores.data()));
        std::vector<float> out(d);
        int64_t sel = -1, bad;
        CHECK_OK(dpfl::krum(r.ptrs.data(), k, d, f, out.data(), &sel, &bad));
        CHECK_EQ(sel, order[0]);
        CHECK(out == r.data[order[0]]);
        for (int64_t m : {int64_t(2), k - f}) {
          if (m > k - f) continue;
          std::vector<int64_t> chosen(m, -1);
          CHECK_OK(dpfl::multi_krum(r.ptrs.data(), k, d, f, m, out.data(), chosen.data(), &bad));
          CHECK(std::equal(chosen.begin(), chosen.end(), order.begin()));
          for (int64_t c = 0; c < d; ++c) {
            double s = 0;
            for (int64_t i = 0; i < m; ++i) s += r.data[order[i]][c];
            CHECK_CLOSE(out[c], s / m, tol::kSumAtol, tol::kSumRtol);
          }
        }
      }
      for (int64_t f = 0; 4 * f + 3 <= k; ++f) {
        const std::vector<int64_t> want = bulyan_selection_ref(dist, k, f);
        std::vector<int64_t> chosen(want.size(), -1);
        std::vector<float> out(d);
        int64_t bad;
        CHECK_OK(dpfl::bulyan(r.ptrs.data(), k, d, f, out.data(), chosen.data(), &bad));
        CHECK(chosen == want);
        for (int64_t c = 0; c < d; ++c) {
          std::vector<double> col;
          for (int64_t i : want) col.push_back(r.data[i][c]);
          CHECK_CLOSE(out[c], bulyan_column_ref(col, k - 4 * f), tol::kSumAtol, tol::kSumRtol);
        }
      }
    }
  }
}

TEST(krum_rules_never_select_planted_outliers) {
  // 13 updates, f = 2 Byzantine ones far away (one huge, one a moderate shift), at several positions.
  const int64_t k = 13, d = 111, f = 2;
  for (int64_t p0 : {int64_t(0), int64_t(5), int64_t(12)}) {
    const int64_t p1 = (p0 + 7) % k;
    Rows r = make_rows(k, d, 77 + uint32_t(p0), false);
    for (int64_t c = 0; c < d; ++c) {
      r.data[p0][c] = 1e6f;
      r.data[p1][c] += 25.0f;
    }
    std::vector<float> out(d);
    int64_t bad;
    std::vector<int64_t> chosen(k - f, -1);
    CHECK_OK(dpfl::krum(r.ptrs.data(), k, d, f, out.data(), chosen.data(), &bad));
    CHECK(chosen[0] != p0 && chosen[0] != p1);
    CHECK_OK(dpfl::multi_krum(r.ptrs.data(), k, d, f, k - f, out.data(), chosen.data(), &bad));
    for (int64_t i : chosen) CHECK(i != p0 && i != p1);
    for (float v : out) CHECK(std::fabs(v) < 2.0f);
    CHECK_OK(dpfl::bulyan(r.ptrs.data(), k, d, f, out.data(), chosen.data(), &bad));
    for (int64_t i = 0; i < k - 2 * f; ++i) CHECK(chosen[i] != p0 && chosen[i] != p1);
    for (float v : out) CHECK(std::fabs(v) < 2.0f);
  }
}

TEST(krum_ties_go_to_the_lower_index) {
  // Identical updates: every score is equal, so Krum picks update 0 and multi-Krum 0, 1, 2, ...
  std::vector<std::vector<float>> rows(9, std::vector<float>(5, 0.25f));
  std::vector<const float*> p;
  for (auto& v : rows) p.push_back(v.data());
  std::vector<float> out(5);
  std::vector<int64_t> chosen(9, -1);
  int64_t bad;
  CHECK_OK(dpfl::krum(p.data(), 9, 5, 2, out.data(), chosen.data(), &bad));
  CHECK_EQ(chosen[0], int64_t(0));
  CHECK_OK(dpfl::multi_krum(p.data(), 9, 5, 1, 4, out.data(), chosen.data(), &bad));
  for (int64_t i = 0; i < 4; ++i) CHECK_EQ(chosen[i], i);
  CHECK_OK(dpfl::bulyan(p.data(), 9, 5, 1, out.data(), chosen.data(), &bad));
  for (int64_t i = 0; i < 7; ++i) CHECK_EQ(chosen[i], i);
  for (float v : out) CHECK_EQ(v, 0.25f);
}

TEST(krum_rules_do_not_depend_on_threads) {
  const int64_t k = 37, d = 20000;
  const Rows r = make_rows(k, d, 21, false);
  auto run = [&](int threads) {
    dpfl::set_thread_count(threads);
    std::vector<double> dist(k * k);
    std::vector<float> out(3 * d);
    std::vector<int64_t> sel(3 * k, -1);
    int64_t bad;
    CHECK_OK(dpfl::pairwise_sq_distances(r.ptrs.data(), k, d, dist.data(), &bad));
    CHECK_OK(dpfl::krum(r.ptrs.data(), k, d, 5, out.data(), sel.data(), &bad));
    CHECK_OK(dpfl::multi_krum(r.ptrs.data(), k, d, 5, 20, out.data() + d, sel.data() + k, &bad));
    CHECK_OK(dpfl::bulyan(r.ptrs.data(), k, d, 8, out.data() + 2 * d, sel.data() + 2 * k, &bad));
    return std::make_tuple(dist, out, sel);
  };
  const int before = dpfl::thread_count();
  const auto one = run(1);
  const auto three = run(3);
  dpfl::set_thread_count(before);
  CHECK(one == three);
}

TEST(krum_rules_reject_bad_arguments_and_non_finite) {
  Rows r = make_rows(11, 3000, 5, false);
  std::vector<float> out(3000);
  std::vector<double> dist(121);
  int64_t bad = -1, sel;
  CHECK(!dpfl::krum(r.ptrs.data(), 4, 3000, 1, out.data(), &sel, &bad).ok());  // K = 2f + 2
  CHECK_EQ(bad, int64_t(-1));
  CHECK_OK(dpfl::krum(r.ptrs.data(), 5, 3000, 1, out.data(), &sel, &bad));
  CHECK(!dpfl::krum(r.ptrs.data(), 11, 3000, -1, out.data(), &sel, &bad).ok());
  CHECK(!dpfl::multi_krum(r.ptrs.data(), 11, 3000, 2, 10, out.data(), nullptr, &bad).ok());  // keep > K - f
  CHECK(!dpfl::multi_krum(r.ptrs.data(), 11, 3000, 2, 0, out.data(), nullptr, &bad).ok());
  CHECK_OK(dpfl::multi_krum(r.ptrs.data(), 11, 3000, 2, 9, out.data(), nullptr, &bad));
  CHECK(!dpfl::bulyan(r.ptrs.data(), 10, 3000, 2, out.data(), nullptr, &bad).ok());  // K = 4f + 2
  CHECK_OK(dpfl::bulyan(r.ptrs.data(), 11, 3000, 2, out.data(), nullptr, &bad));
  CHECK(!dpfl::krum(r.ptrs.data(), 11, 0, 1, out.data(), &sel, &bad).ok());
  CHECK(!dpfl::krum_scores(dist.data(), 6, 2, dist.data()).ok());
  CHECK(!dpfl::pairwise_sq_distances(r.ptrs.data(), 0, 3000, dist.data(), &bad).ok());
  r.data[8][2999] = std::numeric_limits<float>::infinity();
  r.data[3][1500] = std::numeric_limits<float>::quiet_NaN();
  CHECK(!dpfl::krum(r.ptrs.data(), 11, 3000, 1, out.data(), &sel, &bad).ok());
  CHECK_EQ(bad, int64_t(3));
  bad = -1;
  CHECK(!dpfl::multi_krum(r.ptrs.data(), 11, 3000, 1, 3, out.data(), nullptr, &bad).ok());
  CHECK_EQ(bad, int64_t(3));
  bad = -1;
  CHECK(!dpfl::bulyan(r.ptrs.data(), 11, 3000, 2, out.data(), nullptr, &bad).ok());
  CHECK_EQ(bad, int64_t(3));
  bad = -1;
  CHECK(!dpfl::pairwise_sq_distances(r.ptrs.data(), 11, 3000, dist.data(), &bad).ok());
  CHECK_EQ(bad, int64_t(3));
}

TEST(quantize_round_trip_and_rejects) {
  std::vector<float> x = {0.0f, 0.5f, -0.5f, 1.25f, -3.0f, 1e-9f, 2.5f / 1024};
  std::vector<uint32_t> q(x.size());
  int64_t bad = 0;
  const double scale = 1024;
  CHECK_OK(dpfl::quantize_fixed(x.data(), 7, scale, q.data(), &bad));
  CHECK_EQ(bad, int64_t(-1));
  CHECK_EQ(q[0], 0u);
  CHECK_EQ(q[1], 512u);
  CHECK_EQ(q[2], 0xFFFFFE00u);  // -512 mod 2^32
  CHECK_EQ(q[4], static_cast<uint32_t>(-3072));
  CHECK_EQ(q[6], 2u);  // 2.5 rounds half to even
  std::vector<float> back(7);
  CHECK_OK(dpfl::dequantize_fixed(q.data(), 7, scale, back.data()));
  for (size_t i = 0; i < x.size(); ++i) CHECK_CLOSE(back[i], x[i], 0.5 / scale, 0);
  std::vector<uint32_t> keep(3, 77u);
  std::vector<float> big = {1.0f, std::numeric_limits<float>::quiet_NaN(), 1.0f};
  CHECK(!dpfl::quantize_fixed(big.data(), 3, scale, keep.data(), &bad).ok());
  CHECK_EQ(bad, int64_t(1));
  CHECK(keep == std::vector<uint32_t>(3, 77u));  // untouched
  big = {1.0f, 1.0f, 2097152.0f};  // 2^21 * 2^10 = 2^31: out of range
  CHECK(!dpfl::quantize_fixed(big.data(), 3, scale, keep.data(), &bad).ok());
  CHECK_EQ(bad, int64_t(2));
  // The largest magnitudes that still encode: +-(2^31 - 1).
  std::vector<float> edge = {2147483520.0f, -2147483520.0f};  // float32 neighbours below 2^31
  std::vector<uint32_t> qe(2);
  CHECK_OK(dpfl::quantize_fixed(edge.data(), 2, 1.0, qe.data(), &bad));
  CHECK_EQ(qe[0], 2147483520u);
  edge = {2147483648.0f};
  CHECK(!dpfl::quantize_fixed(edge.data(), 1, 1.0, qe.data(), &bad).ok());
  CHECK(!dpfl::quantize_fixed(big.data(), 3, 0.0, keep.data(), &bad).ok());
}

TEST(masks_match_chacha_blocks_and_cancel) {
  dpfl::ChaChaKey key{{1, 2, 3, 4, 5, 6, 7, 8}};
  const int64_t n = 200003;  // several chunks, a partial last block
  std::vector<uint32_t> x(n, 5u);
  CHECK_OK(dpfl::apply_mask(x.data(), n, key, 42, false));
  for (int64_t i : {int64_t(0), int64_t(15), int64_t(16), int64_t(65537), n - 1}) {
    const uint32_t w = dpfl::chacha_block(key, 42, static_cast<uint64_t>(i) / 16).v[i % 16];
    CHECK_EQ(x[i], 5u + w);
    CHECK_EQ(dpfl::mask_word(key, 42, i), w);
  }
  CHECK_OK(dpfl::apply_mask(x.data(), n, key, 42, true));
  CHECK(x == std::vector<uint32_t>(n, 5u));
  // A different stream gives a different mask.
  std::vector<uint32_t> y(16, 0u), z(16, 0u);
  CHECK_OK(dpfl::apply_mask(y.data(), 16, key, 1, false));
  CHECK_OK(dpfl::apply_mask(z.data(), 16, key, 2, false));
  CHECK(y != z);
}

TEST(pairwise_masks_cancel_in_the_modular_sum) {
  // Three clients, pairwise seeds: u adds PRG(s_uv) for v > u and subtracts it for v < u.
  const int64_t n = 1000;
  std::vector<std::vector<float>> x = {check::random_floats(n, 1), check::random_floats(n, 2),
                                       check::random_floats(n, 3)};
  const double scale = 1 << 20;
  std::vector<std::vector<uint32_t>> q(3, std::vector<uint32_t>(n));
  std::vector<uint32_t> plain(n, 0u);
  int64_t bad;
  for (int u = 0; u < 3; ++u) {
    CHECK_OK(dpfl::quantize_fixed(x[u].data(), n, scale, q[u].data(), &bad));
    for (int64_t i = 0; i < n; ++i) plain[i] += q[u][i];
  }
  for (int u = 0; u < 3; ++u) {
    for (int v = 0; v < 3; ++v) {
      if (u == v) continue;
      const int lo = std::min(u, v), hi = std::max(u, v);
      dpfl::ChaChaKey seed{{uint32_t(lo), uint32_t(hi), 9, 9, 9, 9, 9, 9}};
      CHECK_OK(dpfl::apply_mask(q[u].data(), n, seed, 0, u > v));
    }
  }
  std::vector<const uint32_t*> ptrs = {q[0].data(), q[1].data(), q[2].data()};
  std::vector<uint32_t> sum(n);
  CHECK_OK(dpfl::sum_mod(ptrs.data(), 3, n, sum.data()));
  CHECK(sum == plain);
  std::vector<float> mean(n);
  CHECK_OK(dpfl::dequantize_fixed(sum.data(), n, scale, mean.data()));
  for (int64_t i = 0; i < n; ++i) CHECK_CLOSE(mean[i], double(x[0][i]) + x[1][i] + x[2][i], 1.5 / scale, 1e-7);
}

CHECK_MAIN()
