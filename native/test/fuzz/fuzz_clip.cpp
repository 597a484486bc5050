// libFuzzer target: per-sample norms, per-sample clipping and the clipped sum (flat and per
// group), and clipping one vector to a norm (native/cpu/clip.cpp). Properties checked on every
// input: bad sizes, groups or norms give a Status error and leave the outputs untouched; norms
// and sums equal a float64 reference within native/test/tolerances.h; each clipped row (and so
// every example's contribution to the sum) has norm <= C per group; rows with NaN/Inf are counted
// and contribute zero; a successful call never returns a non-finite sum; results are bit-identical
// across ISA variants and thread counts.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "dpfl/kernels.h"
#include "fuzz_input.h"

namespace {

constexpr float kSentinel = 12345.0f;

struct Case {
  int64_t batch = 0, dim = 0;
  std::vector<int64_t> ends;
  std::vector<double> max_norms;
  std::vector<float> grads;
  bool valid_groups = true;
};

Case decode(fuzz::Input& in, bool large) {
  Case c;
  c.batch = in.size(large ? 6 : 17);
  c.dim = in.size(large ? 5000 : 64);
  const int64_t groups = in.range(1, 5);
  if (in.byte() % 8 == 0) {
    // Arbitrary (usually invalid) end offsets.
    for (int64_t g = 0; g < groups; ++g) c.ends.push_back(in.range(-2, std::max<int64_t>(c.dim + 2, 3)));
  } else {
    // Strictly increasing cuts ending at dim (fewer groups when dim is small).
    for (int64_t g = 0; g + 1 < groups && c.dim > 1; ++g) c.ends.push_back(in.range(1, c.dim - 1));
    std::sort(c.ends.begin(), c.ends.end());
    c.ends.erase(std::unique(c.ends.begin(), c.ends.end()), c.ends.end());
    c.ends.push_back(c.dim);
  }
  int64_t prev = 0;
  for (int64_t e : c.ends) {
    c.valid_groups = c.valid_groups && e > prev;
    prev = e;
  }
  c.valid_groups = c.valid_groups && prev == c.dim;
  for (size_t g = 0; g < c.ends.size(); ++g) c.max_norms.push_back(in.real());
  if (c.batch > 0 && c.dim > 0) c.grads = in.floats(c.batch * c.dim);
  return c;
}

struct Reference {
  std::vector<double> group_sq;  // batch x groups
  std::vector<double> scale;     // batch x groups (0 for non-finite rows)
  std::vector<bool> finite;
  int64_t non_finite = 0, clipped_lo = 0, clipped_hi = 0;
};

Reference reference(const Case& c) {
  const int64_t G = static_cast<int64_t>(c.ends.size());
  Reference r;
  r.group_sq.assign(static_cast<size_t>(c.batch * G), 0.0);
  r.scale.assign(static_cast<size_t>(c.batch * G), 0.0);
  for (int64_t b = 0; b < c.batch; ++b) {
    int64_t begin = 0;
    bool finite = true, lo = false, hi = false;
    for (int64_t g = 0; g < G; ++g) {
      double sq = 0.0;
      for (int64_t d = begin; d < c.ends[g]; ++d) {
        const double v = c.grads[b * c.dim + d];
        sq += v * v;
      }
      begin = c.ends[g];
      r.group_sq[b * G + g] = sq;
      finite = finite && std::isfinite(sq);
    }
    r.finite.push_back(finite);
    if (!finite) {
      ++r.non_finite;
      continue;
    }
    for (int64_t g = 0; g < G; ++g) {
      const double f = std::min(1.0, c.max_norms[g] / (std::sqrt(r.group_sq[b * G + g]) + dpfl::kClipEpsilon));
      r.scale[b * G + g] = f;
      // The kernel sums squares in another order: a scale within 1e-12 of 1 may fall either way.
      lo = lo || f < 1.0 - 1e-12;
      hi = hi || f < 1.0 + 1e-12;
    }
    r.clipped_lo += lo;
    r.clipped_hi += hi;
  }
  return r;
}

bool norm_close(float got, double ref) {
  if (!fuzz::fits_float(ref)) return std::isinf(got);
  return std::fabs(got - ref) <= tol::kNormRtol * ref + std::numeric_limits<float>::denorm_min();
}

void check_norms(const Case& c, const Reference& r, const std::vector<float>& norms,
                 const std::vector<float>& group_norms) {
  const int64_t G = static_cast<int64_t>(c.ends.size());
  for (int64_t b = 0; b < c.batch; ++b) {
    double total = 0.0;
    for (int64_t g = 0; g < G; ++g) {
      total += r.group_sq[b * G + g];
      if (!group_norms.empty()) {
        const double ref = std::sqrt(r.group_sq[b * G + g]);
        if (std::isfinite(ref)) {
          FUZZ_CHECK(norm_close(group_norms[b * G + g], ref), "group norm %lld,%lld: %.9g vs %.9g", (long long)b,
                     (long long)g, group_norms[b * G + g], ref);
        } else {
          FUZZ_CHECK(!std::isfinite(group_norms[b * G + g]), "group norm of a non-finite group is finite");
        }
      }
    }
    if (norms.empty()) continue;
    if (std::isfinite(total)) {
      FUZZ_CHECK(norm_close(norms[b], std::sqrt(total)), "norm %lld: %.9g vs %.9g", (long long)b, norms[b],
                 std::sqrt(total));
    } else {
      FUZZ_CHECK(!std::isfinite(norms[b]), "norm of a non-finite row is finite");
    }
  }
}

void fuzz_clip_and_sum(const Case& c, fuzz::Input& in, bool large) {
  const int64_t G = static_cast<int64_t>(c.ends.size());
  const bool want_norms = in.flag(), want_group = in.flag();
  bool valid = c.batch > 0 && c.dim > 0 && c.valid_groups;
  for (double m : c.max_norms) valid = valid && m > 0.0 && std::isfinite(m);
  const size_t dim = static_cast<size_t>(std::max<int64_t>(c.dim, 0));
  const size_t batch = static_cast<size_t>(std::max<int64_t>(c.batch, 0));

  struct Out {
    std::vector<float> sum, norms, group_norms;
    dpfl::ClipStats stats;
    dpfl::Status status;
  } out;
  const auto bits = fuzz::same_everywhere("clip_and_sum", large, [&] {
    out.sum.assign(dim, kSentinel);
    out.norms.assign(want_norms ? batch : 0, kSentinel);
    out.group_norms.assign(want_group ? batch * G : 0, kSentinel);
    out.stats = {};
    out.status = dpfl::clip_and_sum(c.grads.empty() ? nullptr : c.grads.data(), c.batch, c.dim, {c.ends.data(), G},
                                    c.max_norms.data(), out.sum.data(), want_norms ? out.norms.data() : nullptr,
                                    want_group ? out.group_norms.data() : nullptr, &out.stats);
    std::vector<float> all = out.sum;
    all.insert(all.end(), out.norms.begin(), out.norms.end());
    all.insert(all.end(), out.group_norms.begin(), out.group_norms.end());
    all.push_back(static_cast<float>(out.stats.clipped));
    all.push_back(static_cast<float>(out.stats.non_finite));
    all.push_back(static_cast<float>(out.status.code));
    return all;
  });
  (void)bits;
  if (!valid) {
    FUZZ_CHECK(!out.status.ok(), "clip_and_sum accepted batch %lld dim %lld (groups valid %d)", (long long)c.batch,
               (long long)c.dim, c.valid_groups);
    for (float v : out.sum) FUZZ_CHECK(v == kSentinel, "clip_and_sum wrote its output before refusing");
    return;
  }
  if (!out.status.ok()) {
    // The only refusal of valid arguments: a clipped sum beyond float32 (see kernels.h).
    FUZZ_CHECK(out.status.code == dpfl::StatusCode::kInvalidArgument, "clip_and_sum: %s", out.status.message);
  }
  const Reference r = reference(c);
  FUZZ_CHECK(out.stats.non_finite == r.non_finite || !out.status.ok(), "non_finite %lld vs %lld",
             (long long)out.stats.non_finite, (long long)r.non_finite);
  if (out.status.ok()) {
    FUZZ_CHECK(out.stats.clipped >= r.clipped_lo && out.stats.clipped <= r.clipped_hi,
               "clipped %lld outside [%lld, %lld]", (long long)out.stats.clipped, (long long)r.clipped_lo,
               (long long)r.clipped_hi);
    check_norms(c, r, want_norms ? out.norms : std::vector<float>(),
                want_group ? out.group_norms : std::vector<float>());
  }
  // The clipped sum against the float64 reference, and the sensitivity bound per group:
  // ‖sum_g‖ <= Σ_b min(‖x_bg‖, C_g), with one float32 rounding per coordinate of slack.
  bool fits = true;
  int64_t begin = 0;
  for (int64_t g = 0; g < G; ++g) {
    double bound = 0.0, sq_got = 0.0;
    for (int64_t b = 0; b < c.batch; ++b)
      if (r.finite[b]) bound += r.scale[b * G + g] * std::sqrt(r.group_sq[b * G + g]);
    for (int64_t d = begin; d < c.ends[g]; ++d) {
      double ref = 0.0, mag = 0.0;
      for (int64_t b = 0; b < c.batch; ++b) {
        const double t = r.scale[b * G + g] * c.grads[b * c.dim + d];
        if (!r.finite[b]) continue;
        ref += t;
        mag += std::fabs(t);
      }
      fits = fits && fuzz::fits_float(ref * (1 + 1e-6));
      if (!out.status.ok()) continue;
      FUZZ_CHECK(std::isfinite(out.sum[d]), "clip_and_sum returned OK with sum[%lld] = %g (reference %.9g)",
                 (long long)d, out.sum[d], ref);
      FUZZ_CHECK(fuzz::sum_close(out.sum[d], ref, mag), "sum[%lld] = %.9g, reference %.9g (mag %.3g)", (long long)d,
                 out.sum[d], ref, mag);
      sq_got += static_cast<double>(out.sum[d]) * out.sum[d];
    }
    if (out.status.ok()) {
      FUZZ_CHECK(std::sqrt(sq_got) <= bound * (1 + 4 * tol::kNormRtol) + 1e-38,
                 "group %lld: clipped sum norm %.9g exceeds the bound %.9g (C = %g)", (long long)g, std::sqrt(sq_got),
                 bound, c.max_norms[g]);
      if (c.batch == 1 && r.finite[0]) {
        FUZZ_CHECK(std::sqrt(sq_got) <= c.max_norms[g] * (1 + 4 * tol::kNormRtol) + 1e-38,
                   "group %lld: a clipped row has norm %.9g > C = %g", (long long)g, std::sqrt(sq_got), c.max_norms[g]);
      }
    }
    begin = c.ends[g];
  }
  if (fits) FUZZ_CHECK(out.status.ok(), "clip_and_sum refused a sum that fits float32: %s", out.status.message);
}

void fuzz_norms(const Case& c, fuzz::Input& in) {
  const int64_t G = static_cast<int64_t>(c.ends.size());
  const bool want_group = in.flag();
  const bool valid = c.batch > 0 && c.dim > 0 && c.valid_groups;
  const size_t batch = static_cast<size_t>(std::max<int64_t>(c.batch, 0));
  std::vector<float> norms(batch, kSentinel), group_norms(want_group ? batch * G : 0, kSentinel);
  const dpfl::Status s =
      dpfl::per_sample_norms(c.grads.empty() ? nullptr : c.grads.data(), c.batch, c.dim, {c.ends.data(), G},
                             norms.data(), want_group ? group_norms.data() : nullptr);
  FUZZ_CHECK(s.ok() == valid, "per_sample_norms: status %d for valid = %d", static_cast<int>(s.code), valid);
  if (!valid) {
    for (float v : norms) FUZZ_CHECK(v == kSentinel, "per_sample_norms wrote before refusing");
    return;
  }
  check_norms(c, reference(c), norms, group_norms);
}

void fuzz_clip_by_norm(fuzz::Input& in) {
  const int64_t n = in.size(300);
  const double max_norm = in.real();
  std::vector<float> x = in.floats(n);
  const std::vector<float> x0 = x;
  const bool valid = n > 0 && max_norm > 0.0 && std::isfinite(max_norm);
  double norm = -1.0, scale = -1.0;
  const dpfl::Status s = dpfl::clip_by_norm(x.empty() ? nullptr : x.data(), n, max_norm, &norm, &scale);
  if (!valid || !fuzz::all_finite(x0)) {
    FUZZ_CHECK(!s.ok(), "clip_by_norm accepted n %lld, C %g, finite %d", (long long)n, max_norm, fuzz::all_finite(x0));
    FUZZ_CHECK(fuzz::same_bits(x, x0), "clip_by_norm modified x before refusing");
    return;
  }
  FUZZ_CHECK(s.ok(), "clip_by_norm refused valid input: %s", s.message);
  double sq = 0.0;
  for (float v : x0) sq += static_cast<double>(v) * v;
  const double ref_norm = std::sqrt(sq);
  const double ref_scale = std::min(1.0, max_norm / (ref_norm + dpfl::kClipEpsilon));
  FUZZ_CHECK(std::fabs(norm - ref_norm) <= 1e-12 * ref_norm, "norm %.17g vs %.17g", norm, ref_norm);
  FUZZ_CHECK(std::fabs(scale - ref_scale) <= 1e-12 * ref_scale, "scale %.17g vs %.17g", scale, ref_scale);
  double out_sq = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double ref = ref_scale * x0[i];
    FUZZ_CHECK(fuzz::sum_close(x[i], ref, std::fabs(ref)), "x[%lld] = %.9g vs %.9g", (long long)i, x[i], ref);
    out_sq += static_cast<double>(x[i]) * x[i];
  }
  FUZZ_CHECK(std::sqrt(out_sq) <= max_norm * (1 + 4 * tol::kNormRtol) + 1e-38, "clipped norm %.9g > C = %g",
             std::sqrt(out_sq), max_norm);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const uint8_t mode = in.byte();
  const bool large = in.byte() % 16 == 15;  // not 0: inputs that run out read zeros
  switch (mode % 3) {
    case 0: {
      const Case c = decode(in, large);
      fuzz_clip_and_sum(c, in, large);
      break;
    }
    case 1: {
      const Case c = decode(in, large);
      fuzz_norms(c, in);
      break;
    }
    default:
      fuzz_clip_by_norm(in);
  }
  return 0;
}
