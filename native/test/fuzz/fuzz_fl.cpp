// libFuzzer target: the federated-learning kernels of native/cpu/fl_robust.cpp and fl_secagg.cpp.
// Robust aggregation: coordinate median and trimmed mean against a sort-based float64 reference
// (the median exactly, the trimmed mean within tolerances.h), NaN/Inf refused with bad_update =
// the first such update, bad trims refused, the same bits for every thread count. Secure
// aggregation: quantize/dequantize against their formulas (out untouched on refusal), masks that
// cancel (add then subtract is the identity; pairwise masks vanish in sum_mod), sums mod 2^32, and
// the whole protocol (quantize, mask, sum, dequantize) against the plain sum. Krum, multi-Krum and
// Bulyan: the papers' conditions on K, f and keep, NaN/Inf refused by index, each selection step
// taking a best-scored update under a float64 reference (within rounding of the distance sums),
// the output as the reference rule over the selected updates, the same bits for every thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "dpfl/fl.h"
#include "fuzz_input.h"

namespace {

constexpr uint32_t kSentinel = 0xdeadbeefu;

// K updates of D values at one magnitude (large: D repeats a 32-value pattern, cheap to check),
// their pointers, and the first holding NaN/Inf (-1 if none).
struct Updates {
  std::vector<std::vector<float>> rows;
  std::vector<const float*> ptrs;
  int64_t first_bad = -1;
};

Updates read_updates(fuzz::Input& in, int64_t count, int64_t dim, bool large) {
  Updates u;
  const int e = in.scale_exp();
  for (int64_t k = 0; k < count; ++k) {
    std::vector<float> r(static_cast<size_t>(std::max<int64_t>(dim, 0)));
    for (size_t d = 0; d < r.size(); ++d) r[d] = large && d >= 32 ? r[d % 32] : in.value(e);
    u.rows.push_back(std::move(r));
  }
  for (auto& r : u.rows) u.ptrs.push_back(r.data());
  for (int64_t k = 0; k < count && u.first_bad < 0; ++k)
    if (!fuzz::all_finite(u.rows[k])) u.first_bad = k;
  return u;
}

void robust(fuzz::Input& in, bool large) {
  const int64_t count = in.size(15);
  const int64_t dim = in.size(large ? 5000 : 48);
  const bool median = in.flag();
  const int64_t trim = in.range(-1, 8);
  const Updates u = read_updates(in, count, dim, large);
  const std::vector<std::vector<float>>& rows = u.rows;
  const std::vector<const float*>& ptrs = u.ptrs;
  const int64_t first_bad = u.first_bad;
  const bool valid = count > 0 && dim > 0 && (median || (trim >= 0 && 2 * trim < count));

  int64_t bad = -2;
  dpfl::Status s;
  const std::vector<float> out = fuzz::same_everywhere(median ? "coordinate_median" : "trimmed_mean", large, [&] {
    std::vector<float> o(static_cast<size_t>(std::max<int64_t>(dim, 0)), 7.0f);
    s = median ? dpfl::coordinate_median(ptrs.empty() ? nullptr : ptrs.data(), count, dim, o.data(), &bad)
               : dpfl::trimmed_mean(ptrs.empty() ? nullptr : ptrs.data(), count, dim, trim, o.data(), &bad);
    if (!s.ok()) o.clear();  // out is unspecified after a refusal (blocks stop early)
    o.push_back(static_cast<float>(s.code));
    o.push_back(static_cast<float>(bad));
    return o;
  });
  if (!valid) {
    FUZZ_CHECK(!s.ok() && bad == -1, "robust aggregation accepted count %lld dim %lld trim %lld", (long long)count,
               (long long)dim, (long long)trim);
    return;
  }
  if (first_bad >= 0) {
    FUZZ_CHECK(!s.ok() && bad == first_bad, "bad_update %lld, expected %lld", (long long)bad, (long long)first_bad);
    return;
  }
  FUZZ_CHECK(s.ok() && bad == -1, "robust aggregation refused finite input: %s", s.message);
  std::vector<float> col(static_cast<size_t>(count));
  for (int64_t d = 0; d < dim; ++d) {
    for (int64_t k = 0; k < count; ++k) col[k] = rows[k][d];
    std::sort(col.begin(), col.end());
    if (median) {
      const int64_t mid = count / 2;
      const float want =
          count % 2 == 1 ? col[mid] : static_cast<float>((static_cast<double>(col[mid - 1]) + col[mid]) * 0.5);
      FUZZ_CHECK(out[d] == want, "median[%lld] = %.9g, expected %.9g", (long long)d, out[d], want);
    } else {
      double sum = 0.0, mag = 0.0;
      for (int64_t k = trim; k < count - trim; ++k) {
        sum += col[k];
        mag += std::fabs(col[k]);
      }
      const double n = static_cast<double>(count - 2 * trim);
      FUZZ_CHECK(fuzz::sum_close(out[d], sum / n, mag / n), "trimmed_mean[%lld] = %.9g, expected %.9g", (long long)d,
                 out[d], sum / n);
      FUZZ_CHECK(out[d] >= col[trim] && out[d] <= col[count - trim - 1], "trimmed mean outside the kept values");
    }
  }
}

// Reference Krum score of a: its `closest` smallest distances to the other `neighbours`, summed.
double score_ref(const std::vector<std::vector<double>>& dist, const std::vector<int64_t>& neighbours, int64_t a,
                 int64_t closest) {
  std::vector<double> row;
  for (int64_t b : neighbours)
    if (b != a) row.push_back(dist[a][b]);
  std::sort(row.begin(), row.end());
  double s = 0.0;
  for (int64_t c = 0; c < closest; ++c) s += row[c];
  return s;
}

// True when `picked` has the smallest score among `candidates`, up to the rounding of the kernel's
// distances (the same float64 sums in another order: error ~ D·2^-53 of each).
bool best_scored(const std::vector<std::vector<double>>& dist, const std::vector<int64_t>& candidates,
                 const std::vector<int64_t>& neighbours, int64_t picked, int64_t closest, int64_t dim) {
  const double mine = score_ref(dist, neighbours, picked, closest);
  for (int64_t a : candidates) {
    const double other = score_ref(dist, neighbours, a, closest);
    if (mine > other + 1e-12 * static_cast<double>(dim) * std::max(mine, other) + 1e-300) return false;
  }
  return true;
}

void krum_rules(fuzz::Input& in, bool large) {
  const int rule = static_cast<int>(in.range(0, 2));  // 0 Krum, 1 multi-Krum, 2 Bulyan
  const int64_t count = in.size(large ? 40 : 16);
  const int64_t dim = in.size(large ? 3000 : 24);
  const int64_t f = in.range(-1, 4);
  const int64_t keep = in.range(-1, 16);
  const Updates u = read_updates(in, count, dim, large);
  const std::vector<std::vector<float>>& rows = u.rows;
  const std::vector<const float*>& ptrs = u.ptrs;
  const int64_t first_bad = u.first_bad;
  bool valid = count > 0 && dim > 0 && f >= 0;
  if (rule == 2)
    valid = valid && count >= 4 * f + 3;
  else
    valid = valid && count > 2 * f + 2 && (rule == 0 || (keep >= 1 && keep <= count - f));
  const int64_t picks = !valid ? 0 : rule == 0 ? 1 : rule == 1 ? keep : count - 2 * f;

  int64_t bad = -2;
  dpfl::Status s;
  std::vector<int64_t> selected;
  const char* names[] = {"krum", "multi_krum", "bulyan"};
  const std::vector<float> out = fuzz::same_everywhere(names[rule], large, [&] {
    std::vector<float> o(static_cast<size_t>(std::max<int64_t>(dim, 0)), 7.0f);
    selected.assign(static_cast<size_t>(std::max<int64_t>(picks, 1)), -1);
    const float* const* u = ptrs.empty() ? nullptr : ptrs.data();
    s = rule == 0   ? dpfl::krum(u, count, dim, f, o.data(), selected.data(), &bad)
        : rule == 1 ? dpfl::multi_krum(u, count, dim, f, keep, o.data(), selected.data(), &bad)
                    : dpfl::bulyan(u, count, dim, f, o.data(), selected.data(), &bad);
    if (!s.ok()) o.clear();
    o.push_back(static_cast<float>(s.code));
    o.push_back(static_cast<float>(bad));
    for (int64_t i : selected) o.push_back(static_cast<float>(i));
    return o;
  });
  if (!valid) {
    FUZZ_CHECK(!s.ok() && bad == -1, "%s accepted count %lld dim %lld f %lld keep %lld", names[rule], (long long)count,
               (long long)dim, (long long)f, (long long)keep);
    return;
  }
  if (first_bad >= 0) {
    FUZZ_CHECK(!s.ok() && bad == first_bad, "bad_update %lld, expected %lld", (long long)bad, (long long)first_bad);
    return;
  }
  FUZZ_CHECK(s.ok() && bad == -1, "%s refused finite input: %s", names[rule], s.message);
  std::vector<std::vector<double>> dist(count, std::vector<double>(count, 0.0));
  for (int64_t i = 0; i < count; ++i)
    for (int64_t j = 0; j < count; ++j)
      for (int64_t d = 0; d < dim; ++d) {
        const double x = static_cast<double>(rows[i][d]) - rows[j][d];
        dist[i][j] += x * x;
      }
  std::vector<int64_t> remaining(count);
  for (int64_t k = 0; k < count; ++k) remaining[k] = k;
  const std::vector<int64_t> all = remaining;
  std::vector<int64_t> seen(count, 0);
  for (int64_t p = 0; p < picks; ++p) {
    const int64_t i = selected[p];
    FUZZ_CHECK(i >= 0 && i < count && !seen[i]++, "%s selected %lld twice or out of range", names[rule], (long long)i);
    // Krum and multi-Krum score against all updates once; Bulyan re-scores the remaining ones.
    const int64_t n = static_cast<int64_t>(remaining.size());
    const int64_t closest = rule == 2 ? std::min(n - 1, std::max<int64_t>(1, n - f - 2)) : count - f - 2;
    FUZZ_CHECK(best_scored(dist, remaining, rule == 2 ? remaining : all, i, closest, dim),
               "%s step %lld picked %lld, not a best score", names[rule], (long long)p, (long long)i);
    remaining.erase(std::find(remaining.begin(), remaining.end(), i));
  }
  for (int64_t d = 0; d < dim; ++d) {
    std::vector<double> col;
    for (int64_t p = 0; p < picks; ++p) col.push_back(rows[selected[p]][d]);
    std::sort(col.begin(), col.end());
    double sum = 0.0, mag = 0.0;
    size_t lo = 0, hi = col.size();
    if (rule == 2) {
      // The beta = theta - 2f values nearest the median, the lower value on a tie.
      const size_t n = col.size();
      const double med = n % 2 ? col[n / 2] : (col[n / 2 - 1] + col[n / 2]) * 0.5;
      hi = std::upper_bound(col.begin(), col.end(), med) - col.begin();
      lo = hi;
      while (static_cast<int64_t>(hi - lo) < count - 4 * f) {
        if (hi >= n || (lo > 0 && med - col[lo - 1] <= col[hi] - med)) {
          --lo;
        } else {
          ++hi;
        }
      }
    }
    for (size_t i = lo; i < hi; ++i) {
      sum += col[i];
      mag += std::fabs(col[i]);
    }
    const double n = static_cast<double>(hi - lo);
    if (rule == 0) {
      FUZZ_CHECK(out[d] == rows[selected[0]][d], "krum did not copy the selected update at %lld", (long long)d);
    } else {
      FUZZ_CHECK(fuzz::sum_close(out[d], sum / n, mag / n), "%s[%lld] = %.9g, expected %.9g", names[rule], (long long)d,
                 out[d], sum / n);
    }
  }
}

dpfl::ChaChaKey key_from(fuzz::Input& in) {
  dpfl::ChaChaKey k;
  for (uint32_t& w : k.k) w = in.u32();
  return k;
}

void quantize(fuzz::Input& in) {
  const int64_t n = in.size(200);
  const double scale = in.byte() % 4 == 0 ? in.real() : std::ldexp(1.0, static_cast<int>(in.range(-10, 30)));
  const std::vector<float> x = in.floats(n);
  std::vector<uint32_t> q(static_cast<size_t>(std::max<int64_t>(n, 0)), kSentinel);
  int64_t bad = -2;
  const dpfl::Status s = dpfl::quantize_fixed(x.empty() ? nullptr : x.data(), n, scale, q.data(), &bad);
  const bool valid = n > 0 && std::isfinite(scale) && scale > 0.0;
  int64_t want_bad = -1;
  for (int64_t i = 0; valid && i < n && want_bad < 0; ++i)
    if (!(std::fabs(static_cast<double>(x[i]) * scale) < 2147483647.5)) want_bad = i;
  if (!valid || want_bad >= 0) {
    FUZZ_CHECK(!s.ok() && bad == want_bad, "quantize_fixed: bad_index %lld, expected %lld", (long long)bad,
               (long long)want_bad);
    for (uint32_t v : q) FUZZ_CHECK(v == kSentinel, "quantize_fixed wrote before refusing");
    return;
  }
  FUZZ_CHECK(s.ok(), "quantize_fixed refused: %s", s.message);
  std::vector<float> back(static_cast<size_t>(n));
  FUZZ_CHECK(dpfl::dequantize_fixed(q.data(), n, scale, back.data()).ok(), "dequantize_fixed refused");
  for (int64_t i = 0; i < n; ++i) {
    const double r = std::nearbyint(static_cast<double>(x[i]) * scale);
    FUZZ_CHECK(q[i] == static_cast<uint32_t>(static_cast<int64_t>(r)), "q[%lld] = %u for %.9g", (long long)i, q[i],
               x[i]);
    FUZZ_CHECK(std::fabs(r) <= 2147483647.0, "quantized value beyond 2^31 - 1");
    // The round trip loses at most half a quantum plus one float32 rounding.
    const double err = std::fabs(static_cast<double>(back[i]) - x[i]);
    FUZZ_CHECK(err <= 0.5 / scale * (1 + 1e-9) + tol::kNormRtol * std::fabs(x[i]) + 1e-45,
               "round trip of %.9g at scale %g gave %.9g", x[i], scale, back[i]);
  }
}

void dequantize(fuzz::Input& in) {
  const int64_t n = in.size(200);
  const double scale = in.real();
  std::vector<uint32_t> q(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (uint32_t& v : q) v = in.u32();
  std::vector<float> out(q.size(), 7.0f);
  const dpfl::Status s = dpfl::dequantize_fixed(q.empty() ? nullptr : q.data(), n, scale, out.data());
  const bool valid = n > 0 && std::isfinite(scale) && scale > 0.0;
  FUZZ_CHECK(s.ok() == valid, "dequantize_fixed: status %d for valid = %d", static_cast<int>(s.code), valid);
  for (int64_t i = 0; valid && i < n; ++i) {
    const double want = static_cast<double>(static_cast<int32_t>(q[i])) / scale;
    if (!fuzz::fits_float(want)) continue;  // scale below ~1e-30 with a large q: float32 cannot hold it
    FUZZ_CHECK(fuzz::sum_close(out[i], want, std::fabs(want)), "dequantize[%lld] = %.9g, expected %.9g", (long long)i,
               out[i], want);
  }
}

void masks_and_sums(fuzz::Input& in, bool large) {
  const int64_t clients = in.range(1, large ? 2 : 5);
  const int64_t n = large ? in.range(65536, 70000) : in.size(70);  // large: two 64 Ki work items
  const uint64_t stream = in.u64();
  const double scale = std::ldexp(1.0, static_cast<int>(in.range(0, 16)));  // |x·scale| <= 127·2^22
  // Pairwise keys: client i adds the mask of (i, j) for j > i and subtracts it for j < i.
  std::vector<dpfl::ChaChaKey> keys;
  for (int64_t p = 0; p < clients * clients; ++p) keys.push_back(key_from(in));
  const int e = static_cast<int>(in.range(-8, 6));
  std::vector<std::vector<float>> x;
  for (int64_t c = 0; c < clients; ++c) {
    std::vector<float> v(static_cast<size_t>(std::max<int64_t>(n, 0)));
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = i < 64 ? std::ldexp(static_cast<float>(static_cast<int8_t>(in.byte())), e) : v[i % 64];
    x.push_back(std::move(v));
  }
  if (n <= 0) {
    uint32_t dummy = 0;
    const uint32_t* one = &dummy;
    FUZZ_CHECK(!dpfl::apply_mask(&dummy, n, keys[0], stream, false).ok(), "apply_mask accepted n = %lld", (long long)n);
    FUZZ_CHECK(!dpfl::sum_mod(&one, 1, n, &dummy).ok(), "sum_mod accepted n = %lld", (long long)n);
    return;
  }
  std::vector<std::vector<uint32_t>> masked;
  int64_t bad = -2;
  for (int64_t c = 0; c < clients; ++c) {
    std::vector<uint32_t> q(static_cast<size_t>(n));
    FUZZ_CHECK(dpfl::quantize_fixed(x[c].data(), n, scale, q.data(), &bad).ok(), "quantize_fixed refused");
    const std::vector<uint32_t> plain = q;
    for (int64_t j = 0; j < clients; ++j) {
      if (j == c) continue;
      const dpfl::ChaChaKey& k = keys[std::min(c, j) * clients + std::max(c, j)];
      FUZZ_CHECK(dpfl::apply_mask(q.data(), n, k, stream, j < c).ok(), "apply_mask refused");
    }
    if (c == 0 && clients > 1) {
      // Word i of the mask stream, as documented (sampled, to keep large inputs cheap).
      const dpfl::ChaChaKey& k = keys[1];
      std::vector<uint32_t> once = plain;
      FUZZ_CHECK(dpfl::apply_mask(once.data(), n, k, stream, false).ok(), "apply_mask refused");
      for (int64_t i = 0; i < n; i += 1 + i / 8)
        FUZZ_CHECK(once[i] == plain[i] + dpfl::mask_word(k, stream, static_cast<uint64_t>(i)), "mask word %lld",
                   (long long)i);
      FUZZ_CHECK(dpfl::apply_mask(once.data(), n, k, stream, true).ok(), "apply_mask refused");
      FUZZ_CHECK(fuzz::same_bits(once, plain), "adding then subtracting a mask is not the identity");
    }
    masked.push_back(std::move(q));
  }
  std::vector<const uint32_t*> ptrs;
  for (auto& m : masked) ptrs.push_back(m.data());
  // out aliases vectors[0] (allowed) on a copy of the inputs.
  std::vector<uint32_t> total = fuzz::same_everywhere("sum_mod", large, [&] {
    std::vector<std::vector<uint32_t>> v = masked;
    std::vector<const uint32_t*> p;
    for (auto& m : v) p.push_back(m.data());
    FUZZ_CHECK(dpfl::sum_mod(p.data(), clients, n, v[0].data()).ok(), "sum_mod refused");
    return v[0];
  });
  std::vector<float> agg(static_cast<size_t>(n));
  FUZZ_CHECK(dpfl::dequantize_fixed(total.data(), n, scale, agg.data()).ok(), "dequantize_fixed refused");
  for (int64_t i = 0; i < n; i += large ? 1 + i / 16 : 1) {
    int64_t want_q = 0;
    double want = 0.0;
    for (int64_t c = 0; c < clients; ++c) {
      want_q += static_cast<int64_t>(std::nearbyint(static_cast<double>(x[c][i]) * scale));
      want += x[c][i];
    }
    uint32_t sum = 0;
    for (int64_t c = 0; c < clients; ++c) sum += masked[c][i];
    FUZZ_CHECK(total[i] == sum, "sum_mod[%lld] = %u, expected %u", (long long)i, total[i], sum);
    if (std::llabs(want_q) >= (int64_t{1} << 31)) continue;  // the protocol's contract excludes overflow
    FUZZ_CHECK(static_cast<int32_t>(total[i]) == want_q, "masks did not cancel at %lld", (long long)i);
    FUZZ_CHECK(std::fabs(agg[i] - want) <= clients * 0.5 / scale + tol::kNormRtol * std::fabs(want),
               "secure sum[%lld] = %.9g, plain %.9g", (long long)i, agg[i], want);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const uint8_t mode = in.byte();
  const bool large = in.byte() == 0xa5;  // rare, and neither 0 (inputs that run out) nor 0xff
  switch (mode % 5) {
    case 0:
      robust(in, large);
      break;
    case 1:
      quantize(in);
      break;
    case 2:
      dequantize(in);
      break;
    case 3:
      masks_and_sums(in, large);
      break;
    default:
      krum_rules(in, large);
  }
  return 0;
}
