// libFuzzer target: weighted sums of client updates, one-shot (weighted_sum) and streaming
// (Accumulator: add, add_many, result, reset), native/cpu/aggregate.cpp. Properties: bad sizes or
// weights give a Status error; an update holding NaN/Inf is refused with bad_update = the first
// such index; a refused add leaves the state exactly as it was (all-or-nothing); a successful call
// never returns NaN/Inf; results equal a float64 reference within native/test/tolerances.h;
// add_many gives the same bits as the same adds one at a time; every ISA variant and thread count
// gives the same bits.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "dpfl/kernels.h"
#include "fuzz_input.h"

namespace {

struct Updates {
  std::vector<std::vector<float>> rows;
  std::vector<const float*> ptrs;
  std::vector<double> weights;
};

Updates decode_updates(fuzz::Input& in, int64_t count, int64_t dim) {
  Updates u;
  const int e = in.scale_exp();
  for (int64_t k = 0; k < count; ++k) {
    std::vector<float> row(static_cast<size_t>(dim));
    for (float& v : row) v = in.byte() < 250 ? in.value(e) : in.value(in.scale_exp());
    u.rows.push_back(std::move(row));
    u.weights.push_back(in.byte() % 4 == 0 ? in.real() : static_cast<double>(in.range(0, 9)));
  }
  for (auto& r : u.rows) u.ptrs.push_back(r.data());
  return u;
}

int64_t first_non_finite(const Updates& u) {
  for (size_t k = 0; k < u.rows.size(); ++k)
    if (!fuzz::all_finite(u.rows[k])) return static_cast<int64_t>(k);
  return -1;
}

bool weights_ok(const std::vector<double>& w) {
  for (double x : w)
    if (!std::isfinite(x) || x < 0.0) return false;
  return true;
}

// Checks out against Σ_k w_k u_k[d] (times inv) from a float64 state; returns false when the
// reference itself leaves float32 (then a refusal is the right answer).
bool reference_fits(const std::vector<double>& sum, const std::vector<double>& mag, double inv) {
  for (size_t d = 0; d < sum.size(); ++d)
    if (!std::isfinite(sum[d]) || !fuzz::fits_float(sum[d] * inv * (1 + 1e-6))) return false;
  (void)mag;
  return true;
}

void check_against(const char* what, const std::vector<float>& out, const std::vector<double>& sum,
                   const std::vector<double>& mag, double inv) {
  for (size_t d = 0; d < out.size(); ++d) {
    FUZZ_CHECK(std::isfinite(out[d]), "%s returned OK with out[%zu] = %g", what, d, out[d]);
    FUZZ_CHECK(fuzz::sum_close(out[d], sum[d] * inv, mag[d] * inv), "%s: out[%zu] = %.9g vs %.9g", what, d, out[d],
               sum[d] * inv);
  }
}

std::vector<float> one_shot(fuzz::Input& in, bool large) {
  const int64_t count = in.size(12);
  const int64_t dim = in.size(large ? 5000 : 64);
  const bool normalize = in.flag(), alias = in.flag();
  Updates u = decode_updates(in, std::max<int64_t>(count, 0), std::max<int64_t>(dim, 0));
  const int64_t bad_index = first_non_finite(u);
  double total = 0.0;
  for (double w : u.weights) total += w;
  const bool valid = count > 0 && dim > 0 && weights_ok(u.weights) && (!normalize || total > 0.0);
  std::vector<double> sum(static_cast<size_t>(std::max<int64_t>(dim, 0)), 0.0), mag = sum;
  for (int64_t k = 0; valid && k < count; ++k)
    for (int64_t d = 0; d < dim; ++d) {
      sum[d] += u.weights[k] * u.rows[k][d];
      mag[d] += std::fabs(u.weights[k] * u.rows[k][d]);
    }
  const double inv = normalize && valid ? 1.0 / total : 1.0;

  return fuzz::same_everywhere("weighted_sum", large, [&] {
    Updates v = u;  // out may alias update 0, so work on a copy
    for (size_t k = 0; k < v.rows.size(); ++k) v.ptrs[k] = v.rows[k].data();
    std::vector<float> own(static_cast<size_t>(std::max<int64_t>(dim, 0)), 7.0f);
    float* out = alias && count > 0 ? v.rows[0].data() : own.data();
    int64_t bad = -2;
    const dpfl::Status s = dpfl::weighted_sum(v.ptrs.data(), count, dim, u.weights.data(), normalize, out, &bad);
    std::vector<float> result(out, out + std::max<int64_t>(dim, 0));
    if (!valid) {
      FUZZ_CHECK(!s.ok(), "weighted_sum accepted count %lld dim %lld", (long long)count, (long long)dim);
      FUZZ_CHECK(bad == -1, "bad_update %lld for an argument error", (long long)bad);
    } else if (bad_index >= 0) {
      FUZZ_CHECK(!s.ok() && bad == bad_index, "weighted_sum: bad_update %lld, expected %lld", (long long)bad,
                 (long long)bad_index);
    } else if (s.ok()) {
      FUZZ_CHECK(bad == -1, "bad_update %lld on success", (long long)bad);
      check_against("weighted_sum", result, sum, mag, inv);
    } else {
      FUZZ_CHECK(!reference_fits(sum, mag, inv), "weighted_sum refused a sum that fits: %s", s.message);
    }
    result.push_back(static_cast<float>(s.code));
    result.push_back(static_cast<float>(bad));
    return result;
  });
}

// A sequence of operations on two accumulators: A folds each batch with add_many, B with one add
// per update; both must match the float64 reference state and each other bit for bit.
std::vector<float> streaming(fuzz::Input& in, bool large) {
  const int64_t dim = in.range(1, large ? 70000 : 40);
  const int ops = static_cast<int>(in.range(1, large ? 3 : 8));
  struct Op {
    int kind;
    int64_t n;
    bool normalize;
    Updates u;
  };
  std::vector<Op> plan;
  for (int i = 0; i < ops; ++i) {
    Op op{in.byte() % 4, 0, in.flag(), {}};
    const int64_t count = op.kind == 0 ? 1 : in.range(0, 10);
    op.n = in.byte() % 16 == 0 ? in.range(0, dim + 1) : dim;  // add: sometimes the wrong length
    op.u = decode_updates(in, op.kind <= 1 ? count : 0, large ? std::min<int64_t>(dim, 16) : dim);
    for (auto& r : op.u.rows) r.resize(static_cast<size_t>(dim), r.empty() ? 0.0f : r[0]);
    for (size_t k = 0; k < op.u.rows.size(); ++k) op.u.ptrs[k] = op.u.rows[k].data();
    plan.push_back(std::move(op));
  }

  return fuzz::same_everywhere("Accumulator", large, [&] {
    dpfl::Accumulator a(dim), b(dim);
    std::vector<double> sum(static_cast<size_t>(dim), 0.0), mag = sum;
    double total = 0.0;
    int64_t count = 0;
    std::vector<float> trace;
    for (const Op& op : plan) {
      if (op.kind == 0 || op.kind == 1) {
        // The reference state after the batch, and whether it may be applied.
        std::vector<double> next = sum, next_mag = mag;
        const size_t k_count = op.u.rows.size();
        bool finite = weights_ok(op.u.weights) && first_non_finite(op.u) < 0;
        for (size_t k = 0; finite && k < k_count; ++k)
          for (int64_t d = 0; d < dim; ++d) {
            next[d] += op.u.weights[k] * op.u.rows[k][d];
            next_mag[d] += std::fabs(op.u.weights[k] * op.u.rows[k][d]);
          }
        for (double v : next) finite = finite && std::isfinite(v);
        dpfl::Status sa;
        bool b_ok = true;
        if (op.kind == 0) {
          sa = a.add(op.u.ptrs[0], op.n, op.u.weights[0]);
          b_ok = b.add(op.u.ptrs[0], op.n, op.u.weights[0]).ok();
          if (op.n != dim)
            FUZZ_CHECK(!sa.ok(), "add accepted length %lld for dim %lld", (long long)op.n, (long long)dim);
        } else {
          int64_t bad = -2;
          sa = a.add_many(op.u.ptrs.data(), op.u.weights.data(), static_cast<int64_t>(k_count), &bad);
          const int64_t want_bad = weights_ok(op.u.weights) ? first_non_finite(op.u) : -1;
          FUZZ_CHECK(sa.ok() || bad == want_bad || (want_bad < 0 && bad == -1), "add_many: bad_update %lld vs %lld",
                     (long long)bad, (long long)want_bad);
          // B: the same updates one at a time, on a copy so a refusal midway can be undone.
          dpfl::Accumulator c = b;
          for (size_t k = 0; k < k_count && b_ok; ++k) b_ok = c.add(op.u.ptrs[k], dim, op.u.weights[k]).ok();
          if (b_ok) b = c;
        }
        const bool applies = finite && (op.kind == 1 || op.n == dim);
        if (sa.ok()) {
          FUZZ_CHECK(applies, "an add with a non-finite update, weight or sum was accepted");
          sum = next;
          mag = next_mag;
          for (double w : op.u.weights) total += w;
          count += static_cast<int64_t>(k_count);
        } else {
          FUZZ_CHECK(!applies, "a finite add was refused: %s", sa.message);
        }
        FUZZ_CHECK(b_ok == sa.ok() || op.kind == 1, "add and add_many disagree");
        trace.push_back(static_cast<float>(sa.code));
      } else if (op.kind == 2) {
        std::vector<float> out_a(static_cast<size_t>(dim), 7.0f), out_b = out_a;
        const dpfl::Status sa = a.result(op.normalize, out_a.data());
        const dpfl::Status sb = b.result(op.normalize, out_b.data());
        FUZZ_CHECK(sa.ok() == sb.ok(), "result: add_many and add states disagree");
        const bool can = !op.normalize || total > 0.0;
        const double inv = op.normalize && total > 0.0 ? 1.0 / total : 1.0;
        if (!can) {
          FUZZ_CHECK(!sa.ok(), "result normalized a zero total weight");
        } else if (sa.ok()) {
          FUZZ_CHECK(fuzz::same_bits(out_a, out_b), "add_many and one-at-a-time adds give different bits");
          check_against("Accumulator::result", out_a, sum, mag, inv);
        } else {
          FUZZ_CHECK(!reference_fits(sum, mag, inv), "result refused a state that fits float32: %s", sa.message);
        }
        FUZZ_CHECK(a.count() == count && a.total_weight() == total, "count/total_weight out of step");
        trace.insert(trace.end(), out_a.begin(), out_a.end());
      } else {
        a.reset();
        b.reset();
        std::fill(sum.begin(), sum.end(), 0.0);
        std::fill(mag.begin(), mag.end(), 0.0);
        total = 0.0;
        count = 0;
      }
    }
    return trace;
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const bool streaming_mode = in.flag();
  const bool large = in.byte() == 0xa5;  // rare, and neither 0 (inputs that run out) nor 0xff
  if (streaming_mode) {
    streaming(in, large);
  } else {
    one_shot(in, large);
  }
  return 0;
}
