// Chooses the instruction-set variant once, at load: the best the CPU and OS support, lowered by
// DPFL_ISA=scalar|avx2|avx512 when set.
#include "dpfl/dispatch.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "isa.h"

namespace dpfl {
namespace {

bool cpu_has(Isa isa) {
#if DPFL_ISA_X86_64 && (defined(__GNUC__) || defined(__clang__))
  // libgcc/compiler-rt also check that the OS saves the wider registers (XGETBV).
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2");
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  }
  return false;
#else
  return isa == Isa::kScalar;
#endif
}

const IsaKernels* table_of(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return avx512_kernels();
    case Isa::kAvx2:
      return avx2_kernels();
    default:
      return &scalar_kernels();
  }
}

Isa best_isa() {
  Isa best = Isa::kScalar;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (isa_supported(isa)) best = isa;
  }
  if (const char* env = std::getenv("DPFL_ISA")) {
    for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
      if (std::strcmp(env, isa_name(isa)) == 0 && static_cast<int>(isa) < static_cast<int>(best)) best = isa;
    }
  }
  return best;
}

std::atomic<Isa>& active() {
  static std::atomic<Isa> isa{best_isa()};
  return isa;
}

}  // namespace

#if !DPFL_ISA_X86_64
// Not x86-64 (aarch64, ...): the AVX variant files are not compiled, only the scalar one runs.
const IsaKernels* avx2_kernels() { return nullptr; }
const IsaKernels* avx512_kernels() { return nullptr; }
#endif

bool isa_supported(Isa isa) { return table_of(isa) != nullptr && cpu_has(isa); }

Isa active_isa() { return active().load(std::memory_order_relaxed); }

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
    default:
      return "scalar";
  }
}

Status set_isa(Isa isa) {
  if (!isa_supported(isa)) return Status::Invalid("isa must be supported by this CPU and build");
  active().store(isa, std::memory_order_relaxed);
  return Status::Ok();
}

const IsaKernels& isa() { return *table_of(active_isa()); }

}  // namespace dpfl
