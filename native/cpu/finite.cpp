#include <cmath>

#include "dpfl/kernels.h"

namespace dpfl {

bool all_finite(const float* x, int64_t n) {
  // x - x is 0 for finite x and NaN for NaN/Inf; summing keeps the loop branch-free.
  float acc = 0.0f;
  for (int64_t i = 0; i < n; ++i) acc += x[i] - x[i];
  return acc == 0.0f;
}

}  // namespace dpfl
