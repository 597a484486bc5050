// Optimizer updates over the flat parameter vector: SGD with momentum, and Adam. Elementwise, so
// any chunking gives the same bits; float64 intermediate arithmetic, float32 state.
#include <cmath>

#include "dpfl/nn.h"
#include "dpfl/parallel.h"
#include "isa.h"

namespace dpfl {
namespace nn {
namespace {
constexpr int64_t kGrain = 1 << 16;

AdamHyper adam_hyper(double lr, double beta1, double beta2, double eps, double weight_decay, double grad_scale,
                     int64_t t) {
  return {lr,
          beta1,
          beta2,
          eps,
          weight_decay,
          grad_scale,
          1.0 - std::pow(beta1, static_cast<double>(t)),
          1.0 - std::pow(beta2, static_cast<double>(t))};
}

bool finite_hyper(double v) { return std::isfinite(v); }

bool adam_hyper_ok(double lr, double beta1, double beta2, double eps, double weight_decay, double grad_scale) {
  return finite_hyper(lr) && beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0 &&
         finite_hyper(weight_decay) && finite_hyper(grad_scale);
}
}  // namespace

Status sgd_update(float* params, const float* grad, float* velocity, int64_t n, double lr, double momentum,
                  double weight_decay, double grad_scale) {
  if (n < 0) return Status::Invalid("sgd_update: n must be non-negative");
  if (n > 0 && (params == nullptr || grad == nullptr)) return Status::Invalid("sgd_update: null buffer");
  if (!finite_hyper(lr) || !finite_hyper(momentum) || !finite_hyper(weight_decay) || !finite_hyper(grad_scale)) {
    return Status::Invalid("sgd_update: hyper-parameters must be finite");
  }
  const SgdHyper h{lr, momentum, weight_decay, grad_scale};
  const IsaKernels& k = isa();
  parallel_for(n, kGrain, [&](int64_t i0, int64_t i1) {
    k.sgd_range(params + i0, grad + i0, velocity == nullptr ? nullptr : velocity + i0, i1 - i0, h);
  });
  return Status::Ok();
}

Status adam_update(float* params, const float* grad, float* m, float* v, int64_t n, double lr, double beta1,
                   double beta2, double eps, double weight_decay, double grad_scale, int64_t t) {
  if (n < 0 || t < 1) return Status::Invalid("adam_update: n must be non-negative and t >= 1");
  if (n > 0 && (params == nullptr || grad == nullptr || m == nullptr || v == nullptr)) {
    return Status::Invalid("adam_update: null buffer");
  }
  if (!adam_hyper_ok(lr, beta1, beta2, eps, weight_decay, grad_scale)) {
    return Status::Invalid("adam_update: hyper-parameters out of range");
  }
  const AdamHyper h = adam_hyper(lr, beta1, beta2, eps, weight_decay, grad_scale, t);
  const IsaKernels& k = isa();
  parallel_for(n, kGrain,
               [&](int64_t i0, int64_t i1) { k.adam_range(params + i0, grad + i0, m + i0, v + i0, i1 - i0, h); });
  return Status::Ok();
}

}  // namespace nn
}  // namespace dpfl
