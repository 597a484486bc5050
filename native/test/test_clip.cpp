// Per-sample clipping against a float64 reference.
#include <algorithm>
#include <limits>
#include <vector>

#include "check.h"
#include "dpfl/kernels.h"
#include "tolerances.h"

namespace {

struct Reference {
  std::vector<double> sum, norms, group_norms;
  int64_t clipped = 0, non_finite = 0;
};

// Straightforward float64 clipping, one row and one group at a time.
Reference reference(const std::vector<float>& g, int64_t batch, int64_t dim, const std::vector<int64_t>& ends,
                    const std::vector<double>& max_norms) {
  const size_t groups = ends.size();
  Reference r;
  r.sum.assign(dim, 0.0);
  r.norms.assign(batch, 0.0);
  r.group_norms.assign(batch * groups, 0.0);
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<double> scale(groups);
    bool finite = true, clipped = false;
    double total = 0;
    int64_t begin = 0;
    for (size_t k = 0; k < groups; ++k) {
      double sq = 0;
      for (int64_t d = begin; d < ends[k]; ++d) sq += double(g[b * dim + d]) * g[b * dim + d];
      r.group_norms[b * groups + k] = std::sqrt(sq);
      total += sq;
      finite = finite && std::isfinite(sq);
      scale[k] = std::min(1.0, max_norms[k] / (std::sqrt(sq) + dpfl::kClipEpsilon));
      clipped = clipped || scale[k] < 1.0;
      begin = ends[k];
    }
    r.norms[b] = std::sqrt(total);
    if (!finite) {
      ++r.non_finite;
      continue;
    }
    if (clipped) ++r.clipped;
    begin = 0;
    for (size_t k = 0; k < groups; ++k) {
      for (int64_t d = begin; d < ends[k]; ++d) r.sum[d] += scale[k] * g[b * dim + d];
      begin = ends[k];
    }
  }
  return r;
}

void check_case(int64_t batch, int64_t dim, std::vector<int64_t> ends, std::vector<double> max_norms, uint32_t seed) {
  std::vector<float> g = check::random_floats(batch * dim, seed, 0.3f);
  // Zero rows and tiny rows exercise the epsilon and the unclipped path.
  if (batch > 2) std::fill(g.begin() + dim, g.begin() + 2 * dim, 0.0f);
  const Reference ref = reference(g, batch, dim, ends, max_norms);
  std::vector<float> sum(dim, -7.0f), norms(batch, -7.0f), group_norms(batch * ends.size(), -7.0f);
  dpfl::ClipStats stats;
  CHECK_OK(dpfl::clip_and_sum(g.data(), batch, dim, {ends.data(), int64_t(ends.size())}, max_norms.data(), sum.data(),
                              norms.data(), group_norms.data(), &stats));
  CHECK_EQ(stats.clipped, ref.clipped);
  CHECK_EQ(stats.non_finite, ref.non_finite);
  // Scale of the summands bounds the cancellation error of the float32 rounding.
  for (int64_t d = 0; d < dim; ++d) CHECK_CLOSE(sum[d], ref.sum[d], tol::kSumAtol, tol::kSumRtol);
  for (int64_t b = 0; b < batch; ++b) CHECK_CLOSE(norms[b], ref.norms[b], 0, tol::kNormRtol);
  for (size_t i = 0; i < group_norms.size(); ++i) CHECK_CLOSE(group_norms[i], ref.group_norms[i], 0, tol::kNormRtol);

  // per_sample_norms agrees with the norms clip_and_sum reported, bit for bit.
  std::vector<float> norms2(batch), group_norms2(batch * ends.size());
  CHECK_OK(dpfl::per_sample_norms(g.data(), batch, dim, {ends.data(), int64_t(ends.size())}, norms2.data(),
                                  group_norms2.data()));
  CHECK(norms2 == norms);
  CHECK(group_norms2 == group_norms);
}

}  // namespace

TEST(flat_clipping_odd_sizes) {
  const int64_t sizes[][2] = {{1, 1}, {1, 19}, {3, 111}, {19, 989}, {7, 2048}, {5, 2049}, {4, 5000}};
  uint32_t seed = 1;
  for (auto& s : sizes) {
    for (double c : {0.05, 1.0, 100.0}) check_case(s[0], s[1], {s[1]}, {c}, seed++);
  }
}

TEST(grouped_clipping) {
  // Groups of size 1, groups straddling the 2048-column tile, many small groups.
  check_case(3, 5, {1, 2, 3, 4, 5}, {0.1, 0.2, 0.3, 0.4, 0.5}, 11);
  check_case(6, 4100, {1, 2047, 2049, 4096, 4100}, {0.5, 1.0, 2.0, 0.01, 3.0}, 12);
  check_case(19, 989, {100, 989}, {0.7, 0.7}, 13);
  check_case(1, 7, {7}, {0.3}, 14);
}

TEST(non_finite_rows_contribute_zero) {
  const int64_t batch = 4, dim = 9;
  std::vector<float> g = check::random_floats(batch * dim, 5);
  g[1 * dim + 3] = std::numeric_limits<float>::quiet_NaN();
  g[3 * dim + 8] = std::numeric_limits<float>::infinity();
  std::vector<int64_t> ends = {dim};
  std::vector<double> c = {10.0};
  std::vector<float> sum(dim), norms(batch);
  dpfl::ClipStats stats;
  CHECK_OK(
      dpfl::clip_and_sum(g.data(), batch, dim, {ends.data(), 1}, c.data(), sum.data(), norms.data(), nullptr, &stats));
  CHECK_EQ(stats.non_finite, int64_t(2));
  CHECK_EQ(stats.clipped, int64_t(0));
  for (int64_t d = 0; d < dim; ++d) {
    CHECK(std::isfinite(sum[d]));
    CHECK_CLOSE(sum[d], double(g[d]) + double(g[2 * dim + d]), tol::kSumAtol, tol::kSumRtol);
  }
  CHECK(std::isnan(norms[1]));
  CHECK(std::isinf(norms[3]));
}

// Per-variable blocks: the norms equal, bit for bit, those of the interleaved matrix with groups
// ending at the block ends (the same float64 sums, added in the same order), and the clipped sum
// matches the float64 reference of flat clipping. One block is wider than a pass-one segment.
TEST(blocks_match_the_interleaved_matrix) {
  const int64_t batch = 5;
  const std::vector<int64_t> widths = {7, 0, (1 << 18) + 3, 1, 2050};
  std::vector<std::vector<float>> blocks;
  std::vector<const float*> data;
  std::vector<int64_t> ends;
  int64_t dim = 0;
  for (size_t k = 0; k < widths.size(); ++k) {
    blocks.push_back(check::random_floats(batch * widths[k], uint32_t(11 + k), 0.01f));
    data.push_back(widths[k] == 0 ? nullptr : blocks.back().data());
    dim += widths[k];
    if (widths[k] > 0) ends.push_back(dim);
  }
  std::vector<float> g(batch * dim);
  for (int64_t b = 0, c = 0; b < batch; ++b) {
    for (size_t k = 0; k < widths.size(); ++k) {
      std::copy_n(blocks[k].begin() + b * widths[k], widths[k], g.begin() + c);
      c += widths[k];
    }
  }
  const dpfl::Blocks bl{data.data(), widths.data(), int64_t(widths.size())};
  std::vector<float> norms(batch), matrix_norms(batch), matrix_sum(dim);
  CHECK_OK(dpfl::per_sample_norms_blocks(bl, batch, norms.data()));
  const std::vector<double> huge(ends.size(), 1e30);
  dpfl::ClipStats stats;
  CHECK_OK(dpfl::clip_and_sum(g.data(), batch, dim, {ends.data(), int64_t(ends.size())}, huge.data(), matrix_sum.data(),
                              matrix_norms.data(), nullptr, &stats));
  CHECK(norms == matrix_norms);

  const double c = 0.5 * matrix_norms[0];
  const std::vector<int64_t> flat = {dim};
  const Reference ref = reference(g, batch, dim, flat, {c});
  std::vector<std::vector<float>> sums;
  std::vector<float*> sum_ptrs;
  for (int64_t w : widths) sums.emplace_back(w, -7.0f);
  for (auto& s : sums) sum_ptrs.push_back(s.data());
  std::vector<float> norms2(batch);
  CHECK_OK(dpfl::clip_and_sum_blocks(bl, batch, c, sum_ptrs.data(), norms2.data(), &stats));
  CHECK(norms2 == norms);
  CHECK_EQ(stats.clipped, ref.clipped);
  CHECK_EQ(stats.non_finite, int64_t(0));
  for (size_t k = 0, d = 0; k < widths.size(); ++k) {
    for (int64_t j = 0; j < widths[k]; ++j, ++d) CHECK_CLOSE(sums[k][j], ref.sum[d], tol::kSumAtol, tol::kSumRtol);
  }

  // A NaN in one block drops the whole example from every block's sum.
  blocks[2][1 * widths[2] + 9] = std::numeric_limits<float>::quiet_NaN();
  CHECK_OK(dpfl::clip_and_sum_blocks(bl, batch, c, sum_ptrs.data(), norms2.data(), &stats));
  CHECK_EQ(stats.non_finite, int64_t(1));
  CHECK(std::isnan(norms2[1]));
  for (size_t k = 0; k < widths.size(); ++k) {
    for (float v : sums[k]) CHECK(std::isfinite(v));
  }
}

TEST(blocks_reject_bad_arguments) {
  std::vector<float> x(4, 1.0f), sum(2), norms(2);
  const float* data[2] = {x.data(), nullptr};
  float* sums[2] = {sum.data(), nullptr};
  const int64_t widths[2] = {2, 0}, zero[2] = {0, 0}, negative[2] = {2, -1}, missing[2] = {2, 2};
  dpfl::ClipStats s;
  CHECK(!dpfl::per_sample_norms_blocks({data, widths, 2}, 0, norms.data()).ok());
  CHECK(!dpfl::per_sample_norms_blocks({data, zero, 2}, 2, norms.data()).ok());
  CHECK(!dpfl::per_sample_norms_blocks({data, negative, 2}, 2, norms.data()).ok());
  CHECK(!dpfl::per_sample_norms_blocks({data, missing, 2}, 2, norms.data()).ok());
  CHECK(!dpfl::per_sample_norms_blocks({data, widths, 0}, 2, norms.data()).ok());
  CHECK(!dpfl::clip_and_sum_blocks({data, widths, 2}, 2, 0.0, sums, norms.data(), &s).ok());
  CHECK(!dpfl::clip_and_sum_blocks({data, missing, 2}, 2, 1.0, sums, norms.data(), &s).ok());
  CHECK_OK(dpfl::clip_and_sum_blocks({data, widths, 2}, 2, 1.0, sums, nullptr, &s));
}

TEST(clip_rejects_bad_arguments) {
  std::vector<float> g(6, 1.0f), sum(3), norms(2);
  std::vector<int64_t> ends = {3}, bad_ends = {2, 2, 3}, short_ends = {2};
  std::vector<double> c = {1.0}, neg = {-1.0}, nan = {std::nan("")}, c3 = {1, 1, 1};
  dpfl::ClipStats s;
  CHECK(!dpfl::clip_and_sum(g.data(), 0, 3, {ends.data(), 1}, c.data(), sum.data(), norms.data(), nullptr, &s).ok());
  CHECK(!dpfl::clip_and_sum(g.data(), 2, 0, {ends.data(), 1}, c.data(), sum.data(), norms.data(), nullptr, &s).ok());
  CHECK(!dpfl::clip_and_sum(g.data(), 2, 3, {ends.data(), 1}, neg.data(), sum.data(), norms.data(), nullptr, &s).ok());
  CHECK(!dpfl::clip_and_sum(g.data(), 2, 3, {ends.data(), 1}, nan.data(), sum.data(), norms.data(), nullptr, &s).ok());
  CHECK(
      !dpfl::clip_and_sum(g.data(), 2, 3, {bad_ends.data(), 3}, c3.data(), sum.data(), norms.data(), nullptr, &s).ok());
  CHECK(!dpfl::clip_and_sum(g.data(), 2, 3, {short_ends.data(), 1}, c.data(), sum.data(), norms.data(), nullptr, &s)
             .ok());
}

// Found by native/test/fuzz/fuzz_clip: two finite rows of norm 3e38 under C = 3e38 summed to -inf
// and the call returned OK, so an infinite "clipped" sum reached the caller.
TEST(clipped_sum_beyond_float32_is_refused) {
  const float big = 3e38f;
  std::vector<float> g = {big, -big, big, -big};
  std::vector<int64_t> ends = {2};
  std::vector<double> c = {4e38};
  std::vector<float> sum(2);
  dpfl::ClipStats stats;
  const dpfl::Status s =
      dpfl::clip_and_sum(g.data(), 2, 2, {ends.data(), 1}, c.data(), sum.data(), nullptr, nullptr, &stats);
  CHECK(!s.ok());
  CHECK(s.code == dpfl::StatusCode::kInvalidArgument);
}

TEST(clip_by_norm_scales_to_the_bound) {
  std::vector<float> x = {3.0f, 4.0f};
  double norm = 0, scale = 0;
  CHECK_OK(dpfl::clip_by_norm(x.data(), 2, 1.0, &norm, &scale));
  CHECK_CLOSE(norm, 5.0, 0, 1e-15);
  CHECK_CLOSE(scale, 1.0 / (5.0 + dpfl::kClipEpsilon), 0, 1e-15);
  CHECK_CLOSE(x[0], 3.0 * scale, 0, 1e-7);
  CHECK_CLOSE(x[1], 4.0 * scale, 0, 1e-7);
  std::vector<float> small = {0.1f, 0.0f};
  CHECK_OK(dpfl::clip_by_norm(small.data(), 2, 1.0, &norm, &scale));
  CHECK_EQ(scale, 1.0);
  CHECK_EQ(small[0], 0.1f);
  std::vector<float> bad = {1.0f, std::numeric_limits<float>::quiet_NaN()};
  CHECK(!dpfl::clip_by_norm(bad.data(), 2, 1.0, &norm, &scale).ok());
  CHECK_EQ(bad[0], 1.0f);  // untouched
}

CHECK_MAIN()
