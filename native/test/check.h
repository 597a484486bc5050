// A tiny test harness for the core's C++ tests: TEST(name) registers a case, CHECK* record
// failures with file and line, main() runs every case and prints "N passed, M failed".
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace check {

struct Case {
  const char* name;
  std::function<void()> fn;
};

inline std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}
inline int& failures() {
  static int n = 0;
  return n;
}

struct Register {
  Register(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::fprintf(stderr, "  FAILED %s:%d: %s\n", file, line, what.c_str());
}

// Tolerance rule used across the C++ tests: |a - b| <= atol + rtol * |ref|.
inline bool close(double a, double ref, double atol, double rtol) {
  return std::fabs(a - ref) <= atol + rtol * std::fabs(ref);
}

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

}  // namespace check

#define DPFL_CAT2(a, b) a##b
#define DPFL_CAT(a, b) DPFL_CAT2(a, b)
#define TEST(name)                                               \
  static void name();                                            \
  static check::Register DPFL_CAT(register_, name)(#name, name); \
  static void name()

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) check::fail(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)

#define CHECK_EQ(a, b)                                                                                        \
  do {                                                                                                        \
    auto va_ = (a);                                                                                           \
    auto vb_ = (b);                                                                                           \
    if (!(va_ == vb_))                                                                                        \
      check::fail(__FILE__, __LINE__,                                                                         \
                  std::string(#a " == " #b " (") + std::to_string(va_) + " vs " + std::to_string(vb_) + ")"); \
  } while (0)

#define CHECK_CLOSE(a, ref, atol, rtol)                                                                        \
  do {                                                                                                         \
    double va_ = (a), vr_ = (ref);                                                                             \
    if (!check::close(va_, vr_, (atol), (rtol)))                                                               \
      check::fail(__FILE__, __LINE__,                                                                          \
                  std::string(#a " ~ " #ref " (") + std::to_string(va_) + " vs " + std::to_string(vr_) + ")"); \
  } while (0)

#define CHECK_OK(status) CHECK((status).ok())

#define CHECK_MAIN()                                       \
  int main() {                                             \
    int passed = 0, failed = 0;                            \
    for (const check::Case& c : check::registry()) {       \
      const int before = check::failures();                \
      c.fn();                                              \
      if (check::failures() == before) {                   \
        ++passed;                                          \
      } else {                                             \
        ++failed;                                          \
        std::fprintf(stderr, "FAILED %s\n", c.name);       \
      }                                                    \
    }                                                      \
    std::printf("%d passed, %d failed\n", passed, failed); \
    return failed == 0 ? 0 : 1;                            \
  }
