// Weighted aggregation and the streaming accumulator against a float64 reference.
#include <limits>
#include <vector>

#include "check.h"
#include "dpfl/kernels.h"
#include "tolerances.h"

namespace {

struct Clients {
  std::vector<std::vector<float>> data;
  std::vector<const float*> ptrs;
  std::vector<double> weights;
};

Clients make_clients(int64_t count, int64_t dim, uint32_t seed) {
  Clients c;
  std::mt19937 gen(seed);
  for (int64_t k = 0; k < count; ++k) {
    c.data.push_back(check::random_floats(dim, seed * 100 + k));
    c.weights.push_back(static_cast<double>(gen() % 500));
  }
  c.weights[0] += 1;  // a positive total
  for (auto& d : c.data) c.ptrs.push_back(d.data());
  return c;
}

std::vector<double> reference(const Clients& c, int64_t dim, bool normalize) {
  std::vector<double> out(dim, 0.0);
  double total = 0;
  for (size_t k = 0; k < c.data.size(); ++k) {
    total += c.weights[k];
    for (int64_t d = 0; d < dim; ++d) out[d] += c.weights[k] * c.data[k][d];
  }
  if (normalize)
    for (double& v : out) v /= total;
  return out;
}

}  // namespace

TEST(weighted_sum_matches_reference) {
  const int64_t shapes[][2] = {{1, 1}, {3, 19}, {10, 2047}, {7, 2049}, {2, 5000}, {40, 111}};
  uint32_t seed = 1;
  for (auto& s : shapes) {
    const Clients c = make_clients(s[0], s[1], seed++);
    for (bool normalize : {false, true}) {
      const std::vector<double> ref = reference(c, s[1], normalize);
      // Summands reach |w u| ~ 500 * 4: atol scales with the largest summand.
      double scale = 0;
      for (double w : c.weights) scale += w;
      if (normalize) scale = 1;
      std::vector<float> out(s[1], -9.0f);
      int64_t bad = 0;
      CHECK_OK(dpfl::weighted_sum(c.ptrs.data(), s[0], s[1], c.weights.data(), normalize, out.data(), &bad));
      CHECK_EQ(bad, int64_t(-1));
      for (int64_t d = 0; d < s[1]; ++d) CHECK_CLOSE(out[d], ref[d], tol::kSumAtol * scale, tol::kSumRtol);
    }
  }
}

TEST(weighted_sum_names_the_non_finite_update) {
  Clients c = make_clients(5, 3000, 9);
  c.data[3][2500] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> out(3000);
  int64_t bad = -1;
  CHECK(!dpfl::weighted_sum(c.ptrs.data(), 5, 3000, c.weights.data(), false, out.data(), &bad).ok());
  CHECK_EQ(bad, int64_t(3));
}

TEST(weighted_sum_rejects_bad_weights) {
  Clients c = make_clients(2, 4, 3);
  std::vector<float> out(4);
  int64_t bad;
  std::vector<double> neg = {1.0, -1.0}, inf = {1.0, std::numeric_limits<double>::infinity()}, zero = {0.0, 0.0};
  CHECK(!dpfl::weighted_sum(c.ptrs.data(), 2, 4, neg.data(), false, out.data(), &bad).ok());
  CHECK(!dpfl::weighted_sum(c.ptrs.data(), 2, 4, inf.data(), false, out.data(), &bad).ok());
  CHECK(!dpfl::weighted_sum(c.ptrs.data(), 2, 4, zero.data(), true, out.data(), &bad).ok());
  CHECK_OK(dpfl::weighted_sum(c.ptrs.data(), 2, 4, zero.data(), false, out.data(), &bad));
  CHECK(!dpfl::weighted_sum(c.ptrs.data(), 0, 4, zero.data(), false, out.data(), &bad).ok());
}

TEST(accumulator_equals_weighted_sum) {
  const int64_t dim = 4099;
  const Clients c = make_clients(12, dim, 21);
  dpfl::Accumulator acc(dim);
  for (size_t k = 0; k < c.data.size(); ++k) CHECK_OK(acc.add(c.data[k].data(), dim, c.weights[k]));
  CHECK_EQ(acc.count(), int64_t(12));
  for (bool normalize : {false, true}) {
    std::vector<float> streamed(dim), batch(dim);
    int64_t bad;
    CHECK_OK(acc.result(normalize, streamed.data()));
    CHECK_OK(dpfl::weighted_sum(c.ptrs.data(), 12, dim, c.weights.data(), normalize, batch.data(), &bad));
    CHECK(streamed == batch);  // same float64 additions in the same order
  }
  acc.reset();
  CHECK_EQ(acc.count(), int64_t(0));
  std::vector<float> out(dim);
  CHECK(!acc.result(true, out.data()).ok());
}

// Found by native/test/fuzz/fuzz_aggregate: with out = updates[0] (allowed) and a NaN in update 1,
// the culprit was searched after out had been written, so update 0 (overwritten with NaN) was
// blamed: an honest client named as the one that sent NaN.
TEST(weighted_sum_names_the_non_finite_update_when_out_aliases_an_update) {
  const int64_t dim = 5000;  // three column tiles
  Clients c = make_clients(3, dim, 4);
  c.data[1][4321] = std::numeric_limits<float>::quiet_NaN();
  int64_t bad = -2;
  CHECK(!dpfl::weighted_sum(c.ptrs.data(), 3, dim, c.weights.data(), false, c.data[0].data(), &bad).ok());
  CHECK_EQ(bad, int64_t(1));
}

// Found by native/test/fuzz/fuzz_aggregate (and issue 12, section 5): a float64 state beyond float32
// came back as +Inf with an OK status.
TEST(accumulator_result_beyond_float32_is_refused) {
  dpfl::Accumulator acc(2);
  const float big[2] = {1e30f, -1.0f};
  CHECK_OK(acc.add(big, 2, 1e12));
  std::vector<float> out(2);
  CHECK(!acc.result(false, out.data()).ok());
  CHECK_OK(acc.result(true, out.data()));  // the mean fits
  CHECK_EQ(out[0], 1e30f);
}

TEST(accumulator_add_many_equals_adds) {
  const int64_t dim = 70003;
  Clients c = make_clients(19, dim, 31);
  dpfl::Accumulator one(dim), many(dim);
  for (size_t k = 0; k < c.data.size(); ++k) CHECK_OK(one.add(c.data[k].data(), dim, c.weights[k]));
  int64_t bad = 0;
  CHECK_OK(many.add_many(c.ptrs.data(), c.weights.data(), 11, &bad));
  CHECK_OK(many.add_many(c.ptrs.data() + 11, c.weights.data() + 11, 8, &bad));
  CHECK_EQ(many.count(), int64_t(19));
  std::vector<float> a(dim), b(dim);
  CHECK_OK(one.result(true, a.data()));
  CHECK_OK(many.result(true, b.data()));
  CHECK(a == b);
  c.data[5][dim - 1] = std::numeric_limits<float>::quiet_NaN();
  CHECK(!many.add_many(c.ptrs.data(), c.weights.data(), 19, &bad).ok());
  CHECK_EQ(bad, int64_t(5));
  CHECK_EQ(many.count(), int64_t(19));
  std::vector<float> after(dim);
  CHECK_OK(many.result(true, after.data()));
  CHECK(after == b);
}

TEST(accumulator_refuses_non_finite_without_change) {
  dpfl::Accumulator acc(3);
  std::vector<float> good = {1, 2, 3}, bad = {1, std::numeric_limits<float>::infinity(), 3};
  CHECK_OK(acc.add(good.data(), 3, 2.0));
  CHECK(!acc.add(bad.data(), 3, 1.0).ok());
  CHECK(!acc.add(good.data(), 3, -1.0).ok());
  CHECK(!acc.add(good.data(), 2, 1.0).ok());
  CHECK_EQ(acc.count(), int64_t(1));
  CHECK_EQ(acc.total_weight(), 2.0);
  std::vector<float> out(3);
  CHECK_OK(acc.result(false, out.data()));
  CHECK(out == std::vector<float>({2, 4, 6}));
}

CHECK_MAIN()
