#!/usr/bin/env bash
# The whole vitest suite once against an AddressSanitizer + UndefinedBehaviorSanitizer build of the
# addon. cmake-js builds the addon with -DDPFL_SANITIZE=ON into build-asan-addon/ (the core and the
# N-API glue instrumented); src/native/binding.ts loads it from DPFL_ADDON_PATH; node itself is not
# instrumented, so the ASan runtime is preloaded. Any ASan report or UBSan error aborts the worker
# process and fails its tests. The JSON report (build-asan-addon/vitest-report.json) feeds
# scripts/test-summary.mjs. Extra arguments go to vitest (e.g. a test file).
set -euo pipefail
cd "$(dirname "$0")/.."

out=build-asan-addon
jobs=${BUILD_JOBS:-2}
CMAKE_BUILD_PARALLEL_LEVEL=$jobs npx cmake-js compile --out "$out" --CDDPFL_SANITIZE=ON -p "$jobs"
addon="$PWD/$out/Release/dpfl.node"

# The runtime the addon was linked against (gcc's libasan by default).
runtime=$(ldd "$addon" | awk '/libasan/ { print $3 }')
[ -n "$runtime" ] || runtime=$(gcc -print-file-name=libasan.so)
echo "ASan runtime: $runtime"

# The CLI tests run dist/: build it so it honours DPFL_ADDON_PATH too.
npm run --silent build:ts

export DPFL_ADDON_PATH="$addon"
export LD_PRELOAD="$runtime"
# Node and V8 keep allocations until exit by design: leak checking would only report those.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:allow_user_segv_handler=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1

# The sanitized addon must really be the one loaded (a silent fallback would test nothing).
node --input-type=module -e "
  await import('./dist/native/binding.js');
  const maps = (await import('node:fs')).readFileSync('/proc/self/maps', 'utf8');
  if (!maps.includes('$out/Release/dpfl.node')) { console.error('the ASan addon was not loaded'); process.exit(1); }
  console.log('loaded', process.env.DPFL_ADDON_PATH);
"
npx vitest run --outputFile.json="$out/vitest-report.json" "$@"
