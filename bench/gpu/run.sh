#!/usr/bin/env bash
# The CUDA backend on a GPU machine (CUDA toolkit and CMake; Node not needed): builds the backend
# and the CPU core, runs the C++ tests, validates every CUDA kernel against the CPU core (relative
# bounds for sums, bit equality for noise, poisoned outputs), then times each kernel over the CPU
# benchmark's shapes against a device-to-device copy measured in the same run. Prints a table last
# and writes bench/results/gpu-<date>.json.  Usage: bench/gpu/run.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=$(nproc 2>/dev/null || echo 4)
cmake -S . -B build-cuda -DDPFL_CUDA=ON -DCMAKE_BUILD_TYPE=Release
cmake --build build-cuda -j "$jobs"
ctest --test-dir build-cuda --output-on-failure -E cuda_validate
mkdir -p bench/results
out="bench/results/gpu-$(date +%Y-%m-%d).json"
./build-cuda/dpfl_cuda_validate --json "$out" "$@"
echo "wrote $out"
