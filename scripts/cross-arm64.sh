#!/usr/bin/env bash
# linux-arm64: cross-compiles the core (scalar path only: the AVX files are x86-64 only) and its
# C++ tests with Debian's g++-aarch64-linux-gnu into build-arm64/, and runs them with ctest under
# qemu-user (cmake/aarch64-linux-gnu.cmake sets CMAKE_CROSSCOMPILING_EMULATOR). The toolchain and
# qemu are installed with apt-get only when missing. Writes build-arm64/ctest-junit.xml.
# Environment: BUILD_JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${BUILD_JOBS:-2}
out=build-arm64
start=$SECONDS

have_qemu() { command -v qemu-aarch64-static >/dev/null 2>&1 || command -v qemu-aarch64 >/dev/null 2>&1; }
missing=()
command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 || missing+=(g++-aarch64-linux-gnu)
have_qemu || missing+=(qemu-user-static)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi  # CI runners that are not root (GitHub Actions)
  echo "cross-arm64: installing ${missing[*]} (apt-get)"
  apt_start=$SECONDS
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "cross-arm64: installed in $((SECONDS - apt_start)) s"
  start=$SECONDS  # the times below are the build and the tests alone
fi
have_qemu || { echo "cross-arm64: qemu-aarch64 not found after installing qemu-user-static" >&2; exit 1; }

cmake -S . -B "$out" --toolchain cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release >/dev/null
timeout 900 cmake --build "$out" -j "$jobs" >"$out/build.log" 2>&1 || {
  tail -n 40 "$out/build.log"
  echo "cross-arm64: the aarch64 build failed (full log: $out/build.log)" >&2
  exit 1
}
machine=$(readelf -h "$out/test_isa" | sed -n 's/^ *Machine: *//p')
[ "$machine" = AArch64 ] || { echo "cross-arm64: test_isa is for '$machine', not AArch64" >&2; exit 1; }
echo "cross-arm64: built in $((SECONDS - start)) s (ELF machine: $machine)"
# The scalar path only: no x86 variant may have been compiled for this target.
if find "$out" -name 'isa_avx*.o' | grep -q .; then
  echo "cross-arm64: an AVX variant was compiled for aarch64" >&2
  exit 1
fi

# Each test is bounded (test_parallel runs fewer rounds under emulation, see CMakeLists.txt).
timeout 600 ctest --test-dir "$out" --output-on-failure --output-junit ctest-junit.xml -j "$jobs" --timeout 180
