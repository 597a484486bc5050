// Gaussian noise: reproducibility across chunkings, offsets, statistics, secure mode, refusals.
#include <cstring>
#include <limits>
#include <vector>

#include "check.h"
#include "dpfl/kernels.h"

namespace {

dpfl::NoiseKey philox_key(uint64_t seed, uint64_t stream) {
  dpfl::NoiseKey k;
  k.seed = seed;
  k.stream = stream;
  return k;
}

dpfl::NoiseKey secure_key() {
  dpfl::NoiseKey k;
  CHECK_OK(dpfl::make_secure_key(&k));
  return k;
}

std::vector<float> noise(const dpfl::NoiseKey& key, int64_t n, uint64_t offset, double stddev = 1.0) {
  std::vector<float> x(n, 0.0f);
  CHECK_OK(dpfl::add_gaussian_noise(x.data(), n, stddev, key, offset));
  return x;
}

// Any split of [0, n) into consecutive calls with matching offsets gives the same bits.
void check_chunking(const dpfl::NoiseKey& key) {
  const int64_t n = 1001;
  const std::vector<float> whole = noise(key, n, 0);
  std::mt19937 gen(3);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<float> pieces(n, 0.0f);
    int64_t at = 0;
    while (at < n) {
      const int64_t len = std::min<int64_t>(n - at, 1 + gen() % 37);
      CHECK_OK(dpfl::add_gaussian_noise(pieces.data() + at, len, 1.0, key, static_cast<uint64_t>(at)));
      at += len;
    }
    CHECK(std::memcmp(pieces.data(), whole.data(), n * sizeof(float)) == 0);
  }
  // Offsets address the stream: noise(n, offset=k) equals the tail of noise(n + k, 0).
  const std::vector<float> tail = noise(key, n - 5, 5);
  CHECK(std::memcmp(tail.data(), whole.data() + 5, (n - 5) * sizeof(float)) == 0);
  for (uint64_t j : {0ull, 1ull, 2ull, 3ull, 4ull, 999ull})
    CHECK_EQ(static_cast<float>(dpfl::gaussian_sample(key, j)), whole[j]);
}

void check_moments(const std::vector<float>& x, double stddev) {
  double mean = 0, m2 = 0, m4 = 0;
  for (float v : x) mean += v;
  mean /= x.size();
  for (float v : x) {
    const double d = v - mean;
    m2 += d * d;
    m4 += d * d * d * d;
  }
  const double n = static_cast<double>(x.size());
  const double var = m2 / n, kurtosis = (m4 / n) / (var * var);
  // Standard errors at n = 1e6: mean sigma/1000, variance sigma^2*sqrt(2/n) = 0.0014 sigma^2,
  // kurtosis sqrt(24/n) = 0.005. Bounds are five standard errors.
  CHECK_CLOSE(mean, 0.0, 5 * stddev / 1000, 0);
  CHECK_CLOSE(var, stddev * stddev, 5 * 0.0014 * stddev * stddev, 0);
  CHECK_CLOSE(kurtosis, 3.0, 5 * 0.005 * 3, 0);
}

}  // namespace

TEST(philox_noise_is_chunking_invariant) { check_chunking(philox_key(1234, 7)); }
TEST(secure_noise_is_chunking_invariant_for_one_key) { check_chunking(secure_key()); }

TEST(philox_noise_moments) { check_moments(noise(philox_key(42, 0), 1000000, 0, 2.5), 2.5); }
TEST(secure_noise_moments) { check_moments(noise(secure_key(), 1000000, 0, 0.5), 0.5); }

TEST(streams_and_seeds_differ) {
  const std::vector<float> a = noise(philox_key(1, 0), 64, 0);
  CHECK(a != noise(philox_key(1, 1), 64, 0));
  CHECK(a != noise(philox_key(2, 0), 64, 0));
  CHECK(a == noise(philox_key(1, 0), 64, 0));
  CHECK(noise(secure_key(), 64, 0) != noise(secure_key(), 64, 0));
}

TEST(noise_adds_in_float64_and_scales) {
  std::vector<float> x(100, 3.0f);
  const dpfl::NoiseKey key = philox_key(9, 9);
  CHECK_OK(dpfl::add_gaussian_noise(x.data(), 100, 0.25, key, 10));
  for (int i = 0; i < 100; ++i) CHECK_EQ(x[i], static_cast<float>(3.0 + 0.25 * dpfl::gaussian_sample(key, 10 + i)));
  std::vector<float> y(10, 1.5f);
  CHECK_OK(dpfl::add_gaussian_noise(y.data(), 10, 0.0, key, 0));  // std 0 leaves x unchanged
  for (float v : y) CHECK_EQ(v, 1.5f);
}

TEST(noise_refuses_bad_input_without_writing) {
  std::vector<float> x = {1.0f, std::numeric_limits<float>::infinity(), 2.0f};
  const dpfl::NoiseKey key = philox_key(1, 0);
  CHECK(!dpfl::add_gaussian_noise(x.data(), 3, 1.0, key, 0).ok());
  CHECK_EQ(x[0], 1.0f);
  CHECK_EQ(x[2], 2.0f);
  std::vector<float> ok(3, 0.0f);
  CHECK(!dpfl::add_gaussian_noise(ok.data(), 3, -1.0, key, 0).ok());
  CHECK(!dpfl::add_gaussian_noise(ok.data(), 3, std::nan(""), key, 0).ok());
  CHECK(!dpfl::add_gaussian_noise(ok.data(), 3, 1.0, key, std::numeric_limits<uint64_t>::max() - 1).ok());
  CHECK(ok == std::vector<float>(3, 0.0f));
  CHECK_OK(dpfl::add_gaussian_noise(nullptr, 0, 1.0, key, 0));
}

// Found by native/test/fuzz/fuzz_noise (and issue 12: addGaussianNoise(x, 1e308)): finite x and a
// finite std returned OK with every element +-Inf. Now refused before writing, while the largest
// std that cannot overflow still runs.
TEST(noise_that_could_overflow_float32_is_refused_without_writing) {
  for (const dpfl::NoiseKey& key : {philox_key(3, 1), secure_key()}) {
    std::vector<float> x(64, 1.0f);
    CHECK(!dpfl::add_gaussian_noise(x.data(), 64, 1e308, key, 0).ok());
    CHECK(x == std::vector<float>(64, 1.0f));
    std::vector<float> big(64, 3e38f);
    CHECK(!dpfl::add_gaussian_noise(big.data(), 64, 1e37, key, 0).ok());
    CHECK(big == std::vector<float>(64, 3e38f));
    CHECK_OK(dpfl::add_gaussian_noise(x.data(), 64, 2.7e37, key, 0));
    for (float v : x) CHECK(std::isfinite(v));
  }
}

// Prefetched noise (gaussian_normals, then add_scaled_normals) gives the bits of add_gaussian_noise,
// for both generators, odd sizes and offsets that start inside a generator block, on every ISA.
TEST(prefetched_normals_give_the_bits_of_add_gaussian_noise) {
  for (const dpfl::NoiseKey& key : {philox_key(0xfeedull, 3), secure_key()}) {
    for (int64_t n : {int64_t(1), int64_t(19), int64_t(111), int64_t(989), int64_t(70001)}) {
      for (uint64_t offset : {0ull, 1ull, 3ull, 16385ull, (1ull << 33) + 5}) {
        std::vector<float> x = check::random_floats(n, 5), y = x;
        CHECK_OK(dpfl::add_gaussian_noise(x.data(), n, 0.83, key, offset));
        std::vector<double> z(n);
        CHECK_OK(dpfl::gaussian_normals(z.data(), n, key, offset));
        CHECK(z[n - 1] == dpfl::gaussian_sample(key, offset + n - 1));
        CHECK_OK(dpfl::add_scaled_normals(y.data(), z.data(), n, 0.83));
        CHECK(std::memcmp(x.data(), y.data(), sizeof(float) * n) == 0);
      }
    }
  }
}

TEST(add_scaled_normals_refuses_bad_input_without_writing) {
  std::vector<float> x(64, 1.0f);
  std::vector<double> z(64, 0.5);
  z[7] = std::numeric_limits<double>::quiet_NaN();
  CHECK(!dpfl::add_scaled_normals(x.data(), z.data(), 64, 1.0).ok());
  z[7] = 1e300;
  CHECK(!dpfl::add_scaled_normals(x.data(), z.data(), 64, 1e10).ok());
  z[7] = 0.5;
  x[3] = std::numeric_limits<float>::infinity();
  CHECK(!dpfl::add_scaled_normals(x.data(), z.data(), 64, 1.0).ok());
  x[3] = 1.0f;
  CHECK(!dpfl::add_scaled_normals(x.data(), z.data(), 64, -1.0).ok());
  CHECK(x == std::vector<float>(64, 1.0f));
  CHECK_OK(dpfl::add_scaled_normals(x.data(), z.data(), 64, 2.0));
  CHECK(x == std::vector<float>(64, 2.0f));
}

CHECK_MAIN()
