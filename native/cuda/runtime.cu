// Initialisation, memory and error reporting of the C ABI.
#include <cstring>

#include "common.cuh"

namespace dpfl_cuda {
namespace {
thread_local std::string last_error;
}

int fail(int code, const std::string& message) {
  last_error = message;
  return code;
}

int check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return DPFL_CUDA_OK;
  const std::string msg = std::string(what) + ": " + cudaGetErrorString(err);
  cudaGetLastError();  // clear a sticky launch error so later calls can run
  switch (err) {
    case cudaErrorMemoryAllocation:
      return fail(DPFL_CUDA_OUT_OF_MEMORY, msg);
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorInvalidDevice:
      return fail(DPFL_CUDA_NO_DEVICE, msg);
    default:
      return fail(DPFL_CUDA_RUNTIME_ERROR, msg);
  }
}

}  // namespace dpfl_cuda

using dpfl_cuda::check;
using dpfl_cuda::fail;

extern "C" {

int dpfl_cuda_abi_version(void) { return DPFL_CUDA_ABI_VERSION; }

const char* dpfl_cuda_last_error(void) { return dpfl_cuda::last_error.c_str(); }

int dpfl_cuda_init(char* name, size_t name_len) {
  int devices = 0;
  DPFL_CUDA_TRY(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
  if (devices == 0) return fail(DPFL_CUDA_NO_DEVICE, "no CUDA device is visible");
  DPFL_CUDA_TRY(cudaSetDevice(0), "cudaSetDevice(0)");
  cudaDeviceProp prop;
  DPFL_CUDA_TRY(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  DPFL_CUDA_TRY(cudaFree(nullptr), "creating the CUDA context");
  if (name != nullptr && name_len > 0) {
    std::strncpy(name, prop.name, name_len - 1);
    name[name_len - 1] = '\0';
  }
  return DPFL_CUDA_OK;
}

int dpfl_cuda_malloc(void** d_ptr, size_t bytes) {
  if (d_ptr == nullptr) return fail(DPFL_CUDA_INVALID_ARGUMENT, "d_ptr must not be null");
  DPFL_CUDA_TRY(cudaMalloc(d_ptr, bytes == 0 ? 1 : bytes), "cudaMalloc");
  return DPFL_CUDA_OK;
}

int dpfl_cuda_free(void* d_ptr) {
  DPFL_CUDA_TRY(cudaFree(d_ptr), "cudaFree");
  return DPFL_CUDA_OK;
}

int dpfl_cuda_upload(void* d_dst, const void* src, size_t bytes) {
  DPFL_CUDA_TRY(cudaMemcpy(d_dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy host to device");
  return DPFL_CUDA_OK;
}

int dpfl_cuda_download(void* dst, const void* d_src, size_t bytes) {
  DPFL_CUDA_TRY(cudaMemcpy(dst, d_src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy device to host");
  return DPFL_CUDA_OK;
}

int dpfl_cuda_copy(void* d_dst, const void* d_src, size_t bytes) {
  DPFL_CUDA_TRY(cudaMemcpy(d_dst, d_src, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy device to device");
  DPFL_CUDA_TRY(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  return DPFL_CUDA_OK;
}

}  // extern "C"
