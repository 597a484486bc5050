// Softmax cross-entropy per example, numerically stable (max subtracted, float64 sums).
#include <cmath>

#include "dpfl/nn.h"
#include "dpfl/parallel.h"

namespace dpfl {
namespace nn {

Status softmax_cross_entropy(const float* logits, const int32_t* labels, float* loss, float* dlogits, int64_t batch,
                             int64_t classes) {
  if (batch < 0 || classes < 1) return Status::Invalid("softmax_cross_entropy: sizes out of range");
  if (batch > 0 && (logits == nullptr || labels == nullptr))
    return Status::Invalid("softmax_cross_entropy: null buffer");
  for (int64_t r = 0; r < batch; ++r) {
    if (labels[r] < 0 || labels[r] >= classes) return Status::Invalid("labels must lie in [0, classes)");
  }
  parallel_for(batch, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* z = logits + r * classes;
      float zmax = z[0];
      for (int64_t c = 1; c < classes; ++c) zmax = z[c] > zmax ? z[c] : zmax;
      double sum = 0.0;
      for (int64_t c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(z[c]) - zmax);
      const int32_t y = labels[r];
      if (loss != nullptr) loss[r] = static_cast<float>(std::log(sum) - (static_cast<double>(z[y]) - zmax));
      if (dlogits != nullptr) {
        float* d = dlogits + r * classes;
        for (int64_t c = 0; c < classes; ++c) {
          const double p = std::exp(static_cast<double>(z[c]) - zmax) / sum;
          d[c] = static_cast<float>(c == y ? p - 1.0 : p);
        }
      }
    }
  });
  return Status::Ok();
}

}  // namespace nn
}  // namespace dpfl
