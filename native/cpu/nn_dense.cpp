// Dense layers over the GEMM: forward, input gradient, book-keeping parameter gradient, and the
// ghost norms that give per-example gradient norms from activations and output gradients.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "dpfl/nn.h"
#include "dpfl/parallel.h"

namespace dpfl {
namespace nn {
namespace {

Status check_dense(int64_t batch, int64_t in, int64_t out) {
  if (batch < 0) return Status::Invalid("batch must be non-negative");
  if (in <= 0 || out <= 0) return Status::Invalid("dense layer sizes must be positive");
  return Status::Ok();
}

double sqnorm(const float* x, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return s;
}

}  // namespace

Status dense_forward(const float* x, const float* w, const float* bias, float* y, int64_t batch, int64_t in,
                     int64_t out) {
  Status s = check_dense(batch, in, out);
  if (!s.ok()) return s;
  if (w == nullptr || (batch > 0 && (x == nullptr || y == nullptr)))
    return Status::Invalid("dense_forward: null buffer");
  if (batch == 0) return Status::Ok();
  if (bias != nullptr) {
    for (int64_t r = 0; r < batch; ++r) std::memcpy(y + r * out, bias, static_cast<size_t>(out) * sizeof(float));
  }
  return gemm_nn(x, w, y, batch, out, in, bias != nullptr);
}

Status dense_backward_input(const float* dy, const float* w, float* dx, int64_t batch, int64_t in, int64_t out) {
  Status s = check_dense(batch, in, out);
  if (!s.ok()) return s;
  if (w == nullptr || (batch > 0 && (dy == nullptr || dx == nullptr))) {
    return Status::Invalid("dense_backward_input: null buffer");
  }
  if (batch == 0) return Status::Ok();
  // dX = dY · Wᵀ with W (in x out): the "nt" form with B = W as an (in x out) = (n x k) matrix.
  return gemm_nt(dy, w, dx, batch, in, out, false);
}

Status bias_backward(const float* dy, const float* row_scale, float* dbias, int64_t batch, int64_t out,
                     bool accumulate) {
  if (batch < 0 || out <= 0) return Status::Invalid("bias_backward: sizes out of range");
  if (dbias == nullptr || (batch > 0 && dy == nullptr)) return Status::Invalid("bias_backward: null buffer");
  constexpr int64_t kCols = 256;
  parallel_for((out + kCols - 1) / kCols, 1, [&](int64_t c0, int64_t c1) {
    double acc[kCols];
    for (int64_t blk = c0; blk < c1; ++blk) {
      const int64_t j0 = blk * kCols;
      const int64_t w = std::min(kCols, out - j0);
      for (int64_t j = 0; j < w; ++j) acc[j] = accumulate ? dbias[j0 + j] : 0.0;
      for (int64_t r = 0; r < batch; ++r) {
        const double sc = row_scale ? row_scale[r] : 1.0;
        const float* row = dy + r * out + j0;
        for (int64_t j = 0; j < w; ++j) acc[j] += sc * row[j];
      }
      for (int64_t j = 0; j < w; ++j) dbias[j0 + j] = static_cast<float>(acc[j]);
    }
  });
  return Status::Ok();
}

Status dense_backward_params(const float* x, const float* dy, const float* row_scale, float* dw, float* dbias,
                             int64_t batch, int64_t in, int64_t out, bool accumulate) {
  Status s = check_dense(batch, in, out);
  if (!s.ok()) return s;
  if (dw == nullptr || (batch > 0 && (x == nullptr || dy == nullptr))) {
    return Status::Invalid("dense_backward_params: null buffer");
  }
  s = gemm_tn(x, dy, row_scale, dw, in, out, batch, accumulate);
  if (!s.ok() || dbias == nullptr) return s;
  return bias_backward(dy, row_scale, dbias, batch, out, accumulate);
}

Status row_sqnorms(const float* y, double* sq_norms, int64_t batch, int64_t dim) {
  if (batch < 0 || dim <= 0) return Status::Invalid("row_sqnorms: sizes out of range");
  if (batch > 0 && (y == nullptr || sq_norms == nullptr)) return Status::Invalid("row_sqnorms: null buffer");
  // At least 16 Ki floats a chunk: a narrow output (a 2-class bias) stays on the calling thread,
  // where waking a pool worker would cost more than the whole pass.
  const int64_t grain = std::max<int64_t>(64, (16384 + dim - 1) / dim);
  parallel_for(batch, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) sq_norms[r] = sqnorm(y + r * dim, dim);
  });
  return Status::Ok();
}

Status dense_ghost_sqnorms(const float* x, const float* dy, double* sq_norms, int64_t batch, int64_t in, int64_t out,
                           bool with_bias) {
  Status s = check_dense(batch, in, out);
  if (!s.ok()) return s;
  if (batch > 0 && (x == nullptr || dy == nullptr || sq_norms == nullptr)) {
    return Status::Invalid("dense_ghost_sqnorms: null buffer");
  }
  parallel_for(batch, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const double g = sqnorm(dy + r * out, out);
      sq_norms[r] = sqnorm(x + r * in, in) * g + (with_bias ? g : 0.0);
    }
  });
  return Status::Ok();
}

Status activation_forward(Activation f, const float* x, float* y, int64_t n) {
  if (n < 0) return Status::Invalid("activation: n must be non-negative");
  if (n > 0 && (x == nullptr || y == nullptr)) return Status::Invalid("activation: null buffer");
  if (f != Activation::kRelu && f != Activation::kTanh) return Status::Invalid("activation must be relu or tanh");
  parallel_for(n, 1 << 16, [&](int64_t i0, int64_t i1) {
    if (f == Activation::kRelu) {
      for (int64_t i = i0; i < i1; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    } else {
      for (int64_t i = i0; i < i1; ++i) y[i] = std::tanh(x[i]);
    }
  });
  return Status::Ok();
}

Status activation_backward(Activation f, const float* y, const float* dy, float* dx, int64_t n) {
  if (n < 0) return Status::Invalid("activation: n must be non-negative");
  if (n > 0 && (y == nullptr || dy == nullptr || dx == nullptr)) return Status::Invalid("activation: null buffer");
  if (f != Activation::kRelu && f != Activation::kTanh) return Status::Invalid("activation must be relu or tanh");
  parallel_for(n, 1 << 16, [&](int64_t i0, int64_t i1) {
    if (f == Activation::kRelu) {
      for (int64_t i = i0; i < i1; ++i) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    } else {
      for (int64_t i = i0; i < i1; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
    }
  });
  return Status::Ok();
}

}  // namespace nn
}  // namespace dpfl
