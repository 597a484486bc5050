// Tests of the neural-network kernels against float64 references at awkward sizes, ghost norms
// against materialised per-example gradients (a batch-of-one backward per example), and
// bit-identity across thread counts.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "check.h"
#include "dpfl/dispatch.h"
#include "dpfl/nn.h"
#include "dpfl/parallel.h"

using namespace dpfl;
using namespace dpfl::nn;

namespace {

// Float32 products summed in float32 over k terms: error grows like k·2^-24·Σ|a·b|; with k ≤ 300
// and unit-scale data, 2e-5 relative to Σ|a·b| is a safe bound. We compare against the float64
// result with atol scaled by the sum of magnitudes.
constexpr double kGemmRel = 2e-5;

void ref_gemm(const std::vector<float>& a, bool at, const std::vector<float>& b, bool bt, const float* scale,
              std::vector<double>* c, std::vector<double>* mag, int64_t m, int64_t n, int64_t k) {
  c->assign(static_cast<size_t>(m * n), 0.0);
  mag->assign(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p) {
        const double av = at ? a[p * m + i] : a[i * k + p];
        const double bv = bt ? b[j * k + p] : b[p * n + j];
        const double s = scale ? scale[p] : 1.0;
        (*c)[i * n + j] += s * av * bv;
        (*mag)[i * n + j] += std::fabs(s * av * bv);
      }
}

bool gemm_close(const std::vector<float>& got, const std::vector<double>& ref, const std::vector<double>& mag) {
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - ref[i]) <= kGemmRel * (mag[i] + 1e-3))) return false;
  }
  return true;
}

}  // namespace

TEST(gemm_forms_match_float64_reference) {
  const int64_t sizes[][3] = {{1, 1, 1}, {19, 7, 5}, {5, 19, 111}, {111, 33, 19}, {4, 8, 300}, {37, 600, 9}};
  for (const auto& s : sizes) {
    const int64_t m = s[0], n = s[1], k = s[2];
    auto a = check::random_floats(static_cast<size_t>(m * k), 1);
    auto b = check::random_floats(static_cast<size_t>(k * n), 2);
    auto scale = check::random_floats(static_cast<size_t>(k), 3);
    std::vector<double> ref, mag;
    std::vector<float> c(static_cast<size_t>(m * n), 7.0f);
    CHECK_OK(gemm_nn(a.data(), b.data(), c.data(), m, n, k, false));
    ref_gemm(a, false, b, false, nullptr, &ref, &mag, m, n, k);
    CHECK(gemm_close(c, ref, mag));
    // nt: B given as n x k.
    CHECK_OK(gemm_nt(a.data(), b.data(), c.data(), m, n, k, false));
    ref_gemm(a, false, b, true, nullptr, &ref, &mag, m, n, k);
    CHECK(gemm_close(c, ref, mag));
    // tn with a row scale: A given as k x m.
    CHECK_OK(gemm_tn(a.data(), b.data(), scale.data(), c.data(), m, n, k, false));
    ref_gemm(a, true, b, false, scale.data(), &ref, &mag, m, n, k);
    CHECK(gemm_close(c, ref, mag));
    // accumulate doubles it.
    CHECK_OK(gemm_tn(a.data(), b.data(), scale.data(), c.data(), m, n, k, true));
    for (double& v : ref) v *= 2;
    for (double& v : mag) v *= 2;
    CHECK(gemm_close(c, ref, mag));
  }
}

TEST(gemm_bit_identical_across_thread_counts) {
  const int64_t m = 77, n = 530, k = 270;
  auto a = check::random_floats(static_cast<size_t>(m * k), 4);
  auto b = check::random_floats(static_cast<size_t>(k * n), 5);
  std::vector<float> c1(static_cast<size_t>(m * n)), c2(c1.size());
  const int saved = thread_count();
  set_thread_count(1);
  CHECK_OK(gemm_nn(a.data(), b.data(), c1.data(), m, n, k, false));
  set_thread_count(3);
  CHECK_OK(gemm_nn(a.data(), b.data(), c2.data(), m, n, k, false));
  set_thread_count(saved);
  CHECK(std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)) == 0);
}

TEST(gemm_bit_identical_across_isa_variants) {
  const int64_t m = 45, n = 530, k = 300;
  auto a = check::random_floats(static_cast<size_t>(m * k), 31);
  auto b = check::random_floats(static_cast<size_t>(k * n), 32);
  auto s = check::random_floats(static_cast<size_t>(m), 33);
  const Isa saved = active_isa();
  std::vector<float> ref_nn, ref_tn;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    CHECK_OK(set_isa(isa));
    std::vector<float> c(static_cast<size_t>(m * n)), t(static_cast<size_t>(k * n));
    CHECK_OK(gemm_nn(a.data(), b.data(), c.data(), m, n, k, false));
    CHECK_OK(gemm_tn(a.data(), c.data(), s.data(), t.data(), k, n, m, false));
    if (ref_nn.empty()) {
      ref_nn = c;
      ref_tn = t;
    } else {
      CHECK(std::memcmp(c.data(), ref_nn.data(), c.size() * sizeof(float)) == 0);
      CHECK(std::memcmp(t.data(), ref_tn.data(), t.size() * sizeof(float)) == 0);
    }
  }
  CHECK_OK(set_isa(saved));
}

TEST(dense_ghost_norms_match_materialised_per_example_gradients) {
  const int64_t batch = 19, in = 23, out = 11;
  auto x = check::random_floats(static_cast<size_t>(batch * in), 6);
  auto dy = check::random_floats(static_cast<size_t>(batch * out), 7);
  std::vector<double> ghost(batch);
  CHECK_OK(dense_ghost_sqnorms(x.data(), dy.data(), ghost.data(), batch, in, out, true));
  std::vector<float> dw(static_cast<size_t>(in * out)), db(static_cast<size_t>(out));
  for (int64_t r = 0; r < batch; ++r) {
    // The gradient of example r alone: a batch-of-one backward.
    CHECK_OK(dense_backward_params(x.data() + r * in, dy.data() + r * out, nullptr, dw.data(), db.data(), 1, in, out,
                                   false));
    double sq = 0;
    for (float v : dw) sq += static_cast<double>(v) * v;
    for (float v : db) sq += static_cast<double>(v) * v;
    CHECK_CLOSE(ghost[r], sq, 1e-9, 1e-6);
  }
}

TEST(book_keeping_weighted_backward_equals_sum_of_scaled_per_example_gradients) {
  const int64_t batch = 13, in = 9, out = 5;
  auto x = check::random_floats(static_cast<size_t>(batch * in), 8);
  auto dy = check::random_floats(static_cast<size_t>(batch * out), 9);
  auto s = check::random_floats(static_cast<size_t>(batch), 10);
  std::vector<float> dw(static_cast<size_t>(in * out)), db(static_cast<size_t>(out));
  CHECK_OK(dense_backward_params(x.data(), dy.data(), s.data(), dw.data(), db.data(), batch, in, out, false));
  for (int64_t i = 0; i < in; ++i)
    for (int64_t j = 0; j < out; ++j) {
      double ref = 0, mag = 0;
      for (int64_t r = 0; r < batch; ++r) {
        ref += static_cast<double>(s[r]) * x[r * in + i] * dy[r * out + j];
        mag += std::fabs(static_cast<double>(s[r]) * x[r * in + i] * dy[r * out + j]);
      }
      CHECK(std::fabs(dw[i * out + j] - ref) <= kGemmRel * (mag + 1e-3));
    }
  for (int64_t j = 0; j < out; ++j) {
    double ref = 0;
    for (int64_t r = 0; r < batch; ++r) ref += static_cast<double>(s[r]) * dy[r * out + j];
    CHECK_CLOSE(db[j], ref, 1e-6, 1e-6);
  }
}

TEST(embedding_bag_forward_backward_and_ghost_norms) {
  const int64_t rows = 50, dim = 7, batch = 4;
  auto table = check::random_floats(static_cast<size_t>(rows * dim), 11);
  // Bag 0 has duplicates, bag 1 is empty, bag 2 one token, bag 3 many repeats of one row.
  std::vector<int32_t> indices = {3, 17, 3, 49, 3, 8, 0, 0, 0, 5};
  std::vector<int32_t> offsets = {0, 5, 5, 6, 10};
  for (int weighted = 0; weighted < 2; ++weighted) {
    auto weights = check::random_floats(indices.size(), 12);
    Bags bags{indices.data(), offsets.data(), weighted ? weights.data() : nullptr, batch,
              static_cast<int64_t>(indices.size())};
    std::vector<float> out(static_cast<size_t>(batch * dim));
    CHECK_OK(embedding_bag_forward(table.data(), rows, dim, bags, nullptr, out.data()));
    for (int64_t r = 0; r < batch; ++r) {
      const int64_t n = offsets[r + 1] - offsets[r];
      for (int64_t j = 0; j < dim; ++j) {
        double ref = 0;
        for (int64_t t = offsets[r]; t < offsets[r + 1]; ++t) {
          const double w = weighted ? weights[t] : 1.0 / n;
          ref += w * table[indices[t] * dim + j];
        }
        CHECK_CLOSE(out[r * dim + j], ref, 1e-6, 1e-5);
      }
    }
    auto dout = check::random_floats(static_cast<size_t>(batch * dim), 13);
    std::vector<double> ghost(batch);
    CHECK_OK(embedding_bag_ghost_sqnorms(dout.data(), rows, dim, bags, ghost.data()));
    std::vector<float> dtable(static_cast<size_t>(rows * dim));
    for (int64_t r = 0; r < batch; ++r) {
      std::fill(dtable.begin(), dtable.end(), 0.0f);
      // Batch of one: bag r alone, offsets rebased.
      std::vector<int32_t> one = {0, offsets[r + 1] - offsets[r]};
      Bags single{indices.data() + offsets[r], one.data(), weighted ? weights.data() + offsets[r] : nullptr, 1, one[1]};
      CHECK_OK(embedding_bag_backward(dout.data() + r * dim, rows, dim, single, nullptr, dtable.data()));
      double sq = 0;
      for (float v : dtable) sq += static_cast<double>(v) * v;
      CHECK_CLOSE(ghost[r], sq, 1e-9, 1e-5);
    }
  }
}

// The plain loop of the contribution map (the TypeScript reference it replaced): per example, its
// distinct rows in first-occurrence order, each given float32(count + min(1, clip/√n)).
struct MapState {
  std::vector<float> counts;
  std::vector<int32_t> stamp, touched;
  int32_t example = 0;
  int64_t touched_count = 0;
  explicit MapState(int64_t rows) : counts(rows), stamp(rows), touched(rows) {}
};

void ref_contribution_add(const std::vector<int32_t>& idx, const std::vector<int32_t>& off, double clip, MapState* m) {
  for (size_t r = 0; r + 1 < off.size(); ++r) {
    std::vector<int32_t> distinct;
    for (int32_t t = off[r]; t < off[r + 1]; ++t) {
      if (std::find(distinct.begin(), distinct.end(), idx[t]) == distinct.end()) distinct.push_back(idx[t]);
    }
    if (distinct.empty()) continue;
    const double w = std::min(1.0, clip / std::sqrt(static_cast<double>(distinct.size())));
    for (int32_t j : distinct) {
      if (m->counts[j] == 0.0f) m->touched[m->touched_count++] = j;
      m->counts[j] = static_cast<float>(static_cast<double>(m->counts[j]) + w);
    }
  }
}

Status contribution_add(const std::vector<int32_t>& idx, const std::vector<int32_t>& off, double clip, MapState* m,
                        int64_t* bad = nullptr) {
  Bags bags{idx.empty() ? nullptr : idx.data(), off.data(), nullptr, static_cast<int64_t>(off.size()) - 1,
            static_cast<int64_t>(idx.size())};
  return contribution_map_add(bags, static_cast<int64_t>(m->counts.size()), clip, m->counts.data(), m->stamp.data(),
                              &m->example, m->touched.data(), &m->touched_count, bad);
}

TEST(contribution_map_add_matches_plain_loop_bit_for_bit) {
  const int64_t rows = 97;
  std::mt19937 gen(21);
  MapState got(rows), ref(rows);
  for (int call = 0; call < 6; ++call) {
    // Bags of 0..40 tokens over few rows (many duplicates), some empty; clips below and above √n.
    std::vector<int32_t> idx, off = {0};
    for (int r = 0; r < 30; ++r) {
      const int len = static_cast<int>(gen() % 41) * (r % 7 != 3);
      for (int t = 0; t < len; ++t) idx.push_back(static_cast<int32_t>(gen() % (call < 3 ? 20 : rows)));
      off.push_back(static_cast<int32_t>(idx.size()));
    }
    const double clip = call % 2 == 0 ? 1.0 : 3.7;
    CHECK_OK(contribution_add(idx, off, clip, &got));
    ref_contribution_add(idx, off, clip, &ref);
    CHECK(std::memcmp(got.counts.data(), ref.counts.data(), rows * sizeof(float)) == 0);
    CHECK(got.touched_count == ref.touched_count);
    CHECK(std::equal(got.touched.begin(), got.touched.begin() + got.touched_count, ref.touched.begin()));
    CHECK(got.example == 30 * (call + 1));
  }
}

TEST(contribution_map_add_fills_touched_to_the_last_row) {
  MapState m(3);
  std::vector<int32_t> idx = {2, 0, 2, 1, 0, 1, 2, 1}, off = {0, 3, 5, 8};
  CHECK_OK(contribution_add(idx, off, 1.0, &m));
  CHECK(m.touched_count == 3 && m.touched[0] == 2 && m.touched[1] == 0 && m.touched[2] == 1);
  CHECK_OK(contribution_add(idx, off, 1.0, &m));  // every row already in: nothing more, nothing past the end
  CHECK(m.touched_count == 3 && m.touched[0] == 2 && m.touched[1] == 0 && m.touched[2] == 1);
  MapState ref(3);
  ref_contribution_add(idx, off, 1.0, &ref);
  ref_contribution_add(idx, off, 1.0, &ref);
  CHECK(std::memcmp(m.counts.data(), ref.counts.data(), 3 * sizeof(float)) == 0);
}

TEST(contribution_map_add_wraps_example_ids) {
  MapState m(8);
  m.example = kContributionStampLimit - 1;
  m.stamp[5] = 1;  // a stale stamp equal to the id after the wrap: cleared, so row 5 still counts
  std::vector<int32_t> idx = {2, 2, 5, 5}, off = {0, 2, 4};
  CHECK_OK(contribution_add(idx, off, 1.0, &m));
  CHECK(m.example == 1);  // ids limit, then wrap: the second example is id 1
  CHECK(m.stamp[2] == 0 && m.stamp[5] == 1);  // the first example's stamp went with the wrap
  CHECK(m.counts[2] == 1.0f && m.counts[5] == 1.0f && m.touched_count == 2);
}

TEST(contribution_map_add_checks_everything_before_writing) {
  MapState m(10);
  std::vector<int32_t> idx = {1, 2, 3, 4, 10, 5}, off = {0, 2, 4, 6};  // index 10 in the third bag
  int64_t bad = 0;
  CHECK(!contribution_add(idx, off, 1.0, &m, &bad).ok());
  CHECK(bad == 4);
  CHECK(m.example == 0 && m.touched_count == 0);
  for (int64_t j = 0; j < 10; ++j) CHECK(m.counts[j] == 0.0f && m.stamp[j] == 0);
  idx[4] = -1;
  CHECK(!contribution_add(idx, off, 1.0, &m, &bad).ok() && bad == 4);
  idx[4] = 9;
  CHECK_OK(contribution_add(idx, off, 1.0, &m, &bad));
  CHECK(bad == -1 && m.touched_count == 6);
  std::vector<int32_t> off_bad = {0, 2, 7, 6};
  CHECK(!contribution_add(idx, off_bad, 1.0, &m, &bad).ok() && bad == -1);  // offsets, not an index
  CHECK(!contribution_add(idx, off, 0.0, &m).ok());
  CHECK(!contribution_add(idx, off, std::nan(""), &m).ok());
  m.touched_count = 11;
  CHECK(!contribution_add(idx, off, 1.0, &m).ok());
  m.touched_count = 0;
  m.example = kContributionStampLimit + 1;
  CHECK(!contribution_add(idx, off, 1.0, &m).ok());
}

// The plain loops the row moves replace: row sel[i] of the table <-> row i of the buffer.
void ref_gather(const std::vector<float>& table, int64_t dim, const std::vector<int32_t>& sel,
                std::vector<float>* out) {
  for (size_t i = 0; i < sel.size(); ++i)
    for (int64_t c = 0; c < dim; ++c) (*out)[i * dim + c] = table[sel[i] * dim + c];
}

void ref_scatter(const std::vector<float>& src, int64_t dim, const std::vector<int32_t>& sel, std::vector<float>* t) {
  for (size_t i = 0; i < sel.size(); ++i)
    for (int64_t c = 0; c < dim; ++c) (*t)[sel[i] * dim + c] = src[i * dim + c];
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Rows of [0, rows) kept with probability p (p = 1: all), increasing.
std::vector<int32_t> some_rows(int64_t rows, double p, std::mt19937* gen) {
  std::vector<int32_t> sel;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int64_t j = 0; j < rows; ++j)
    if (p >= 1.0 || u(*gen) < p) sel.push_back(static_cast<int32_t>(j));
  return sel;
}

TEST(row_moves_match_plain_loops_bit_for_bit_for_every_thread_count) {
  const int saved = thread_count();
  std::mt19937 gen(5);
  for (int threads : {1, 3}) {
    set_thread_count(threads);
    // Narrow, odd and wide rows; k = 0, a few rows, most rows, every row. 16 KiB rows: 256 a pool
    // chunk, so the 600-row table is moved in three.
    for (int64_t dim : {1, 3, 64, 129, 4096}) {
      for (double p : {0.0, 0.01, 0.7, 1.0}) {
        const int64_t rows = dim > 1000 ? 600 : dim > 64 ? 700 : 20011;
        std::vector<int32_t> sel = some_rows(rows, p, &gen);
        const int64_t k = static_cast<int64_t>(sel.size());
        std::vector<float> table(rows * dim), src(k * dim);
        for (float& x : table) x = std::uniform_real_distribution<float>(-3.0f, 3.0f)(gen);
        for (float& x : src) x = std::uniform_real_distribution<float>(-3.0f, 3.0f)(gen);
        table[0] = -0.0f;  // a negative zero moves as itself
        std::vector<float> out(k * dim, 7.0f), want(k * dim, 7.0f);
        CHECK_OK(gather_rows(table.data(), rows, dim, sel.data(), k, out.data(), nullptr));
        ref_gather(table, dim, sel, &want);
        CHECK(same_bits(out, want));
        std::vector<float> t = table, t_want = table;
        CHECK_OK(scatter_rows(src.data(), rows, dim, sel.data(), k, t.data(), nullptr));
        ref_scatter(src, dim, sel, &t_want);
        CHECK(same_bits(t, t_want));
        t = table;
        t_want = table;
        int64_t bad = 5;
        CHECK_OK(zero_rows(t.data(), rows, dim, sel.data(), k, &bad));
        CHECK(bad == -1);
        ref_scatter(std::vector<float>(k * dim, 0.0f), dim, sel, &t_want);
        CHECK(same_bits(t, t_want));
      }
    }
  }
  set_thread_count(saved);
}

TEST(row_moves_check_sel_before_writing) {
  const int64_t rows = 10, dim = 3;
  std::vector<float> table(rows * dim, 1.0f), buf(4 * dim, 2.0f);
  const std::vector<std::pair<std::vector<int32_t>, int64_t>> cases = {
      {{1, 2, 3, 10}, 3},   // past the last row
      {{-1, 2, 3, 4}, 0},   // negative
      {{1, 2, 2, 4}, 2},    // repeated
      {{1, 5, 3, 4}, 2},    // decreasing
      {{1, 2, 3, INT32_MIN}, 3},
  };
  for (const auto& [sel, at] : cases) {
    int64_t bad = -7;
    CHECK(!gather_rows(table.data(), rows, dim, sel.data(), 4, buf.data(), &bad).ok() && bad == at);
    bad = -7;
    CHECK(!scatter_rows(buf.data(), rows, dim, sel.data(), 4, table.data(), &bad).ok() && bad == at);
    bad = -7;
    CHECK(!zero_rows(table.data(), rows, dim, sel.data(), 4, &bad).ok() && bad == at);
    CHECK(std::all_of(table.begin(), table.end(), [](float x) { return x == 1.0f; }));
    CHECK(std::all_of(buf.begin(), buf.end(), [](float x) { return x == 2.0f; }));
  }
  const std::vector<int32_t> ok = {0, 4, 9};
  int64_t bad = 0;
  CHECK(!zero_rows(table.data(), rows, 0, ok.data(), 3, &bad).ok() && bad == -1);  // dim 0
  CHECK(!zero_rows(table.data(), rows, dim, ok.data(), -1, &bad).ok());
  CHECK(!zero_rows(table.data(), 0, dim, ok.data(), 3, &bad).ok() && bad == 0);  // an empty table has no row
  CHECK(!gather_rows(table.data(), rows, dim, nullptr, 3, buf.data(), &bad).ok());
  CHECK(!gather_rows(nullptr, rows, dim, ok.data(), 3, buf.data(), &bad).ok() && bad == -1);
  CHECK_OK(gather_rows(nullptr, 0, dim, nullptr, 0, nullptr, &bad));  // k = 0: nothing to touch
  CHECK(std::all_of(table.begin(), table.end(), [](float x) { return x == 1.0f; }));
}

TEST(softmax_cross_entropy_matches_reference_and_is_stable) {
  const int64_t batch = 3, classes = 4;
  std::vector<float> logits = {1, 2, 3, 4, 1000, -1000, 0, 1000, -5, -5, -5, -5};
  std::vector<int32_t> labels = {3, 1, 0};
  std::vector<float> loss(batch), d(static_cast<size_t>(batch * classes));
  CHECK_OK(softmax_cross_entropy(logits.data(), labels.data(), loss.data(), d.data(), batch, classes));
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + std::exp(4.0));
  CHECK_CLOSE(loss[0], lse0 - 4.0, 1e-6, 1e-6);
  CHECK_CLOSE(loss[1], 2000.0 + std::log(2.0), 1e-3, 1e-6);
  CHECK_CLOSE(loss[2], std::log(4.0), 1e-6, 1e-6);
  CHECK_CLOSE(d[3], std::exp(4.0 - lse0) - 1.0, 1e-7, 1e-6);
  CHECK_CLOSE(d[4], 0.5, 1e-7, 1e-6);
  CHECK_CLOSE(d[5], -1.0, 1e-7, 1e-6);
  std::vector<int32_t> bad = {0, 4, 0};
  CHECK(!softmax_cross_entropy(logits.data(), bad.data(), loss.data(), d.data(), batch, classes).ok());
}

TEST(kernels_refuse_bad_arguments) {
  float x[4] = {0, 0, 0, 0};
  CHECK(!gemm_nn(x, x, x, -1, 1, 1, false).ok());
  CHECK(!dense_forward(x, x, nullptr, x, 1, 0, 1).ok());
  int32_t idx[2] = {0, 9};
  int32_t off[2] = {0, 2};
  Bags bags{idx, off, nullptr, 1, 2};
  CHECK(!embedding_bag_forward(x, 4, 1, bags, nullptr, x).ok());  // index 9 >= rows 4
  int32_t off_bad[2] = {0, 3};
  Bags bags2{idx, off_bad, nullptr, 1, 2};
  CHECK(!embedding_bag_ghost_sqnorms(x, 10, 1, bags2, nullptr).ok());  // offsets past the end
  CHECK(!adam_update(x, x, x, x, 4, 0.1, 0.9, 0.999, 1e-8, 0, 1, 0).ok());  // t = 0
  CHECK(!activation_forward(static_cast<Activation>(7), x, x, 4).ok());
}

TEST(sgd_and_adam_updates_match_reference) {
  std::vector<float> p = {1, -2, 3}, g = {0.5f, 0.25f, -1}, vel = {0.1f, 0, 0};
  CHECK_OK(sgd_update(p.data(), g.data(), vel.data(), 3, 0.1, 0.9, 0.0, 2.0));
  CHECK_CLOSE(vel[0], 0.9 * 0.1 + 1.0, 1e-7, 1e-6);
  CHECK_CLOSE(p[0], 1 - 0.1 * (0.09 + 1.0), 1e-6, 1e-6);
  std::vector<float> q = {1, -2, 3}, m(3), v(3);
  CHECK_OK(adam_update(q.data(), g.data(), m.data(), v.data(), 3, 0.01, 0.9, 0.999, 1e-8, 0, 1, 1));
  // First Adam step moves each parameter by lr·sign(g) (bias-corrected m̂/sqrt(v̂) = ±1).
  CHECK_CLOSE(q[0], 1 - 0.01, 1e-6, 1e-6);
  CHECK_CLOSE(q[2], 3 + 0.01, 1e-6, 1e-6);
}

// The optimizer updates are vectorised per ISA (optim_loops.h compiled under each variant's
// flags): every variant and thread count gives the same bits, at odd sizes.
TEST(sgd_and_adam_updates_bit_identical_across_isa_and_threads) {
  const Isa saved_isa = active_isa();
  const int saved_threads = thread_count();
  const int64_t n = 70001;
  const auto g = check::random_floats(static_cast<size_t>(n), 41);
  const auto p0 = check::random_floats(static_cast<size_t>(n), 42);
  const auto v0 = check::random_floats(static_cast<size_t>(n), 43);
  std::vector<float> ps, vs, pp, pa, ma, va;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    CHECK_OK(set_isa(isa));
    for (const int threads : {1, 3}) {
      set_thread_count(threads);
      std::vector<float> p = p0, v = v0, q = p0, a = p0, m = v0, s(static_cast<size_t>(n), 0.25f);
      CHECK_OK(sgd_update(p.data(), g.data(), v.data(), n, 0.1, 0.9, 1e-3, 0.5));
      CHECK_OK(sgd_update(q.data(), g.data(), nullptr, n, 0.1, 0, 1e-3, 0.5));
      CHECK_OK(adam_update(a.data(), g.data(), m.data(), s.data(), n, 0.01, 0.9, 0.999, 1e-8, 1e-3, 0.5, 7));
      if (ps.empty()) {
        ps = p, vs = v, pp = q, pa = a, ma = m, va = s;
        continue;
      }
      CHECK(std::memcmp(p.data(), ps.data(), p.size() * sizeof(float)) == 0);
      CHECK(std::memcmp(v.data(), vs.data(), v.size() * sizeof(float)) == 0);
      CHECK(std::memcmp(q.data(), pp.data(), q.size() * sizeof(float)) == 0);
      CHECK(std::memcmp(a.data(), pa.data(), a.size() * sizeof(float)) == 0);
      CHECK(std::memcmp(m.data(), ma.data(), m.size() * sizeof(float)) == 0);
      CHECK(std::memcmp(s.data(), va.data(), s.size() * sizeof(float)) == 0);
    }
  }
  CHECK_OK(set_isa(saved_isa));
  set_thread_count(saved_threads);
  // And the scalar result against float64 arithmetic written out here.
  const double gs = 0.5 * g[5] + 1e-3 * p0[5];
  const float vel = static_cast<float>(0.9 * v0[5] + static_cast<float>(gs));
  CHECK(vs[5] == vel);
  CHECK(ps[5] == static_cast<float>(p0[5] - 0.1 * vel));
}

TEST(embedding_bag_backward_bit_identical_across_threads_and_rebased_offsets) {
  const int64_t rows = 1000, dim = 5, batch = 37;
  std::mt19937 gen(21);
  std::vector<int32_t> indices;
  std::vector<int32_t> offsets = {3};  // bags start at token 3: the first tokens are not used
  for (int i = 0; i < 3; ++i) indices.push_back(999);
  for (int64_t r = 0; r < batch; ++r) {
    const int n = static_cast<int>(gen() % 40);
    for (int t = 0; t < n; ++t) indices.push_back(static_cast<int32_t>(gen() % 50 == 0 ? 7 : gen() % rows));
    offsets.push_back(static_cast<int32_t>(indices.size()));
  }
  auto dout = check::random_floats(static_cast<size_t>(batch * dim), 22);
  auto scale = check::random_floats(static_cast<size_t>(batch), 23);
  Bags bags{indices.data(), offsets.data(), nullptr, batch, static_cast<int64_t>(indices.size())};
  std::vector<float> a(static_cast<size_t>(rows * dim)), b(a.size());
  const int saved = thread_count();
  set_thread_count(1);
  CHECK_OK(embedding_bag_backward(dout.data(), rows, dim, bags, scale.data(), a.data()));
  set_thread_count(3);
  CHECK_OK(embedding_bag_backward(dout.data(), rows, dim, bags, scale.data(), b.data()));
  set_thread_count(saved);
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  // Reference: Σ_r s_r Σ_t (1/n_r) dout_r into row indices_t; row 999 only gets real tokens.
  std::vector<double> ref(a.size(), 0.0);
  for (int64_t r = 0; r < batch; ++r) {
    const int64_t n = offsets[r + 1] - offsets[r];
    for (int64_t t = offsets[r]; t < offsets[r + 1]; ++t)
      for (int64_t j = 0; j < dim; ++j) ref[indices[t] * dim + j] += scale[r] * (1.0 / n) * dout[r * dim + j];
  }
  for (size_t i = 0; i < a.size(); ++i) CHECK_CLOSE(a[i], ref[i], 1e-5, 1e-5);
}

CHECK_MAIN()
