// Benchmark inputs: big aligned buffers allocated once per shape and filled with deterministic
// pseudo-random values (the same on every run), freed when the shape is done.
#pragma once
#include <cstdint>
#include <memory>

namespace bench {

// 64-byte aligned floats, not zero-initialised: the fill is the first touch of every page.
class FloatBuffer {
 public:
  explicit FloatBuffer(int64_t n);
  float* data() { return p_.get(); }
  const float* data() const { return p_.get(); }
  int64_t size() const { return n_; }

 private:
  struct Free {
    void operator()(float* p) const;
  };
  std::unique_ptr<float, Free> p_;
  int64_t n_;
};

// Uniform values in [lo, hi): a block of a prime length from xorshift64*, tiled over x, so a 4 GB
// matrix fills at memcpy speed and rows of any length are not copies of each other.
void fill_uniform(float* x, int64_t n, uint64_t seed, float lo, float hi);

}  // namespace bench
