// Every instruction-set variant and every thread count gives the scalar variant's bits.
#include <cstring>
#include <limits>
#include <vector>

#include "../cpu/isa.h"
#include "check.h"
#include "dpfl/dispatch.h"
#include "dpfl/gauss_math.h"
#include "dpfl/gaussian.h"
#include "dpfl/kernels.h"
#include "dpfl/parallel.h"

namespace {

std::vector<const dpfl::IsaKernels*> variants() {
  std::vector<const dpfl::IsaKernels*> v;
  if (dpfl::isa_supported(dpfl::Isa::kAvx2)) v.push_back(dpfl::avx2_kernels());
  if (dpfl::isa_supported(dpfl::Isa::kAvx512)) v.push_back(dpfl::avx512_kernels());
  std::printf("  SIMD variants tested against scalar: %zu\n", v.size());
  return v;
}

double log1(double u) {
  double out;
  dpfl::gauss::log_open01<dpfl::ScalarMath, 1>(&u, &out);
  return out;
}

bool same_bits(const void* a, const void* b, size_t bytes) { return std::memcmp(a, b, bytes) == 0; }

const int64_t kLengths[] = {0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 1000, 4099};

}  // namespace

TEST(gauss_math_is_accurate) {
  std::mt19937_64 gen(5);
  double worst_log = 0, worst_trig = 0;
  for (int i = 0; i < 200000; ++i) {
    const double u = dpfl::uniform52(static_cast<uint32_t>(gen()), static_cast<uint32_t>(gen()));
    const double l = log1(u);
    worst_log = std::max(worst_log, std::fabs(l - std::log(u)) / std::fabs(std::log(u)));
    double c, s;
    dpfl::gauss::sincos_2pi<dpfl::ScalarMath, 1>(&u, &c, &s);
    worst_trig = std::max({worst_trig, std::fabs(c - std::cos(2 * M_PI * u)), std::fabs(s - std::sin(2 * M_PI * u))});
  }
  std::printf("  worst log relative error %.3g, worst sin/cos absolute error %.3g\n", worst_log, worst_trig);
  CHECK(worst_log < 5e-14);
  // 2*pi*u itself carries an absolute rounding error of up to 4.4e-16 in the libm reference.
  CHECK(worst_trig < 3e-14);
  // Extremes of the uniform: log near 0 and near 1.
  CHECK_CLOSE(log1(0x1.0p-53), -53 * M_LN2, 0, 5e-14);
  CHECK_CLOSE(log1(1 - 0x1.0p-53), -0x1.0p-53, 0, 5e-14);
}

TEST(simd_loops_match_scalar_bits) {
  const dpfl::IsaKernels& ref = dpfl::scalar_kernels();
  for (const dpfl::IsaKernels* k : variants()) {
    for (int64_t n : kLengths) {
      std::vector<float> x = check::random_floats(static_cast<size_t>(n) + 1, static_cast<uint32_t>(n) + 3);
      const double a = ref.sum_squares(x.data() + 1, n), b = k->sum_squares(x.data() + 1, n);
      CHECK(same_bits(&a, &b, sizeof a));
      std::vector<double> acc1(n + 1, 0.25), acc2(n + 1, 0.25), acc3(n + 1);
      const float* rows[3] = {x.data() + 1, x.data(), x.data() + 1};
      const double coef[3] = {0.3, -1.7, 2.5};
      for (int m = 1; m <= 3; ++m) {
        ref.axpy_rows(acc1.data(), acc1.data(), rows, coef, m, n);
        k->axpy_rows(acc2.data(), acc2.data(), rows, coef, m, n);
        CHECK(same_bits(acc1.data(), acc2.data(), n * sizeof(double)));
      }
      k->axpy_rows(acc3.data(), acc2.data(), rows, coef, 3, n);  // separate input and output
      ref.axpy_rows(acc1.data(), acc1.data(), rows, coef, 3, n);
      CHECK(same_bits(acc1.data(), acc3.data(), n * sizeof(double)));
      std::vector<float> o1(n + 1), o2(n + 1);
      ref.store_scaled(o1.data(), acc1.data(), 1.7, n);
      k->store_scaled(o2.data(), acc1.data(), 1.7, n);
      CHECK(same_bits(o1.data(), o2.data(), n * sizeof(float)));
      std::vector<float> s1 = x, s2 = x;
      ref.scale_inplace(s1.data(), 0.37, n + 1);
      k->scale_inplace(s2.data(), 0.37, n + 1);
      CHECK(s1 == s2);
      CHECK(k->all_finite(x.data(), n + 1));
      for (int64_t p : {int64_t(0), n / 2, n}) {
        std::vector<float> y = x;
        y[p] = (p % 2) ? std::numeric_limits<float>::infinity() : std::numeric_limits<float>::quiet_NaN();
        CHECK(!k->all_finite(y.data(), n + 1));
        CHECK(k->max_abs_bits(y.data(), n + 1) >= 0x7f800000u);
      }
      // The largest magnitude, whatever its sign and position, as its bit pattern.
      CHECK(k->max_abs_bits(x.data(), n + 1) == ref.max_abs_bits(x.data(), n + 1));
      for (int64_t p : {int64_t(0), n / 2, n}) {
        std::vector<float> y = x;
        y[p] = (p % 2) ? -1e30f : 1e30f;
        uint32_t want;
        const float big = 1e30f;
        std::memcpy(&want, &big, sizeof want);
        CHECK(k->max_abs_bits(y.data(), n + 1) == want);
      }
      CHECK(k->max_abs_bits(x.data(), 0) == 0);
    }
  }
}

TEST(simd_noise_matches_scalar_bits) {
  const dpfl::IsaKernels& ref = dpfl::scalar_kernels();
  dpfl::NoiseKey secure;
  CHECK_OK(dpfl::make_secure_key(&secure));
  for (const dpfl::IsaKernels* k : variants()) {
    for (int64_t n : {int64_t(1), int64_t(31), int64_t(32), int64_t(33), int64_t(100), int64_t(1000), int64_t(4099)}) {
      for (uint64_t first : {0ull, 1ull, 3ull, 5ull, 4294967290ull * 2, (1ull << 40) + 7}) {
        std::vector<float> a = check::random_floats(n, 9), b = a, c = a, d = a;
        ref.noise_philox(a.data(), n, 1.3, 0xfeedbeefcafef00dull, 77, first);
        k->noise_philox(b.data(), n, 1.3, 0xfeedbeefcafef00dull, 77, first);
        CHECK(a == b);
        ref.noise_chacha(c.data(), n, 0.7, secure.chacha, 5, first);
        k->noise_chacha(d.data(), n, 0.7, secure.chacha, 5, first);
        CHECK(c == d);
        std::vector<double> z1(n), z2(n), z3(n), z4(n);
        ref.normals_philox(z1.data(), n, 0xfeedbeefcafef00dull, 77, first);
        k->normals_philox(z2.data(), n, 0xfeedbeefcafef00dull, 77, first);
        CHECK(same_bits(z1.data(), z2.data(), sizeof(double) * n));
        ref.normals_chacha(z3.data(), n, secure.chacha, 5, first);
        k->normals_chacha(z4.data(), n, secure.chacha, 5, first);
        CHECK(same_bits(z3.data(), z4.data(), sizeof(double) * n));
      }
    }
  }
}

TEST(kernels_bit_identical_across_isas_and_threads) {
  const int64_t batch = 37, dim = 70001;  // several segments and tiles, odd sizes
  std::vector<float> g = check::random_floats(batch * dim, 4, 0.01f);
  std::vector<int64_t> ends = {5, 40000, 40001, dim};
  std::vector<double> c = {0.01, 0.5, 0.001, 0.2};
  dpfl::NoiseKey key;
  key.seed = 123;
  key.stream = 4;
  std::vector<const float*> ptrs;
  for (int64_t b = 0; b < 9; ++b) ptrs.push_back(g.data() + b * dim);
  std::vector<double> w = {1, 2, 3, 4, 5, 6, 7, 8, 9};

  struct Out {
    std::vector<float> sum, norms, group_norms, noise, mean;
  };
  auto run = [&]() {
    Out o{std::vector<float>(dim), std::vector<float>(batch), std::vector<float>(batch * 4),
          std::vector<float>(300001, 1.0f), std::vector<float>(dim)};
    dpfl::ClipStats s;
    CHECK_OK(dpfl::clip_and_sum(g.data(), batch, dim, {ends.data(), 4}, c.data(), o.sum.data(), o.norms.data(),
                                o.group_norms.data(), &s));
    CHECK_OK(dpfl::add_gaussian_noise(o.noise.data(), 300001, 2.0, key, 11));
    int64_t bad;
    CHECK_OK(dpfl::weighted_sum(ptrs.data(), 9, dim, w.data(), true, o.mean.data(), &bad));
    return o;
  };
  CHECK_OK(dpfl::set_isa(dpfl::Isa::kScalar));
  dpfl::set_thread_count(1);
  const Out ref = run();
  for (dpfl::Isa isa : {dpfl::Isa::kScalar, dpfl::Isa::kAvx2, dpfl::Isa::kAvx512}) {
    if (!dpfl::isa_supported(isa)) continue;
    CHECK_OK(dpfl::set_isa(isa));
    for (int threads : {1, 2, 3, 8}) {
      dpfl::set_thread_count(threads);
      const Out o = run();
      CHECK(o.sum == ref.sum);
      CHECK(o.norms == ref.norms);
      CHECK(o.group_norms == ref.group_norms);
      CHECK(o.noise == ref.noise);
      CHECK(o.mean == ref.mean);
    }
  }
}

// Off x86-64 (aarch64, ...) the AVX files are not compiled: only the scalar variant exists and runs.
TEST(variants_match_the_target) {
  std::printf("  active ISA: %s (x86-64 target: %s)\n", dpfl::isa_name(dpfl::active_isa()),
              DPFL_ISA_X86_64 ? "yes" : "no");
  if (!DPFL_ISA_X86_64) {
    CHECK(dpfl::avx2_kernels() == nullptr);
    CHECK(dpfl::avx512_kernels() == nullptr);
    CHECK(!dpfl::isa_supported(dpfl::Isa::kAvx2));
    CHECK(!dpfl::isa_supported(dpfl::Isa::kAvx512));
    CHECK(dpfl::active_isa() == dpfl::Isa::kScalar);
    CHECK(std::strcmp(dpfl::isa_name(dpfl::active_isa()), "scalar") == 0);
  }
}

TEST(forced_isa_is_refused_when_unsupported) {
  for (dpfl::Isa isa : {dpfl::Isa::kScalar, dpfl::Isa::kAvx2, dpfl::Isa::kAvx512}) {
    CHECK_EQ(dpfl::set_isa(isa).ok(), dpfl::isa_supported(isa));
  }
  CHECK(dpfl::isa_supported(dpfl::Isa::kScalar));
}

CHECK_MAIN()
