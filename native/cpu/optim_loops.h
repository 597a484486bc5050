// The elementwise optimizer updates over one range, written once. Each ISA variant file
// (isa_scalar.cpp, and isa_avx2.cpp / isa_avx512.cpp through simd_kernels.inl) compiles its own
// copy with its own flags (static: nothing leaks between them) and puts it in its IsaKernels
// table. Only float64 + − × ÷ and sqrt, without contraction, so every variant computes the same bits.
#pragma once
#include <cmath>
#include <cstdint>

namespace dpfl {
namespace nn {

struct SgdHyper {
  double lr, momentum, weight_decay, grad_scale;
};

// g = grad_scale·grad + weight_decay·p; v = momentum·v + g (velocity not null); p −= lr·(v or g).
static inline void sgd_range(float* params, const float* grad, float* velocity, int64_t n, const SgdHyper& h) {
  if (velocity != nullptr) {
    for (int64_t i = 0; i < n; ++i) {
      const float g = static_cast<float>(h.grad_scale * grad[i] + h.weight_decay * params[i]);
      velocity[i] = static_cast<float>(h.momentum * velocity[i] + g);
      params[i] = static_cast<float>(params[i] - h.lr * velocity[i]);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const double g = h.grad_scale * grad[i] + h.weight_decay * params[i];
      params[i] = static_cast<float>(params[i] - h.lr * g);
    }
  }
}

struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay, grad_scale;
  double c1, c2;  // bias corrections 1 − β1^t and 1 − β2^t
};

static inline void adam_range(float* params, const float* grad, float* m, float* v, int64_t n, const AdamHyper& h) {
  for (int64_t i = 0; i < n; ++i) {
    const double g = h.grad_scale * grad[i] + h.weight_decay * params[i];
    const float mi = static_cast<float>(h.beta1 * m[i] + (1.0 - h.beta1) * g);
    const float vi = static_cast<float>(h.beta2 * v[i] + (1.0 - h.beta2) * g * g);
    m[i] = mi;
    v[i] = vi;
    params[i] = static_cast<float>(params[i] - h.lr * (mi / h.c1) / (std::sqrt(vi / h.c2) + h.eps));
  }
}

}  // namespace nn
}  // namespace dpfl
