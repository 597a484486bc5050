# Cross-compiling for linux-arm64 with Debian's cross toolchain (g++-aarch64-linux-gnu); tests run
# through qemu-user (ctest prefixes every test command with CMAKE_CROSSCOMPILING_EMULATOR).
# Used by scripts/cross-arm64.sh:  cmake -S . -B build-arm64 --toolchain cmake/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(DPFL_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${DPFL_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${DPFL_CROSS_TRIPLE}-g++)
# The target's libraries and headers (libstdc++, libc) live in Debian's multiarch cross root.
set(CMAKE_FIND_ROOT_PATH /usr/${DPFL_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# qemu-aarch64-static (qemu-user-static) or qemu-aarch64 (qemu-user); -L: the dynamic loader and
# shared libraries of the target come from the cross root.
find_program(DPFL_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(DPFL_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${DPFL_QEMU_AARCH64} -L /usr/${DPFL_CROSS_TRIPLE})
endif()
