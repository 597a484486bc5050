// libFuzzer target: Gaussian noise added in place (native/cpu/noise.cpp), reproducible mode
// (Philox keyed by seed, stream and a counter offset) and secure mode with a key taken from the
// input (the OS CSPRNG is not needed to exercise the ChaCha20 path). Properties: a negative
// length, a bad std, an offset range past 2^64 or a non-finite x give a Status error and leave x
// untouched; otherwise element i becomes exactly float(x[i] + std * gaussian_sample(key,
// offset + i)) (one rounding of the float64 sum, kernels.h), never NaN or Inf, with the same bits
// under every ISA variant and thread count, and splitting a call at any point changes nothing.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "dpfl/kernels.h"
#include "fuzz_input.h"

namespace {

void run(fuzz::Input& in) {
  // Rarely more than one 16 Ki-sample work item, to compare thread counts.
  const bool large = in.byte() == 0xa5;  // rare, and neither 0 (inputs that run out) nor 0xff
  const int64_t n = in.size(large ? 20000 : 100);
  const double stddev = in.real();
  dpfl::NoiseKey key;
  key.secure = in.flag();
  key.seed = in.u64();
  key.stream = in.u64();
  for (uint32_t& w : key.chacha.k) w = in.u32();
  uint64_t offset = 0;
  switch (in.byte() % 4) {
    case 0:
      offset = in.u64();  // anywhere, often overflowing offset + n
      break;
    case 1:
      offset = ~uint64_t{0} - static_cast<uint64_t>(in.range(0, 600));  // the end of the counter space
      break;
    default:
      offset = static_cast<uint64_t>(in.range(0, 1 << 20));
  }
  std::vector<float> x0 = in.floats(large ? std::min<int64_t>(n, 64) : n);
  // Large inputs repeat a short pattern: the sizes matter there, not the values.
  for (size_t i = x0.size(); static_cast<int64_t>(i) < n; ++i) x0.push_back(x0[i % 64]);
  const size_t len = x0.size();

  bool valid = n >= 0 && stddev >= 0.0 && std::isfinite(stddev) && fuzz::all_finite(x0) &&
               (n == 0 || offset + static_cast<uint64_t>(n) >= offset);
  dpfl::Status status;
  const std::vector<float> x = fuzz::same_everywhere("add_gaussian_noise", large, [&] {
    std::vector<float> v = x0;
    status = dpfl::add_gaussian_noise(v.empty() ? nullptr : v.data(), n, stddev, key, offset);
    return v;
  });
  if (!valid) {
    FUZZ_CHECK(!status.ok(), "add_gaussian_noise accepted n %lld std %g offset %llu", (long long)n, stddev,
               (unsigned long long)offset);
    FUZZ_CHECK(fuzz::same_bits(x, x0), "add_gaussian_noise modified x before refusing");
    return;
  }
  // Valid arguments are refused only when x + noise could leave float32's range (kernels.h).
  double max_abs = 0.0;
  for (float v : x0) max_abs = std::max(max_abs, std::fabs(static_cast<double>(v)));
  if (!status.ok()) {
    FUZZ_CHECK(max_abs + dpfl::kMaxAbsNoiseSample * stddev >= 3.4e38, "add_gaussian_noise refused: %s (std %g)",
               status.message, stddev);
    FUZZ_CHECK(fuzz::same_bits(x, x0), "add_gaussian_noise modified x before refusing");
    return;
  }
  // Every element of small inputs; a sample of large ones (the reference is slow under ASan).
  for (size_t i = 0; i < len; i += large ? 1 + i / 4 : 1) {
    const double z = dpfl::gaussian_sample(key, offset + i);
    FUZZ_CHECK(std::fabs(z) <= dpfl::kMaxAbsNoiseSample, "sample %llu = %g beyond the documented bound",
               (unsigned long long)(offset + i), z);
    const float want = static_cast<float>(static_cast<double>(x0[i]) + stddev * z);
    FUZZ_CHECK(std::isfinite(x[i]), "noise made x[%zu] = %g from %g (std %g)", i, x[i], x0[i], stddev);
    FUZZ_CHECK(std::memcmp(&x[i], &want, sizeof want) == 0, "x[%zu] = %.9g, expected %.9g (secure %d)", i, x[i], want,
               key.secure);
  }
  // The same noise when the call is split in two at any point.
  if (len > 1) {
    const size_t cut = static_cast<size_t>(in.range(0, static_cast<int64_t>(len)));
    std::vector<float> y = x0;
    const dpfl::Status a = dpfl::add_gaussian_noise(y.data(), static_cast<int64_t>(cut), stddev, key, offset);
    const dpfl::Status b =
        dpfl::add_gaussian_noise(y.data() + cut, static_cast<int64_t>(len - cut), stddev, key, offset + cut);
    FUZZ_CHECK(a.ok() && b.ok(), "a split call was refused");
    FUZZ_CHECK(fuzz::same_bits(x, y), "noise differs when the call is split at %zu", cut);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  run(in);
  return 0;
}
