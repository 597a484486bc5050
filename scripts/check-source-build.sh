#!/usr/bin/env bash
# The packed tarball builds its addon from source: everything binding.gyp compiles or includes is
# in `files`. Packs the package (or takes a tarball: scripts/check-source-build.sh dpfl-x.y.z.tgz),
# extracts it into an empty directory beside only its runtime dependency node-addon-api, runs
# node-gyp there against the local Node headers (never downloaded), and loads the result.
# Environment: BUILD_JOBS (default 2), DPFL_NODEDIR (default: detected, see node_headers below).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${BUILD_JOBS:-2}
start=$SECONDS

# Node's headers for node-gyp: an explicit DPFL_NODEDIR or npm's nodedir setting, the Node install
# itself (distribution packages ship include/node), or node-gyp's cache of this exact version.
node_headers() {
  local candidates=("${DPFL_NODEDIR:-}" "${npm_config_nodedir:-}" "$(npm config get nodedir 2>/dev/null || true)"
    "$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
    "$HOME/.cache/node-gyp/$(node -p process.versions.node)")
  local dir
  for dir in "${candidates[@]}"; do
    if [ -n "$dir" ] && [ "$dir" != undefined ] && [ -f "$dir/include/node/node_api.h" ] && \
        [ -f "$dir/include/node/common.gypi" ]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}
nodedir=$(node_headers) || {
  echo "check-source-build: no local Node headers (include/node/node_api.h) found; set DPFL_NODEDIR" >&2
  exit 1
}
node_gyp="$root/node_modules/.bin/node-gyp"
[ -x "$node_gyp" ] || { echo "check-source-build: $node_gyp missing (run npm ci)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -ge 1 ]; then
  tarball=$(readlink -f "$1")
else
  tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
fi
echo "check-source-build: $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB), Node headers in $nodedir"

mkdir -p "$work/pkg"
tar -xzf "$tarball" -C "$work/pkg" --strip-components=1
cd "$work/pkg"
# Only the package's runtime dependencies (binding.gyp asks node-addon-api for its include
# directory; node-gyp-build loads the result); no devDependency and no repository file is visible.
mkdir -p node_modules
for dep in $(node -p 'Object.keys(require("./package.json").dependencies || {}).join(" ")'); do
  test -d "$root/node_modules/$dep" || { echo "check-source-build: dependency $dep not installed" >&2; exit 1; }
  ln -s "$root/node_modules/$dep" "node_modules/$dep"
done
rm -rf prebuilds build

timeout 600 "$node_gyp" rebuild --nodedir="$nodedir" -j "$jobs" --loglevel=warn >"$work/build.log" 2>&1 || {
  status=$?
  tail -n 40 "$work/build.log"
  if [ $status -eq 124 ]; then echo "check-source-build: node-gyp timed out after 600 s" >&2; fi
  echo "check-source-build: the addon does not build from the tarball's sources" >&2
  exit 1
}
addon="$work/pkg/build/Release/dpfl.node"
test -f "$addon" || { echo "check-source-build: node-gyp built no $addon" >&2; exit 1; }

# The package's loader (node-gyp-build from the package root, as src/native/binding.ts calls it)
# finds that build and it computes: two rows clipped to norm 1 and summed.
node -e '
  const b = require("node-gyp-build")(process.argv[1]);
  const sum = new Float32Array(3);
  b.clipAndSum(Float32Array.of(3, 4, 0, 0, 0, 1), 2, null, Float64Array.of(1), sum, new Float32Array(2), null);
  const want = [0.6, 0.8, 1];
  if (!sum.every((v, i) => Math.abs(v - want[i]) < 1e-5)) throw new Error("clipAndSum gave " + sum);
' "$work/pkg"
echo "check-source-build: ok — the tarball's sources compile into a working addon" \
  "($(du -k "$addon" | cut -f1) KiB, $((SECONDS - start)) s)"
