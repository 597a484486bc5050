// Gaussian noise added in place, from a counter-based generator (see gaussian.h). Every element's
// noise depends only on (key, stream, offset + i), so the array is cut into fixed chunks that the
// thread pool fills in any order, with bit-identical results for every thread count and ISA.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "dpfl/gaussian.h"
#include "dpfl/kernels.h"
#include "dpfl/parallel.h"
#include "isa.h"

namespace dpfl {
namespace {
constexpr int64_t kChunk = 1 << 14;       // 16 Ki samples per work item
constexpr int64_t kCheckChunk = 1 << 16;  // 256 KiB of x per work item of the input check
constexpr uint32_t kFloatExponentMask = 0x7f800000u;
// FLT_MAX plus half an ulp: float64 values below it round to a finite float32.
constexpr double kFloatRoundsToInf = 3.4028235677973366e38;
}  // namespace

Status add_gaussian_noise(float* x, int64_t n, double stddev, const NoiseKey& key, uint64_t offset) {
  if (n < 0) return Status::Invalid("x.length must be non-negative");
  if (n > 0 && x == nullptr) return Status::Invalid("x must not be null");
  if (!(stddev >= 0.0) || !std::isfinite(stddev)) return Status::Invalid("std must be a non-negative finite number");
  if (offset + static_cast<uint64_t>(n) < offset) return Status::Invalid("offset + x.length must be below 2^64");
  // One integer pass gives both checks (isa.h, max_abs_bits), split over the pool like the noise.
  const IsaKernels& k = isa();
  std::atomic<uint32_t> max_bits{0};
  parallel_for(n, kCheckChunk, [&](int64_t begin, int64_t end) {
    const uint32_t m = k.max_abs_bits(x + begin, end - begin);
    uint32_t seen = max_bits.load(std::memory_order_relaxed);
    while (m > seen && !max_bits.compare_exchange_weak(seen, m, std::memory_order_relaxed)) {
    }
  });
  // A NaN/Inf in x would hide in the noisy output; refuse before writing anything.
  if (max_bits.load() >= kFloatExponentMask) return Status::Invalid("x must contain only finite values");
  if (stddev > 0.0) {
    // Finite x and std can still overflow: std = 1e308 turned every element into +-Inf.
    float max_abs;
    const uint32_t bits = max_bits.load();
    std::memcpy(&max_abs, &bits, sizeof max_abs);
    if (!(static_cast<double>(max_abs) + kMaxAbsNoiseSample * stddev < kFloatRoundsToInf)) {
      return Status::Invalid("std must be small enough that x + noise stays finite in float32");
    }
  }
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

Status gaussian_normals(double* out, int64_t n, const NoiseKey& key, uint64_t offset) {
  if (n < 0) return Status::Invalid("out.length must be non-negative");
  if (n > 0 && out == nullptr) return Status::Invalid("out must not be null");
  if (offset + static_cast<uint64_t>(n) < offset) return Status::Invalid("offset + out.length must be below 2^64");
  const IsaKernels& k = isa();
  for (int64_t begin = 0; begin < n; begin += kChunk) {  // chunked as add_gaussian_noise: the same bits
    const int64_t end = std::min(n, begin + kChunk);
    const uint64_t first = offset + static_cast<uint64_t>(begin);
    if (key.secure) {
      k.normals_chacha(out + begin, end - begin, key.chacha, key.stream, first);
    } else {
      k.normals_philox(out + begin, end - begin, key.seed, key.stream, first);
    }
  }
  return Status::Ok();
}

Status add_scaled_normals(float* x, const double* z, int64_t n, double stddev) {
  if (n < 0) return Status::Invalid("x.length must be non-negative");
  if (n > 0 && (x == nullptr || z == nullptr)) return Status::Invalid("x and z must not be null");
  if (!(stddev >= 0.0) || !std::isfinite(stddev)) return Status::Invalid("std must be a non-negative finite number");
  const IsaKernels& k = isa();
  std::atomic<uint32_t> max_bits{0};
  std::atomic<double> max_z{0.0};
  parallel_for(n, kCheckChunk, [&](int64_t begin, int64_t end) {
    const uint32_t m = k.max_abs_bits(x + begin, end - begin);
    uint32_t seen = max_bits.load(std::memory_order_relaxed);
    while (m > seen && !max_bits.compare_exchange_weak(seen, m, std::memory_order_relaxed)) {
    }
    double mz = 0.0;
    for (int64_t i = begin; i < end; ++i) mz = std::fabs(z[i]) > mz || std::isnan(z[i]) ? std::fabs(z[i]) : mz;
    double seen_z = max_z.load(std::memory_order_relaxed);
    while ((mz > seen_z || std::isnan(mz)) && !max_z.compare_exchange_weak(seen_z, mz, std::memory_order_relaxed)) {
    }
  });
  if (max_bits.load() >= kFloatExponentMask) return Status::Invalid("x must contain only finite values");
  if (!std::isfinite(max_z.load())) return Status::Invalid("z must contain only finite values");
  float max_abs;
  const uint32_t bits = max_bits.load();
  std::memcpy(&max_abs, &bits, sizeof max_abs);
  if (!(static_cast<double>(max_abs) + max_z.load() * stddev < kFloatRoundsToInf)) {
    return Status::Invalid("std must be small enough that x + std * z stays finite in float32");
  }
  parallel_for(n, kChunk, [&](int64_t begin, int64_t end) {
    // The expression of the scalar noise loop (isa_scalar.cpp, AddScaled): the same rounding.
    for (int64_t i = begin; i < end; ++i) x[i] = static_cast<float>(static_cast<double>(x[i]) + stddev * z[i]);
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
