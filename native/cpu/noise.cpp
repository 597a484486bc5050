// Gaussian noise added in place, from a counter-based generator (see gaussian.h).
#include <cmath>

#include "dpfl/gaussian.h"
#include "dpfl/kernels.h"

namespace dpfl {
namespace {

// Calls fn(i, z) for i in [0, n) with z = sample (offset + i) of the stream. Works block by block:
// a partial first block (offset not aligned), whole blocks, and a partial last block, so any
// split of [offset, offset + n) into calls yields the same values.
template <uint64_t kPerBlock, typename Block, typename Fn>
void for_each_sample(int64_t n, uint64_t offset, Block block_fn, Fn fn) {
  uint64_t j = offset;
  const uint64_t end = offset + static_cast<uint64_t>(n);
  double z[kPerBlock];
  while (j < end) {
    const uint64_t block = j / kPerBlock;
    block_fn(block, z);
    const uint64_t lane0 = j % kPerBlock;
    const uint64_t lanes = (end - j < kPerBlock - lane0) ? end - j : kPerBlock - lane0;
    for (uint64_t l = 0; l < lanes; ++l) fn(static_cast<int64_t>(j - offset + l), z[lane0 + l]);
    j += lanes;
  }
}

template <typename Fn>
void for_each_normal(const NoiseKey& key, int64_t n, uint64_t offset, Fn fn) {
  if (key.secure) {
    for_each_sample<kSecureNormalsPerBlock>(
        n, offset, [&](uint64_t b, double* z) { secure_normals(key.chacha, key.stream, b, z); }, fn);
  } else {
    for_each_sample<kPhiloxNormalsPerBlock>(
        n, offset, [&](uint64_t b, double* z) { philox_normals(key.seed, key.stream, b, z); }, fn);
  }
}

}  // namespace

Status add_gaussian_noise(float* x, int64_t n, double stddev, const NoiseKey& key, uint64_t offset) {
  if (n < 0) return Status::Invalid("x.length must be non-negative");
  if (n > 0 && x == nullptr) return Status::Invalid("x must not be null");
  if (!(stddev >= 0.0) || !std::isfinite(stddev)) return Status::Invalid("std must be a non-negative finite number");
  if (offset + static_cast<uint64_t>(n) < offset) return Status::Invalid("offset + x.length must be below 2^64");
  // A NaN/Inf in x would hide in the noisy output; refuse before writing anything.
  if (!all_finite(x, n)) return Status::Invalid("x must contain only finite values");
  for_each_normal(key, n, offset, [&](int64_t i, double z) {
    x[i] = static_cast<float>(static_cast<double>(x[i]) + stddev * z);
  });
  return Status::Ok();
}

double gaussian_sample(const NoiseKey& key, uint64_t j) {
  double value = 0.0;
  for_each_normal(key, 1, j, [&](int64_t, double z) { value = z; });
  return value;
}

}  // namespace dpfl
