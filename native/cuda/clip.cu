// Per-sample clipping on the device: the CUDA form of native/cpu/clip.cpp.
// Pass one: one block per (row, segment) reduces a sum of squares in float64 with a fixed-shape
// tree (deterministic). Then one thread per row turns the segment sums into norms and scales.
// Pass two: one thread per column sums the scaled rows in row order (coalesced, no atomics).
#include <cmath>
#include <vector>

#include "common.cuh"
#include "dpfl/constants.h"

namespace dpfl_cuda {
namespace {

constexpr int64_t kSegment = 1 << 16;  // columns per pass-one block
using dpfl::kClipEpsilon;  // the one definition, shared with the CPU kernels

__global__ void segment_squares(const float* __restrict__ g, int64_t dim, const int64_t* __restrict__ seg_begin,
                                const int64_t* __restrict__ seg_end, int64_t per_row, double* __restrict__ partial) {
  __shared__ double buf[kThreads];
  const int64_t item = blockIdx.x;
  const int64_t row = item / per_row, s = item % per_row;
  const float* p = g + row * dim;
  double acc = 0.0;
  for (int64_t i = seg_begin[s] + threadIdx.x; i < seg_end[s]; i += blockDim.x) {
    const double v = p[i];
    acc += v * v;
  }
  buf[threadIdx.x] = acc;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) buf[threadIdx.x] += buf[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[item] = buf[0];
}

// flags[b]: 0 unclipped, 1 clipped, 2 non-finite.
__global__ void row_scales(const double* __restrict__ partial, int64_t per_row, const int64_t* __restrict__ seg_group,
                           int64_t groups, int64_t batch, const double* __restrict__ max_norms,
                           double* __restrict__ scale, float* __restrict__ norms, float* __restrict__ group_norms,
                           uint8_t* __restrict__ flags) {
  const int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (b >= batch) return;
  double* sc = scale + b * groups;
  for (int64_t g = 0; g < groups; ++g) sc[g] = 0.0;
  for (int64_t s = 0; s < per_row; ++s) sc[seg_group[s]] += partial[b * per_row + s];
  double total = 0.0;
  bool finite = true, clipped = false;
  for (int64_t g = 0; g < groups; ++g) {
    total += sc[g];
    const double n = sqrt(sc[g]);
    if (group_norms != nullptr) group_norms[b * groups + g] = static_cast<float>(n);
    finite = finite && isfinite(sc[g]);
    sc[g] = fmin(1.0, max_norms[g] / (n + kClipEpsilon));
    clipped = clipped || sc[g] < 1.0;
  }
  if (norms != nullptr) norms[b] = static_cast<float>(sqrt(total));
  if (!finite) {
    for (int64_t g = 0; g < groups; ++g) sc[g] = 0.0;
  }
  flags[b] = finite ? (clipped ? 1 : 0) : 2;
}

__global__ void column_sums(const float* __restrict__ g, int64_t batch, int64_t dim, const int64_t* __restrict__ ends,
                            int64_t groups, const double* __restrict__ scale, float* __restrict__ sum) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= dim) return;
  int64_t lo = 0, hi = groups - 1;  // the group of column c: first end > c
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (ends[mid] > c)
      hi = mid;
    else
      lo = mid + 1;
  }
  double acc = 0.0;
  for (int64_t b = 0; b < batch; ++b) {
    const double f = scale[b * groups + lo];
    if (f != 0.0) acc += f * g[b * dim + c];
  }
  sum[c] = static_cast<float>(acc);
}

__global__ void scale_inplace(float* x, int64_t n, double f) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) x[i] = static_cast<float>(f * x[i]);
}

struct Segments {
  std::vector<int64_t> begin, end, group;
};

Segments segments_of(const int64_t* ends, int64_t count) {
  Segments s;
  int64_t begin = 0;
  for (int64_t g = 0; g < count; ++g) {
    for (int64_t b = begin; b < ends[g]; b += kSegment) {
      s.begin.push_back(b);
      s.end.push_back(ends[g] < b + kSegment ? ends[g] : b + kSegment);
      s.group.push_back(g);
    }
    begin = ends[g];
  }
  return s;
}

template <typename T>
int upload_vector(DeviceBuffer<T>* d, const std::vector<T>& v) {
  DPFL_CUDA_TRY(d->alloc(v.size()), "cudaMalloc");
  DPFL_CUDA_TRY(cudaMemcpy(d->ptr, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy");
  return DPFL_CUDA_OK;
}

// Pass one and the row step: scales (batch x groups, device) and flags (host).
int compute_scales(const float* d_grads, int64_t batch, int64_t dim, const int64_t* ends, int64_t count,
                   const double* max_norms, DeviceBuffer<double>* scale, float* d_norms, float* d_group_norms,
                   std::vector<uint8_t>* flags) {
  const Segments segs = segments_of(ends, count);
  const int64_t per_row = static_cast<int64_t>(segs.begin.size());
  DeviceBuffer<int64_t> d_begin, d_end, d_group;
  DeviceBuffer<double> d_max, d_partial;
  DeviceBuffer<uint8_t> d_flags;
  if (int rc = upload_vector(&d_begin, segs.begin)) return rc;
  if (int rc = upload_vector(&d_end, segs.end)) return rc;
  if (int rc = upload_vector(&d_group, segs.group)) return rc;
  if (int rc = upload_vector(&d_max, std::vector<double>(max_norms, max_norms + count))) return rc;
  DPFL_CUDA_TRY(d_partial.alloc(batch * per_row), "cudaMalloc");
  DPFL_CUDA_TRY(scale->alloc(batch * count), "cudaMalloc");
  DPFL_CUDA_TRY(d_flags.alloc(batch), "cudaMalloc");
  segment_squares<<<static_cast<unsigned>(batch * per_row), kThreads>>>(d_grads, dim, d_begin.ptr, d_end.ptr, per_row,
                                                                        d_partial.ptr);
  DPFL_CUDA_TRY(cudaGetLastError(), "segment_squares");
  row_scales<<<blocks_for(batch), kThreads>>>(d_partial.ptr, per_row, d_group.ptr, count, batch, d_max.ptr, scale->ptr,
                                              d_norms, d_group_norms, d_flags.ptr);
  DPFL_CUDA_TRY(cudaGetLastError(), "row_scales");
  flags->resize(static_cast<size_t>(batch));
  DPFL_CUDA_TRY(cudaMemcpy(flags->data(), d_flags.ptr, batch, cudaMemcpyDeviceToHost), "cudaMemcpy flags");
  return DPFL_CUDA_OK;
}

int check_matrix(int64_t batch, int64_t dim, const int64_t* ends, int64_t count, const double* max_norms) {
  if (batch <= 0) return fail(DPFL_CUDA_INVALID_ARGUMENT, "batchSize must be a positive integer");
  if (dim <= 0) return fail(DPFL_CUDA_INVALID_ARGUMENT, "the row length must be a positive integer");
  if (ends == nullptr || count <= 0)
    return fail(DPFL_CUDA_INVALID_ARGUMENT, "groups must hold at least one end offset");
  int64_t prev = 0;
  for (int64_t g = 0; g < count; ++g) {
    if (ends[g] <= prev)
      return fail(DPFL_CUDA_INVALID_ARGUMENT, "groups must be strictly increasing positive end offsets");
    prev = ends[g];
    if (max_norms != nullptr && (!(max_norms[g] > 0.0) || !std::isfinite(max_norms[g])))
      return fail(DPFL_CUDA_INVALID_ARGUMENT, "maxNorm must be a positive finite number");
  }
  if (prev != dim) return fail(DPFL_CUDA_INVALID_ARGUMENT, "groups must end at the row length");
  return DPFL_CUDA_OK;
}

}  // namespace
}  // namespace dpfl_cuda

using namespace dpfl_cuda;

extern "C" int dpfl_cuda_clip_and_sum(const float* d_grads, int64_t batch, int64_t dim, const int64_t* ends,
                                      int64_t count, const double* max_norms, float* d_sum, float* d_norms,
                                      float* d_group_norms, dpfl_cuda_clip_stats* stats) {
  if (max_norms == nullptr || d_sum == nullptr || stats == nullptr || d_grads == nullptr)
    return fail(DPFL_CUDA_INVALID_ARGUMENT, "grads, maxNorms, sum and stats must not be null");
  if (int rc = check_matrix(batch, dim, ends, count, max_norms)) return rc;
  DeviceBuffer<double> scale;
  DeviceBuffer<int64_t> d_ends;
  std::vector<uint8_t> flags;
  if (int rc = compute_scales(d_grads, batch, dim, ends, count, max_norms, &scale, d_norms, d_group_norms, &flags))
    return rc;
  if (int rc = upload_vector(&d_ends, std::vector<int64_t>(ends, ends + count))) return rc;
  column_sums<<<blocks_for(dim), kThreads>>>(d_grads, batch, dim, d_ends.ptr, count, scale.ptr, d_sum);
  DPFL_CUDA_TRY(cudaGetLastError(), "column_sums");
  DPFL_CUDA_TRY(cudaDeviceSynchronize(), "clip_and_sum");
  dpfl_cuda_clip_stats out{0, 0};
  for (uint8_t f : flags) {
    out.clipped += f == 1;
    out.non_finite += f == 2;
  }
  *stats = out;
  return DPFL_CUDA_OK;
}

extern "C" int dpfl_cuda_clip_by_norm(float* d_x, int64_t n, double max_norm, double* norm, double* scale) {
  if (d_x == nullptr || n <= 0) return fail(DPFL_CUDA_INVALID_ARGUMENT, "x must be a non-empty array");
  const int64_t ends[1] = {n};
  const double c[1] = {max_norm};
  if (int rc = check_matrix(1, n, ends, 1, c)) return rc;
  DeviceBuffer<double> sc;
  std::vector<uint8_t> flags;
  DeviceBuffer<float> d_norm;
  DPFL_CUDA_TRY(d_norm.alloc(1), "cudaMalloc");
  if (int rc = compute_scales(d_x, 1, n, ends, 1, c, &sc, d_norm.ptr, nullptr, &flags)) return rc;
  if (flags[0] == 2) return fail(DPFL_CUDA_NON_FINITE, "x must contain only finite values");
  double f = 1.0;
  DPFL_CUDA_TRY(cudaMemcpy(&f, sc.ptr, sizeof f, cudaMemcpyDeviceToHost), "cudaMemcpy scale");
  float nf = 0.0f;
  DPFL_CUDA_TRY(cudaMemcpy(&nf, d_norm.ptr, sizeof nf, cudaMemcpyDeviceToHost), "cudaMemcpy norm");
  if (f < 1.0) {
    scale_inplace<<<blocks_for(n), kThreads>>>(d_x, n, f);
    DPFL_CUDA_TRY(cudaGetLastError(), "scale_inplace");
    DPFL_CUDA_TRY(cudaDeviceSynchronize(), "clip_by_norm");
  }
  *norm = static_cast<double>(nf);
  *scale = f;
  return DPFL_CUDA_OK;
}
