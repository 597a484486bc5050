// Weighted aggregation on the device: one thread per column sums the K updates in order, in
// float64 (deterministic: no atomics in the sum).
#include <cmath>
#include <vector>

#include "common.cuh"

namespace dpfl_cuda {
namespace {

__global__ void weighted_columns(const float* const* __restrict__ updates, int64_t count, int64_t dim,
                                 const double* __restrict__ weights, double inv, float* __restrict__ out,
                                 int* __restrict__ non_finite) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= dim) return;
  double acc = 0.0;
  for (int64_t k = 0; k < count; ++k) acc += weights[k] * updates[k][c];
  const float v = static_cast<float>(acc * inv);
  out[c] = v;
  if (!isfinite(v)) atomicOr(non_finite, 1);
}

__global__ void update_is_finite(const float* const* __restrict__ updates, int64_t dim, int* __restrict__ bad) {
  const int64_t k = blockIdx.y;
  for (int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; c < dim;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if (!isfinite(updates[k][c])) bad[k] = 1;
  }
}

}  // namespace
}  // namespace dpfl_cuda

using namespace dpfl_cuda;

extern "C" int dpfl_cuda_weighted_sum(const float* const* d_updates, int64_t count, int64_t dim, const double* weights,
                                      int normalize, float* d_out, int64_t* bad_update) {
  if (bad_update != nullptr) *bad_update = -1;
  if (count <= 0) return fail(DPFL_CUDA_INVALID_ARGUMENT, "updates must hold at least one update");
  if (dim <= 0) return fail(DPFL_CUDA_INVALID_ARGUMENT, "updates must have a positive length");
  if (d_updates == nullptr || weights == nullptr || d_out == nullptr)
    return fail(DPFL_CUDA_INVALID_ARGUMENT, "updates, weights and out must not be null");
  double total = 0.0;
  for (int64_t k = 0; k < count; ++k) {
    if (!std::isfinite(weights[k]) || weights[k] < 0.0)
      return fail(DPFL_CUDA_INVALID_ARGUMENT, "weights must be finite and non-negative");
    total += weights[k];
  }
  if (normalize && !(total > 0.0))
    return fail(DPFL_CUDA_INVALID_ARGUMENT, "weights must have a positive sum to normalize");
  DeviceBuffer<const float*> d_ptrs;
  DeviceBuffer<double> d_w;
  DeviceBuffer<int> d_flag;
  DPFL_CUDA_TRY(d_ptrs.alloc(count), "cudaMalloc");
  DPFL_CUDA_TRY(d_w.alloc(count), "cudaMalloc");
  DPFL_CUDA_TRY(d_flag.alloc(1), "cudaMalloc");
  DPFL_CUDA_TRY(cudaMemcpy(d_ptrs.ptr, d_updates, count * sizeof(float*), cudaMemcpyHostToDevice), "cudaMemcpy");
  DPFL_CUDA_TRY(cudaMemcpy(d_w.ptr, weights, count * sizeof(double), cudaMemcpyHostToDevice), "cudaMemcpy");
  DPFL_CUDA_TRY(cudaMemset(d_flag.ptr, 0, sizeof(int)), "cudaMemset");
  weighted_columns<<<blocks_for(dim), kThreads>>>(d_ptrs.ptr, count, dim, d_w.ptr, normalize ? 1.0 / total : 1.0, d_out,
                                                  d_flag.ptr);
  DPFL_CUDA_TRY(cudaGetLastError(), "weighted_columns");
  int non_finite = 0;
  DPFL_CUDA_TRY(cudaMemcpy(&non_finite, d_flag.ptr, sizeof non_finite, cudaMemcpyDeviceToHost), "cudaMemcpy flag");
  if (non_finite == 0) return DPFL_CUDA_OK;
  // Slow path: name the first non-finite update, or report an overflow of float32.
  DeviceBuffer<int> d_bad;
  DPFL_CUDA_TRY(d_bad.alloc(count), "cudaMalloc");
  DPFL_CUDA_TRY(cudaMemset(d_bad.ptr, 0, count * sizeof(int)), "cudaMemset");
  update_is_finite<<<dim3(64, static_cast<unsigned>(count)), kThreads>>>(d_ptrs.ptr, dim, d_bad.ptr);
  DPFL_CUDA_TRY(cudaGetLastError(), "update_is_finite");
  std::vector<int> bad(static_cast<size_t>(count));
  DPFL_CUDA_TRY(cudaMemcpy(bad.data(), d_bad.ptr, count * sizeof(int), cudaMemcpyDeviceToHost), "cudaMemcpy");
  for (int64_t k = 0; k < count; ++k) {
    if (bad[static_cast<size_t>(k)] != 0) {
      if (bad_update != nullptr) *bad_update = k;
      return fail(DPFL_CUDA_NON_FINITE, "updates must contain only finite values");
    }
  }
  return fail(DPFL_CUDA_INVALID_ARGUMENT, "weights must be small enough that the weighted sum fits in float32");
}
