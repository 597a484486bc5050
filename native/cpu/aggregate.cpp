// Weighted sums of client updates: one-shot over K vectors, and streaming.
#include <algorithm>
#include <cmath>

#include "dpfl/kernels.h"

namespace dpfl {
namespace {

// Columns per tile: 2048 float64 accumulators (16 KiB) stay in L1 while K updates stream by.
constexpr int64_t kColumnTile = 2048;

Status check_weights(const double* weights, int64_t count, bool normalize, double* total) {
  double sum = 0.0;
  for (int64_t k = 0; k < count; ++k) {
    if (!std::isfinite(weights[k]) || weights[k] < 0.0)
      return Status::Invalid("weights must be finite and non-negative");
    sum += weights[k];
  }
  if (normalize && !(sum > 0.0)) return Status::Invalid("weights must have a positive sum to normalize");
  *total = sum;
  return Status::Ok();
}

}  // namespace

Status weighted_sum(const float* const* updates, int64_t count, int64_t dim, const double* weights,
                    bool normalize, float* out, int64_t* bad_update) {
  *bad_update = -1;
  if (count <= 0) return Status::Invalid("updates must hold at least one update");
  if (dim <= 0) return Status::Invalid("updates must have a positive length");
  if (out == nullptr || updates == nullptr || weights == nullptr) return Status::Invalid("out must not be null");
  double total = 0.0;
  Status s = check_weights(weights, count, normalize, &total);
  if (!s.ok()) return s;
  const double inv = normalize ? 1.0 / total : 1.0;
  double acc[kColumnTile];
  for (int64_t c0 = 0; c0 < dim; c0 += kColumnTile) {
    const int64_t width = std::min(kColumnTile, dim - c0);
    std::fill(acc, acc + width, 0.0);
    for (int64_t k = 0; k < count; ++k) {
      const float* u = updates[k] + c0;
      const double w = weights[k];
      for (int64_t d = 0; d < width; ++d) acc[d] += w * u[d];
    }
    // Finite float32 inputs times finite weights cannot overflow float64, so a non-finite
    // accumulator means a NaN/Inf input: find which update, on this slow path only.
    double check = 0.0;
    for (int64_t d = 0; d < width; ++d) check += acc[d] - acc[d];
    if (check != 0.0) {
      for (int64_t k = 0; k < count; ++k) {
        if (!all_finite(updates[k] + c0, width)) {
          *bad_update = k;
          break;
        }
      }
      return Status::Invalid("updates must contain only finite values");
    }
    for (int64_t d = 0; d < width; ++d) out[c0 + d] = static_cast<float>(acc[d] * inv);
  }
  return Status::Ok();
}

Accumulator::Accumulator(int64_t dim) : dim_(dim), sum_(static_cast<size_t>(dim > 0 ? dim : 0), 0.0) {}

Status Accumulator::add(const float* update, int64_t n, double weight) {
  if (n != dim_) return Status::Invalid("update must have the aggregator's dimension");
  if (!std::isfinite(weight) || weight < 0.0) return Status::Invalid("weight must be finite and non-negative");
  // Check first so a rejected update leaves the state exactly as it was.
  if (!all_finite(update, n)) return Status::Invalid("update must contain only finite values");
  for (int64_t d = 0; d < n; ++d) sum_[static_cast<size_t>(d)] += weight * update[d];
  total_weight_ += weight;
  ++count_;
  return Status::Ok();
}

Status Accumulator::result(bool normalize, float* out) const {
  if (normalize && !(total_weight_ > 0.0))
    return Status::Invalid("the aggregator must hold a positive total weight to normalize");
  const double inv = normalize ? 1.0 / total_weight_ : 1.0;
  for (int64_t d = 0; d < dim_; ++d) out[d] = static_cast<float>(sum_[static_cast<size_t>(d)] * inv);
  return Status::Ok();
}

void Accumulator::reset() {
  std::fill(sum_.begin(), sum_.end(), 0.0);
  count_ = 0;
  total_weight_ = 0.0;
}

}  // namespace dpfl
