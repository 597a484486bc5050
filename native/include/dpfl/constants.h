// Constants of the dpfl core that more than one build reads: the CPU kernels (kernels.h), the CUDA
// kernels (native/cuda) and, through the addon's `constants` export, TypeScript (src/kernels/constants.ts).
// Each is defined here only. Plain constexpr scalars: nvcc lets device code read them directly.
#pragma once

namespace dpfl {

// Added to the norm in the clipping scale min(1, C / (norm + kClipEpsilon)), as in Opacus, so a
// zero row never divides by zero.
constexpr double kClipEpsilon = 1e-6;

// No sample of either noise stream exceeds this in magnitude: uniforms are at least 2^-53 (gaussian.h),
// so a Box-Muller draw is at most sqrt(-2 ln 2^-53) = 8.572, and a secure sample, the sum of two
// such draws over sqrt(2), at most 12.13.
constexpr double kMaxAbsNoiseSample = 12.2;

}  // namespace dpfl
