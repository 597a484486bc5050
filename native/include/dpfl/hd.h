// Marks functions shared by the CPU core and the CUDA backend (__host__ __device__ under nvcc),
// so the CPU tests cover the math the GPU runs.
#pragma once

#if defined(__CUDACC__)
#define DPFL_HD __host__ __device__ __forceinline__
#else
#define DPFL_HD inline
#endif
