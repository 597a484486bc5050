// Instruction-set dispatch: every hot loop of the CPU core exists in a scalar, an AVX2 and an
// AVX-512 variant; one is chosen at load time from the CPU's features (DPFL_ISA=scalar|avx2|avx512
// forces one, never above what the CPU supports). All variants produce bit-identical results.
#pragma once

#include "dpfl/status.h"

namespace dpfl {

enum class Isa : int { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

Isa active_isa();
const char* isa_name(Isa isa);
// True when this build contains the variant and the CPU and OS can run it.
bool isa_supported(Isa isa);
// Switches the variant (for tests and benchmarks); refuses an unsupported one.
Status set_isa(Isa isa);

}  // namespace dpfl
