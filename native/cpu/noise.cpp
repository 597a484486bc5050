// Gaussian noise added in place, from a counter-based generator (see gaussian.h). Every element's
// noise depends only on (key, stream, offset + i), so the array is cut into fixed chunks that the
// thread pool fills in any order, with bit-identical results for every thread count and ISA.
#include <algorithm>
#include <cmath>

#include "dpfl/gaussian.h"
#include "dpfl/kernels.h"
#include "dpfl/parallel.h"
#include "isa.h"

namespace dpfl {
namespace {
constexpr int64_t kChunk = 1 << 14;  // 16 Ki samples per work item
// FLT_MAX plus half an ulp: float64 values below it round to a finite float32.
constexpr double kFloatRoundsToInf = 3.4028235677973366e38;
}  // namespace

Status add_gaussian_noise(float* x, int64_t n, double stddev, const NoiseKey& key, uint64_t offset) {
  if (n < 0) return Status::Invalid("x.length must be non-negative");
  if (n > 0 && x == nullptr) return Status::Invalid("x must not be null");
  if (!(stddev >= 0.0) || !std::isfinite(stddev)) return Status::Invalid("std must be a non-negative finite number");
  if (offset + static_cast<uint64_t>(n) < offset) return Status::Invalid("offset + x.length must be below 2^64");
  // A NaN/Inf in x would hide in the noisy output; refuse before writing anything.
  if (!all_finite(x, n)) return Status::Invalid("x must contain only finite values");
  if (stddev > 0.0) {
    // Finite x and std can still overflow: std = 1e308 turned every element into +-Inf.
    float max_abs = 0.0f;
    for (int64_t i = 0; i < n; ++i) max_abs = std::max(max_abs, std::fabs(x[i]));
    if (!(static_cast<double>(max_abs) + kMaxAbsNoiseSample * stddev < kFloatRoundsToInf)) {
      return Status::Invalid("std must be small enough that x + noise stays finite in float32");
    }
  }
  const IsaKernels& k = isa();
  parallel_for(n, kChunk, [&](int64_t begin, int64_t end) {
    const uint64_t first = offset + static_cast<uint64_t>(begin);
    if (key.secure) {
      k.noise_chacha(x + begin, end - begin, stddev, key.chacha, key.stream, first);
    } else {
      k.noise_philox(x + begin, end - begin, stddev, key.seed, key.stream, first);
    }
  });
  return Status::Ok();
}

double gaussian_sample(const NoiseKey& key, uint64_t j) {
  double z[4];
  if (key.secure) {
    secure_normals(key.chacha, key.stream, j / kSecureNormalsPerBlock, z);
    return z[j % kSecureNormalsPerBlock];
  }
  philox_normals(key.seed, key.stream, j / kPhiloxNormalsPerBlock, z);
  return z[j % kPhiloxNormalsPerBlock];
}

}  // namespace dpfl
