// Shared pieces of the CUDA backend: error reporting through the C ABI and launch sizes.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "dpfl/cuda_backend.h"

namespace dpfl_cuda {

constexpr int kThreads = 256;  // threads per block for every kernel

// Records a message for dpfl_cuda_last_error() and returns code.
int fail(int code, const std::string& message);
// Maps a CUDA error to a code and message; returns DPFL_CUDA_OK for cudaSuccess.
int check(cudaError_t err, const char* what);

inline unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

// Device scratch freed when it goes out of scope.
template <typename T>
struct DeviceBuffer {
  T* ptr = nullptr;
  cudaError_t alloc(size_t count) { return cudaMalloc(reinterpret_cast<void**>(&ptr), count * sizeof(T) + 1); }
  ~DeviceBuffer() {
    if (ptr != nullptr) cudaFree(ptr);
  }
};

}  // namespace dpfl_cuda

#define DPFL_CUDA_TRY(expr, what)                          \
  do {                                                     \
    const int dpfl_rc_ = ::dpfl_cuda::check((expr), what); \
    if (dpfl_rc_ != DPFL_CUDA_OK) return dpfl_rc_;         \
  } while (0)
