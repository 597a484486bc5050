// Robust aggregation and secure-aggregation arithmetic against float64 / plain references.
#include <algorithm>
#include <limits>
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
    if (ties) for (float& x : v) x = std::round(x * 2.0f) / 2.0f;
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
  std::vector<std::vector<float>> x = {check::random_floats(n, 1), check::random_floats(n, 2), check::random_floats(n, 3)};
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
