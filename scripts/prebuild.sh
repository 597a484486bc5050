#!/usr/bin/env bash
# The addon's prebuild for this platform: prebuildify --napi --strip into prebuilds/<platform>-<arch>/,
# where node-gyp-build looks first. Usage: scripts/prebuild.sh [x64|arm64] (default: this machine's).
# On linux-x64, arm64 is cross-compiled with Debian's g++-aarch64-linux-gnu (installed with apt-get
# when missing); the result is checked to be an aarch64 ELF but cannot be loaded here.
# Builds from a copy of the files the package ships, so the repository's build/ keeps its
# host addon. Node's headers come from this machine (never downloaded) when it has them.
# The release workflow (.github/workflows/prebuild.yml) runs this script on its Linux jobs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
host_arch=$(node -p process.arch)
platform=$(node -p process.platform)
arch=${1:-$host_arch}
start=$SECONDS
case "$arch" in x64 | arm64) ;; *) echo "prebuild: arch must be x64 or arm64, got '$arch'" >&2; exit 2 ;; esac

args=(--napi --strip --arch "$arch" --out "$root")
# glibc-tagged on Linux (as sodium-native and sharp do): a musl system then builds from source
# instead of loading a binary linked against glibc.
if [ "$platform" = linux ]; then args+=(--tag-libc); fi

if [ "$arch" != "$host_arch" ]; then
  if [ "$platform" != linux ] || [ "$arch" != arm64 ]; then
    echo "prebuild: cross-compiling is set up for linux-arm64 only (here: $platform-$host_arch -> $arch)" >&2
    exit 2
  fi
  if ! command -v aarch64-linux-gnu-g++ >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "prebuild: installing g++-aarch64-linux-gnu (apt-get)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends g++-aarch64-linux-gnu >/dev/null
  fi
  # gyp's make generator takes the target toolchain from these.
  export CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar
  args+=(--strip-bin aarch64-linux-gnu-strip)
fi

# Local Node headers (npm's nodedir setting, or the Node install's include/node): node-gyp reads
# npm_config_nodedir and then downloads nothing. Without them node-gyp fetches the headers itself.
for dir in "${npm_config_nodedir:-}" "$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"; do
  if [ -n "$dir" ] && [ -f "$dir/include/node/node_api.h" ] && [ -f "$dir/include/node/common.gypi" ]; then
    export npm_config_nodedir="$dir"
    break
  fi
done

# A copy of what binding.gyp reads (the same paths as package.json's `files`), beside the
# repository's node_modules (node-addon-api, node-gyp).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/native"
cp package.json binding.gyp "$work/"
cp -R native/include native/cpu native/addon native/list-sources.cjs native/sources*.txt "$work/native/"
ln -s "$root/node_modules" "$work/node_modules"
export PREBUILD_NODE_GYP="$root/node_modules/.bin/node-gyp"

out="prebuilds/$platform-$arch"
rm -rf "$out"
echo "prebuild: $platform-$arch${npm_config_nodedir:+ (Node headers: $npm_config_nodedir)}"
(cd "$work" && timeout 900 "$root/node_modules/.bin/prebuildify" "${args[@]}" >"$work/build.log" 2>&1) || {
  tail -n 40 "$work/build.log"
  echo "prebuild: prebuildify failed for $platform-$arch" >&2
  exit 1
}

shopt -s nullglob
built=("$out"/*.node)
[ ${#built[@]} -eq 1 ] || { echo "prebuild: expected one .node in $out, found ${#built[@]}" >&2; exit 1; }
file=${built[0]}
if [ "$platform" = linux ]; then
  machine=$(readelf -h "$file" | sed -n 's/^ *Machine: *//p')
  want=$([ "$arch" = arm64 ] && echo AArch64 || echo "X86-64")
  case "$machine" in *"$want"*) ;; *) echo "prebuild: $file is for '$machine', not $want" >&2; exit 1 ;; esac
fi
if [ "$arch" = "$host_arch" ]; then
  # node-gyp-build picks this file in a package holding only it (as an installed package without
  # build/ does) and it loads.
  mkdir -p "$work/pick/$out"
  cp package.json "$work/pick/"
  cp "$file" "$work/pick/$out/"
  node -e '
    const chosen = require("node-gyp-build").resolve(process.argv[1]);
    if (!chosen.endsWith(process.argv[2])) throw new Error("node-gyp-build chose " + chosen);
    require(chosen);
  ' "$work/pick" "$file"
  loaded="loads in this Node"
else
  loaded="not loaded: no $arch Node here"
fi
echo "prebuild: $file ($(du -k "$file" | cut -f1) KiB, ${machine:-$platform}, $loaded, $((SECONDS - start)) s)"
