// Optimizer updates over the flat parameter vector: SGD with momentum, and Adam. Elementwise, so
// any chunking gives the same bits; float64 intermediate arithmetic, float32 state.
#include <cmath>

#include "dpfl/nn.h"
#include "dpfl/parallel.h"

namespace dpfl {
namespace nn {
namespace {
constexpr int64_t kGrain = 1 << 16;

bool finite_hyper(double v) { return std::isfinite(v); }
}  // namespace

Status sgd_update(float* params, const float* grad, float* velocity, int64_t n, double lr, double momentum,
                  double weight_decay, double grad_scale) {
  if (n < 0) return Status::Invalid("sgd_update: n must be non-negative");
  if (n > 0 && (params == nullptr || grad == nullptr)) return Status::Invalid("sgd_update: null buffer");
  if (!finite_hyper(lr) || !finite_hyper(momentum) || !finite_hyper(weight_decay) || !finite_hyper(grad_scale)) {
    return Status::Invalid("sgd_update: hyper-parameters must be finite");
  }
  parallel_for(n, kGrain, [&](int64_t i0, int64_t i1) {
    if (velocity != nullptr) {
      for (int64_t i = i0; i < i1; ++i) {
        const float g = static_cast<float>(grad_scale * grad[i] + weight_decay * params[i]);
        velocity[i] = static_cast<float>(momentum * velocity[i] + g);
        params[i] = static_cast<float>(params[i] - lr * velocity[i]);
      }
    } else {
      for (int64_t i = i0; i < i1; ++i) {
        const double g = grad_scale * grad[i] + weight_decay * params[i];
        params[i] = static_cast<float>(params[i] - lr * g);
      }
    }
  });
  return Status::Ok();
}

Status adam_update(float* params, const float* grad, float* m, float* v, int64_t n, double lr, double beta1,
                   double beta2, double eps, double weight_decay, double grad_scale, int64_t t) {
  if (n < 0 || t < 1) return Status::Invalid("adam_update: n must be non-negative and t >= 1");
  if (n > 0 && (params == nullptr || grad == nullptr || m == nullptr || v == nullptr)) {
    return Status::Invalid("adam_update: null buffer");
  }
  if (!finite_hyper(lr) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0) ||
      !finite_hyper(weight_decay) || !finite_hyper(grad_scale)) {
    return Status::Invalid("adam_update: hyper-parameters out of range");
  }
  const double c1 = 1.0 - std::pow(beta1, static_cast<double>(t));
  const double c2 = 1.0 - std::pow(beta2, static_cast<double>(t));
  parallel_for(n, kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const double g = grad_scale * grad[i] + weight_decay * params[i];
      const float mi = static_cast<float>(beta1 * m[i] + (1.0 - beta1) * g);
      const float vi = static_cast<float>(beta2 * v[i] + (1.0 - beta2) * g * g);
      m[i] = mi;
      v[i] = vi;
      params[i] = static_cast<float>(params[i] - lr * (mi / c1) / (std::sqrt(vi / c2) + eps));
    }
  });
  return Status::Ok();
}

}  // namespace nn
}  // namespace dpfl
