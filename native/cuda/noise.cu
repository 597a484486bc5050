// Gaussian noise on the device, from the same __host__ __device__ generator and transform as the
// CPU core (native/include/dpfl/gaussian.h): one thread per generator block. Built with
// --fmad=false so every operation rounds as on the CPU: the same (seed, stream, offset) gives
// bit-identical float32 values on both backends.
#include <cmath>

#include "common.cuh"
#include "dpfl/gaussian.h"

namespace dpfl_cuda {
namespace {

__global__ void count_non_finite(const float* __restrict__ x, int64_t n, int* __restrict__ flag) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n && !isfinite(x[i])) atomicOr(flag, 1);  // order-independent: any one suffices
}

// Thread t owns generator block (offset / per) + t and writes its samples that fall in
// [offset, offset + n).
template <uint64_t kPer, bool kSecure>
__global__ void add_noise(float* __restrict__ x, int64_t n, double std, uint64_t seed, dpfl::ChaChaKey key,
                          uint64_t stream, uint64_t offset) {
  const uint64_t t = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x;
  const uint64_t block = offset / kPer + t;
  double z[kPer];
  if (kSecure) {
    dpfl::secure_normals(key, stream, block, z);
  } else {
    dpfl::philox_normals(seed, stream, block, z);
  }
  for (uint64_t l = 0; l < kPer; ++l) {
    const uint64_t j = block * kPer + l;
    if (j < offset || j >= offset + static_cast<uint64_t>(n)) continue;
    float* v = x + (j - offset);
    *v = static_cast<float>(static_cast<double>(*v) + std * z[l]);
  }
}

template <uint64_t kPer, bool kSecure>
int launch(float* d_x, int64_t n, double std, uint64_t seed, const dpfl::ChaChaKey& key, uint64_t stream,
           uint64_t offset) {
  const int64_t blocks_needed = static_cast<int64_t>((offset % kPer + n + kPer - 1) / kPer);
  add_noise<kPer, kSecure><<<blocks_for(blocks_needed), kThreads>>>(d_x, n, std, seed, key, stream, offset);
  DPFL_CUDA_TRY(cudaGetLastError(), "add_noise");
  return DPFL_CUDA_OK;
}

}  // namespace
}  // namespace dpfl_cuda

using namespace dpfl_cuda;

extern "C" int dpfl_cuda_add_gaussian_noise(float* d_x, int64_t n, double std, uint64_t seed, const uint32_t* key_words,
                                            uint64_t stream, uint64_t offset) {
  if (n < 0) return fail(DPFL_CUDA_INVALID_ARGUMENT, "x.length must be non-negative");
  if (n == 0) return DPFL_CUDA_OK;
  if (d_x == nullptr) return fail(DPFL_CUDA_INVALID_ARGUMENT, "x must not be null");
  if (!(std >= 0.0) || !std::isfinite(std))
    return fail(DPFL_CUDA_INVALID_ARGUMENT, "std must be a non-negative finite number");
  if (offset + static_cast<uint64_t>(n) < offset)
    return fail(DPFL_CUDA_INVALID_ARGUMENT, "offset + x.length must be below 2^64");
  DeviceBuffer<int> flag;
  DPFL_CUDA_TRY(flag.alloc(1), "cudaMalloc");
  DPFL_CUDA_TRY(cudaMemset(flag.ptr, 0, sizeof(int)), "cudaMemset");
  count_non_finite<<<blocks_for(n), kThreads>>>(d_x, n, flag.ptr);
  DPFL_CUDA_TRY(cudaGetLastError(), "count_non_finite");
  int bad = 0;
  DPFL_CUDA_TRY(cudaMemcpy(&bad, flag.ptr, sizeof bad, cudaMemcpyDeviceToHost), "cudaMemcpy flag");
  if (bad != 0) return fail(DPFL_CUDA_NON_FINITE, "x must contain only finite values");
  dpfl::ChaChaKey key{};
  int rc;
  if (key_words != nullptr) {
    for (int i = 0; i < 8; ++i) key.k[i] = key_words[i];
    rc = launch<dpfl::kSecureNormalsPerBlock, true>(d_x, n, std, 0, key, stream, offset);
  } else {
    rc = launch<dpfl::kPhiloxNormalsPerBlock, false>(d_x, n, std, seed, key, stream, offset);
  }
  if (rc != DPFL_CUDA_OK) return rc;
  DPFL_CUDA_TRY(cudaDeviceSynchronize(), "add_gaussian_noise");
  return DPFL_CUDA_OK;
}
