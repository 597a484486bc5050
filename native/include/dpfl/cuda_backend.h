/* The C ABI of the CUDA backend (libdpfl_cuda). The Node addon loads it with dlopen only when the
 * CUDA backend is asked for, so the CPU package never depends on the CUDA runtime. Every function
 * returns 0 on success or a DPFL_CUDA_* code; dpfl_cuda_last_error() then describes the failure
 * (thread-local, valid until the next call on the same thread). Pointers named d_* are device
 * pointers from dpfl_cuda_malloc; everything else is host memory. Calls are synchronous. */
#ifndef DPFL_CUDA_BACKEND_H
#define DPFL_CUDA_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define DPFL_CUDA_API __declspec(dllexport)
#else
#define DPFL_CUDA_API __attribute__((visibility("default")))
#endif

#define DPFL_CUDA_ABI_VERSION 1

enum {
  DPFL_CUDA_OK = 0,
  DPFL_CUDA_INVALID_ARGUMENT = 1, /* a size, norm, weight or option outside its domain */
  DPFL_CUDA_NO_DEVICE = 2,        /* no driver, no device, or the device cannot run this build */
  DPFL_CUDA_OUT_OF_MEMORY = 3,
  DPFL_CUDA_NON_FINITE = 4,       /* an input held NaN/Inf (see the kernel's policy) */
  DPFL_CUDA_RUNTIME_ERROR = 5     /* any other CUDA error */
};

typedef struct {
  int64_t clipped;
  int64_t non_finite;
} dpfl_cuda_clip_stats;

/* ABI version of the library (DPFL_CUDA_ABI_VERSION when it was built). */
DPFL_CUDA_API int dpfl_cuda_abi_version(void);
/* Initialises the runtime on device 0; writes its name (NUL-terminated) into name. */
DPFL_CUDA_API int dpfl_cuda_init(char* name, size_t name_len);
DPFL_CUDA_API const char* dpfl_cuda_last_error(void);

DPFL_CUDA_API int dpfl_cuda_malloc(void** d_ptr, size_t bytes);
DPFL_CUDA_API int dpfl_cuda_free(void* d_ptr);
DPFL_CUDA_API int dpfl_cuda_upload(void* d_dst, const void* src, size_t bytes);
DPFL_CUDA_API int dpfl_cuda_download(void* dst, const void* d_src, size_t bytes);
/* Device-to-device copy, synchronous (the bandwidth reference of the GPU benchmark). */
DPFL_CUDA_API int dpfl_cuda_copy(void* d_dst, const void* d_src, size_t bytes);

/* Per-sample clipping of the batch x dim matrix d_grads, with the same contract as the CPU core's
 * clip_and_sum (native/include/dpfl/kernels.h): groups given by ends (host, count entries, last =
 * dim), one max norm per group (host), the float64-accumulated clipped sum into d_sum (dim floats),
 * pre-clipping norms into d_norms (batch floats, may be NULL) and d_group_norms (batch x count,
 * may be NULL). Rows holding NaN/Inf contribute zero and are counted. Deterministic: no atomics in
 * any sum; each column is summed by one thread in row order. */
DPFL_CUDA_API int dpfl_cuda_clip_and_sum(const float* d_grads, int64_t batch, int64_t dim, const int64_t* ends,
                                         int64_t count, const double* max_norms, float* d_sum, float* d_norms,
                                         float* d_group_norms, dpfl_cuda_clip_stats* stats);

/* x[i] += std * N(offset + i) of the (key, stream) stream: key_words NULL selects Philox4x32-10
 * keyed by seed (bit-identical to the CPU core), otherwise ChaCha20 keyed by the 8 words (the
 * secure mode; the caller draws them from the OS CSPRNG). Refuses non-finite x without writing. */
DPFL_CUDA_API int dpfl_cuda_add_gaussian_noise(float* d_x, int64_t n, double std, uint64_t seed,
                                               const uint32_t* key_words, uint64_t stream, uint64_t offset);

/* d_out = sum_k weights[k] * d_updates[k] (host array of count device pointers; divided by the sum
 * of the weights when normalize), float64 per column, one thread per column. A non-finite update
 * fails with DPFL_CUDA_NON_FINITE and its index in *bad_update. */
DPFL_CUDA_API int dpfl_cuda_weighted_sum(const float* const* d_updates, int64_t count, int64_t dim,
                                         const double* weights, int normalize, float* d_out, int64_t* bad_update);

/* Scales d_x in place to L2 norm <= max_norm (scale min(1, C / (norm + 1e-6))). */
DPFL_CUDA_API int dpfl_cuda_clip_by_norm(float* d_x, int64_t n, double max_norm, double* norm, double* scale);

#ifdef __cplusplus
}
#endif

#endif /* DPFL_CUDA_BACKEND_H */
