// libFuzzer target: the neural-network kernels of native/cpu/nn_*.cpp. Properties: bad sizes,
// labels, offsets or indices give a Status error; dense forward/backward, embedding bags, softmax
// cross-entropy and activations equal a float64 reference within tolerances.h (float32 sums:
// Higham's gamma_k); ghost norms equal the norm of the per-example gradient that the backward
// kernels materialise, and book-keeping with the ghost-norm scales bounds every example's
// contribution by C (the ghost-clipping privacy claim); SGD and Adam follow their formulas in
// optim_loops.h bit for bit and refuse bad hyper-parameters; every ISA variant gives the same bits.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

#include "dpfl/kernels.h"
#include "dpfl/nn.h"
#include "fuzz_input.h"

namespace nn = dpfl::nn;

namespace {

// Finite values only: the nn kernels have no NaN policy of their own (the clipping after them has).
std::vector<float> finite_floats(fuzz::Input& in, int64_t n) {
  std::vector<float> v = in.floats(n);
  for (float& x : v)
    if (!std::isfinite(x)) x = 0.5f;
  return v;
}

// |got - ref| <= (k + 2)·u·mag for a float32 sum of k terms; skipped when float32 overflows.
void check_fsum(const char* what, float got, double ref, double mag, int64_t k, int64_t i, double slack = 0.0) {
  if (!fuzz::fits_float(mag * (1 + 1e-6))) return;
  const double bound = (static_cast<double>(k) + 2.0) * tol::kFloatUnitRoundoff * mag + 1e-44 * (k + 2) + slack;
  FUZZ_CHECK(std::fabs(got - ref) <= bound, "%s[%lld] = %.9g, reference %.9g (mag %.3g, k %lld)", what, (long long)i,
             got, ref, mag, (long long)k);
}

double sq(const float* x, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return s;
}

void dense(fuzz::Input& in) {
  const int64_t batch = in.range(-1, 9), din = in.size(24), dout = in.size(40);
  const bool with_bias = in.flag();
  const bool sizes_ok = batch >= 0 && din > 0 && dout > 0;
  const int64_t b = std::max<int64_t>(batch, 0), i_n = std::max<int64_t>(din, 0), o_n = std::max<int64_t>(dout, 0);
  const std::vector<float> x = finite_floats(in, b * i_n), w = finite_floats(in, i_n * o_n),
                           bias = finite_floats(in, o_n), dy = finite_floats(in, b * o_n);
  const float* biasp = with_bias ? bias.data() : nullptr;

  // Forward: Y = X·W + b.
  std::vector<float> y = fuzz::same_everywhere("dense_forward", false, [&] {
    std::vector<float> out(static_cast<size_t>(b * o_n), 9.0f);
    const dpfl::Status s = nn::dense_forward(x.data(), w.data(), biasp, out.data(), batch, din, dout);
    FUZZ_CHECK(s.ok() == sizes_ok, "dense_forward: status %d for batch %lld in %lld out %lld", (int)s.code,
               (long long)batch, (long long)din, (long long)dout);
    return out;
  });
  if (!sizes_ok) return;
  for (int64_t r = 0; r < b; ++r)
    for (int64_t j = 0; j < o_n; ++j) {
      double ref = with_bias ? bias[j] : 0.0, mag = std::fabs(ref);
      for (int64_t p = 0; p < i_n; ++p) {
        ref += static_cast<double>(x[r * i_n + p]) * w[p * o_n + j];
        mag += std::fabs(static_cast<double>(x[r * i_n + p]) * w[p * o_n + j]);
      }
      check_fsum("dense_forward", y[r * o_n + j], ref, mag, i_n + 1, r * o_n + j);
    }

  // Input gradient: dX = dY·Wᵀ.
  std::vector<float> dx = fuzz::same_everywhere("dense_backward_input", false, [&] {
    std::vector<float> out(static_cast<size_t>(b * i_n), 9.0f);
    FUZZ_CHECK(nn::dense_backward_input(dy.data(), w.data(), out.data(), batch, din, dout).ok(), "refused");
    return out;
  });
  for (int64_t r = 0; r < b; ++r)
    for (int64_t p = 0; p < i_n; ++p) {
      double ref = 0.0, mag = 0.0;
      for (int64_t j = 0; j < o_n; ++j) {
        ref += static_cast<double>(dy[r * o_n + j]) * w[p * o_n + j];
        mag += std::fabs(static_cast<double>(dy[r * o_n + j]) * w[p * o_n + j]);
      }
      check_fsum("dense_backward_input", dx[r * i_n + p], ref, mag, o_n, r * i_n + p);
    }

  // Ghost norms against the per-example gradient that dense_backward_params materialises.
  std::vector<double> ghost(static_cast<size_t>(b), -1.0);
  FUZZ_CHECK(nn::dense_ghost_sqnorms(x.data(), dy.data(), ghost.data(), batch, din, dout, with_bias).ok(), "refused");
  std::vector<float> scale(static_cast<size_t>(b));
  const double c = in.byte() % 2 ? std::ldexp(1.0, static_cast<int>(in.range(-20, 20))) : 1.0;
  for (int64_t r = 0; r < b; ++r) {
    std::vector<float> dw(static_cast<size_t>(i_n * o_n)), db(static_cast<size_t>(o_n));
    FUZZ_CHECK(nn::dense_backward_params(x.data() + r * i_n, dy.data() + r * o_n, nullptr, dw.data(),
                                         with_bias ? db.data() : nullptr, 1, din, dout, false)
                   .ok(),
               "refused");
    const double g = sq(dw.data(), i_n * o_n) + (with_bias ? sq(db.data(), o_n) : 0.0);
    const double ref =
        sq(x.data() + r * i_n, i_n) * sq(dy.data() + r * o_n, o_n) + (with_bias ? sq(dy.data() + r * o_n, o_n) : 0.0);
    FUZZ_CHECK(std::fabs(ghost[r] - ref) <= 1e-12 * ref, "ghost %.17g vs %.17g", ghost[r], ref);
    // Each element of dw is one float32 rounding of x·dy (or underflows below FLT_MIN).
    if (std::isfinite(g) && ref < 1e70 && ref > 1e-60)
      FUZZ_CHECK(std::fabs(g - ghost[r]) <= 4 * tol::kNormRtol * ghost[r] + 1e-80, "ghost %.9g vs materialised %.9g",
                 ghost[r], g);
    // The scale as a careful caller stores it in float32: rounded down, so s·norm <= C survives the
    // rounding (round-to-nearest can round up; below FLT_MIN by up to 2x).
    const double want = std::min(1.0, c / (std::sqrt(ghost[r]) + dpfl::kClipEpsilon));
    float sr = static_cast<float>(want);
    if (sr > want) sr = std::nextafter(sr, 0.0f);
    scale[r] = sr;
    // The example's share as the kernel computes it (batch 1, row scale s_r) has norm <= C. The GEMM
    // forms (x·s)·dy in float32: where x·s underflows it keeps an absolute accuracy of 2^-150 only,
    // so the share may exceed C by up to 2^-150·|dy| per element (seen only with norms ~1e30·C);
    // checked where the scale itself is a normal float.
    if (sr >= std::numeric_limits<float>::min() && std::isfinite(g) && ref < 1e70) {
      std::vector<float> share(static_cast<size_t>(i_n * o_n) + o_n);
      FUZZ_CHECK(nn::dense_backward_params(x.data() + r * i_n, dy.data() + r * o_n, &scale[r], share.data(),
                                           with_bias ? share.data() + i_n * o_n : nullptr, 1, din, dout, false)
                     .ok(),
                 "refused");
      const double norm = std::sqrt(sq(share.data(), static_cast<int64_t>(share.size())));
      // Plus the underflow of x·s in float32 (absolute 2^-150 per product, times |dy|).
      const double underflow = 0x1p-149 * std::sqrt(static_cast<double>(i_n) * sq(dy.data() + r * o_n, o_n));
      FUZZ_CHECK(norm <= c * (1 + 4 * tol::kNormRtol) + underflow + 1e-38,
                 "example %lld: clipped gradient norm %.9g > C = %g", (long long)r, norm, c);
    }
  }
  // Book-keeping: dW = Σ_r s_r x_r ⊗ dy_r; each example's share has norm <= C.
  std::vector<float> dw = fuzz::same_everywhere("dense_backward_params", false, [&] {
    std::vector<float> out(static_cast<size_t>(i_n * o_n) + o_n, 0.25f);
    FUZZ_CHECK(nn::dense_backward_params(x.data(), dy.data(), scale.data(), out.data(), out.data() + i_n * o_n, batch,
                                         din, dout, true)
                   .ok(),
               "refused");
    return out;
  });
  for (int64_t r = 0; r < b; ++r) {
    const double contrib = scale[r] * std::sqrt(ghost[r]);
    FUZZ_CHECK(contrib <= c * (1 + 4 * tol::kNormRtol), "example %lld contributes %.9g > C = %g", (long long)r, contrib,
               c);
  }
  for (int64_t p = 0; p < i_n; ++p)
    for (int64_t j = 0; j < o_n; ++j) {
      double ref = 0.25, mag = 0.25, slack = 0.0;
      for (int64_t r = 0; r < b; ++r) {
        const double t = static_cast<double>(scale[r]) * x[r * i_n + p] * dy[r * o_n + j];
        // The kernel forms (x·s)·dy in float32: when x·s underflows (s below ~1e-38 happens when a norm is
        // ~1e38), it keeps only an absolute accuracy of 2^-150, times |dy|.
        slack += 0x1p-149 * (std::fabs(dy[r * o_n + j]) + std::fabs(x[r * i_n + p]));
        ref += t;
        mag += std::fabs(t);
      }
      check_fsum("dense_backward_params", dw[p * o_n + j], ref, mag, b + 1, p * o_n + j, slack);
    }
}

void embedding(fuzz::Input& in) {
  const int64_t rows = in.size(30), dim = in.size(12), batch = in.range(-1, 8);
  const bool weighted = in.flag(), with_bias = in.flag(), corrupt = in.byte() % 8 == 0;
  const int64_t tokens = in.range(0, 40);
  std::vector<int32_t> offsets(static_cast<size_t>(std::max<int64_t>(batch, 0) + 1));
  std::vector<int32_t> indices(static_cast<size_t>(tokens));
  for (int32_t& i : indices)
    i = static_cast<int32_t>(corrupt ? in.range(-2, rows + 1) : in.range(0, std::max<int64_t>(rows - 1, 0)));
  for (size_t r = 0; r < offsets.size(); ++r)
    offsets[r] = static_cast<int32_t>(corrupt ? in.range(-1, tokens + 1) : in.range(0, tokens));
  if (!corrupt) std::sort(offsets.begin(), offsets.end());
  const int64_t r_n = std::max<int64_t>(rows, 0), d_n = std::max<int64_t>(dim, 0), b_n = std::max<int64_t>(batch, 0);
  const std::vector<float> table = finite_floats(in, r_n * d_n), weights = finite_floats(in, tokens),
                           bias = finite_floats(in, d_n), dout = finite_floats(in, b_n * d_n);
  const nn::Bags bags{indices.data(), offsets.data(), weighted ? weights.data() : nullptr, batch, tokens};

  bool valid = rows > 0 && dim > 0 && batch >= 0 && offsets[0] >= 0;
  for (int64_t r = 1; valid && r <= batch; ++r) valid = offsets[r] >= offsets[r - 1];
  valid = valid && offsets[b_n] <= tokens;
  for (int64_t t = valid ? offsets[0] : 0; valid && t < offsets[b_n]; ++t) valid = indices[t] >= 0 && indices[t] < rows;

  std::vector<float> out(static_cast<size_t>(b_n * d_n), 9.0f);
  const dpfl::Status s =
      nn::embedding_bag_forward(table.data(), rows, dim, bags, with_bias ? bias.data() : nullptr, out.data());
  FUZZ_CHECK(s.ok() == valid, "embedding_bag_forward: status %d for valid = %d", (int)s.code, valid);
  std::vector<float> dtable(static_cast<size_t>(r_n * d_n), 0.0f);
  const dpfl::Status sb = nn::embedding_bag_backward(dout.data(), rows, dim, bags, nullptr, dtable.data());
  FUZZ_CHECK(sb.ok() == valid, "embedding_bag_backward: status %d for valid = %d", (int)sb.code, valid);
  std::vector<double> ghost(static_cast<size_t>(b_n), -1.0);
  const dpfl::Status sg = nn::embedding_bag_ghost_sqnorms(dout.data(), rows, dim, bags, ghost.data());
  FUZZ_CHECK(sg.ok() == valid, "embedding_bag_ghost_sqnorms: status %d for valid = %d", (int)sg.code, valid);
  if (!valid) {
    for (float v : out) FUZZ_CHECK(v == 9.0f, "embedding_bag_forward wrote before refusing");
    for (float v : dtable) FUZZ_CHECK(v == 0.0f, "embedding_bag_backward wrote before refusing");
    return;
  }
  std::vector<double> ref_dt(dtable.size(), 0.0), mag_dt(dtable.size(), 0.0);
  std::vector<int64_t> hits(static_cast<size_t>(r_n), 0);
  for (int64_t r = 0; r < b_n; ++r) {
    const int64_t t0 = offsets[r], t1 = offsets[r + 1], len = t1 - t0;
    std::map<int32_t, double> coeff;
    for (int64_t d = 0; d < d_n; ++d) {
      double ref = with_bias ? bias[d] : 0.0, mag = std::fabs(ref);
      for (int64_t t = t0; t < t1; ++t) {
        const double w = weighted ? weights[t] : static_cast<double>(1.0f / static_cast<float>(len));
        ref += w * table[indices[t] * d_n + d];
        mag += std::fabs(w * table[indices[t] * d_n + d]);
      }
      check_fsum("embedding_bag_forward", out[r * d_n + d], ref, mag, len + 1, r * d_n + d);
    }
    for (int64_t t = t0; t < t1; ++t) {
      const double w = weighted ? weights[t] : 1.0 / static_cast<double>(len);
      coeff[indices[t]] += w;
      ++hits[indices[t]];
      for (int64_t d = 0; d < d_n; ++d) {
        ref_dt[indices[t] * d_n + d] += w * dout[r * d_n + d];
        mag_dt[indices[t] * d_n + d] += std::fabs(w * dout[r * d_n + d]);
      }
    }
    double c2 = 0.0;
    for (const auto& kv : coeff) c2 += kv.second * kv.second;
    const double ref_ghost = c2 * sq(dout.data() + r * d_n, d_n);
    FUZZ_CHECK(std::fabs(ghost[r] - ref_ghost) <= 1e-9 * ref_ghost + 1e-300, "embedding ghost %.17g vs %.17g", ghost[r],
               ref_ghost);
  }
  for (int64_t j = 0; j < r_n; ++j)
    for (int64_t d = 0; d < d_n; ++d)
      check_fsum("embedding_bag_backward", dtable[j * d_n + d], ref_dt[j * d_n + d], mag_dt[j * d_n + d], hits[j] + 1,
                 j * d_n + d);
}

void optimizers(fuzz::Input& in) {
  const int64_t n = in.range(-1, 40);
  const bool adam = in.flag(), with_velocity = in.flag();
  auto hyper = [&] { return in.byte() % 8 == 0 ? in.real() : static_cast<double>(in.range(0, 255)) / 256.0; };
  const double lr = hyper(), b1 = hyper(), b2 = hyper(), eps = in.byte() % 4 ? 1e-8 : in.real(), wd = hyper(),
               gs = hyper();
  const int64_t t = in.range(-1, 1000);
  const int64_t n_n = std::max<int64_t>(n, 0);
  const std::vector<float> p0 = finite_floats(in, n_n), g = finite_floats(in, n_n), m0 = finite_floats(in, n_n);
  std::vector<float> v0 = finite_floats(in, n_n);
  for (float& v : v0) v = std::fabs(v);  // Adam's second moment is non-negative
  const bool fin = std::isfinite(lr) && std::isfinite(wd) && std::isfinite(gs);
  const bool valid =
      n >= 0 && fin && (adam ? b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1 && eps > 0 && t >= 1 : std::isfinite(b1));
  dpfl::Status s;
  const std::vector<float> got = fuzz::same_everywhere("optimizer update", false, [&] {
    std::vector<float> p = p0, m = m0, v = v0;
    s = adam ? nn::adam_update(p.data(), g.data(), m.data(), v.data(), n, lr, b1, b2, eps, wd, gs, t)
             : nn::sgd_update(p.data(), g.data(), with_velocity ? m.data() : nullptr, n, lr, b1, wd, gs);
    p.insert(p.end(), m.begin(), m.end());
    p.insert(p.end(), v.begin(), v.end());
    return p;
  });
  FUZZ_CHECK(s.ok() == valid, "%s: status %d for valid = %d", adam ? "adam_update" : "sgd_update", (int)s.code, valid);
  if (!valid) return;
  // The formulas of optim_loops.h, evaluated here independently.
  const double c1 = 1.0 - std::pow(b1, static_cast<double>(t)), c2 = 1.0 - std::pow(b2, static_cast<double>(t));
  for (int64_t i = 0; i < n_n; ++i) {
    float p = p0[i], m = m0[i], v = v0[i];
    if (adam) {
      const double gi = gs * g[i] + wd * p;
      m = static_cast<float>(b1 * m + (1.0 - b1) * gi);
      v = static_cast<float>(b2 * v + (1.0 - b2) * gi * gi);
      p = static_cast<float>(p - lr * (m / c1) / (std::sqrt(v / c2) + eps));
    } else if (with_velocity) {
      const float gi = static_cast<float>(gs * g[i] + wd * p);
      m = static_cast<float>(b1 * m + gi);
      p = static_cast<float>(p - lr * m);
    } else {
      p = static_cast<float>(p - lr * (gs * g[i] + wd * p));
    }
    const float want[3] = {p, m, v};
    const float have[3] = {got[i], got[n_n + i], got[2 * n_n + i]};
    FUZZ_CHECK(std::memcmp(want, have, sizeof want) == 0 || (std::isnan(p) && std::isnan(have[0])),
               "update %lld: p %.9g m %.9g v %.9g, expected %.9g %.9g %.9g", (long long)i, have[0], have[1], have[2], p,
               m, v);
  }
}

void loss_and_activations(fuzz::Input& in) {
  const int64_t batch = in.range(-1, 6), classes = in.range(-1, 12);
  const int64_t b_n = std::max<int64_t>(batch, 0), c_n = std::max<int64_t>(classes, 0);
  std::vector<float> z = finite_floats(in, b_n * c_n);
  for (float& v : z) v = std::max(-1e4f, std::min(1e4f, v));  // exp of the spread stays representable
  std::vector<int32_t> labels(static_cast<size_t>(b_n));
  bool valid = batch >= 0 && classes >= 1;
  for (int32_t& l : labels) {
    l = static_cast<int32_t>(in.byte() % 16 == 0 ? in.range(-1, c_n) : in.range(0, std::max<int64_t>(c_n - 1, 0)));
    valid = valid && l >= 0 && l < classes;
  }
  std::vector<float> loss(static_cast<size_t>(b_n)), dz(static_cast<size_t>(b_n * c_n));
  const dpfl::Status s = nn::softmax_cross_entropy(z.data(), labels.data(), loss.data(), dz.data(), batch, classes);
  FUZZ_CHECK(s.ok() == valid, "softmax_cross_entropy: status %d for valid = %d", (int)s.code, valid);
  for (int64_t r = 0; valid && r < b_n; ++r) {
    double zmax = -INFINITY, sum = 0.0, dsum = 0.0;
    for (int64_t c = 0; c < c_n; ++c) zmax = std::max(zmax, static_cast<double>(z[r * c_n + c]));
    for (int64_t c = 0; c < c_n; ++c) sum += std::exp(z[r * c_n + c] - zmax);
    const double ref = std::log(sum) - (z[r * c_n + labels[r]] - zmax);
    FUZZ_CHECK(std::fabs(loss[r] - ref) <= 1e-6 * std::fabs(ref) + 1e-6, "loss %.9g vs %.9g", loss[r], ref);
    FUZZ_CHECK(loss[r] >= 0.0f, "negative cross-entropy %.9g", loss[r]);
    for (int64_t c = 0; c < c_n; ++c) {
      const double p = std::exp(z[r * c_n + c] - zmax) / sum - (c == labels[r] ? 1.0 : 0.0);
      FUZZ_CHECK(std::fabs(dz[r * c_n + c] - p) <= 1e-7, "dlogits %.9g vs %.9g", dz[r * c_n + c], p);
      dsum += dz[r * c_n + c];
    }
    FUZZ_CHECK(std::fabs(dsum) <= 1e-6 * static_cast<double>(c_n), "dlogits of a row sum to %g", dsum);
  }
  // Activations, in place half the time.
  const int64_t n = in.range(-1, 64);
  const nn::Activation f = in.flag() ? nn::Activation::kRelu : nn::Activation::kTanh;
  std::vector<float> x = finite_floats(in, std::max<int64_t>(n, 0)), y(x.size()),
                     dy = finite_floats(in, std::max<int64_t>(n, 0));
  FUZZ_CHECK(nn::activation_forward(f, x.data(), y.data(), n).ok() == (n >= 0), "activation_forward status");
  std::vector<float> dx(x.size());
  FUZZ_CHECK(nn::activation_backward(f, y.data(), dy.data(), dx.data(), n).ok() == (n >= 0),
             "activation_backward status");
  FUZZ_CHECK(!nn::activation_forward(static_cast<nn::Activation>(7), x.data(), y.data(), n).ok() || n == 0 || n < 0,
             "an unknown activation was accepted");
  for (size_t i = 0; n > 0 && i < x.size(); ++i) {
    if (f == nn::Activation::kRelu) {
      FUZZ_CHECK(y[i] == (x[i] > 0 ? x[i] : 0.0f) && dx[i] == (y[i] > 0 ? dy[i] : 0.0f), "relu at %zu", i);
    } else {
      const double t = std::tanh(static_cast<double>(x[i]));
      FUZZ_CHECK(std::fabs(y[i] - t) <= 2.5e-7 * std::fabs(t) + 1e-45, "tanh(%.9g) = %.9g vs %.9g", x[i], y[i], t);
      const float want = dy[i] * (1.0f - y[i] * y[i]);
      FUZZ_CHECK(std::memcmp(&dx[i], &want, 4) == 0 || (std::isnan(want) && std::isnan(dx[i])), "tanh backward at %zu",
                 i);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  switch (in.byte() % 4) {
    case 0:
      dense(in);
      break;
    case 1:
      embedding(in);
      break;
    case 2:
      optimizers(in);
      break;
    default:
      loss_and_activations(in);
  }
  return 0;
}
