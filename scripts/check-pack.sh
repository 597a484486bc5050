#!/usr/bin/env bash
# The packed package works for a user without a compiler: build the prebuild, pack, install the
# tarball into an empty project with g++/make/python hidden from PATH, and call every kernel.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

npm run prebuild
ls prebuilds/*/
rm -f dpfl-*.tgz
tarball=$(npm pack --silent | tail -n 1)
listing=$(tar -tzf "$tarball")
for want in package/prebuilds/linux-x64/ package/dist/index.js package/native/sources.txt package/binding.gyp; do
  grep -q "$want" <<<"$listing" || { echo "$want missing from $tarball"; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A PATH holding only node and sh: no g++, cc, make or python, so a build from source would fail.
mkdir -p "$work/bin" "$work/app"
ln -s "$(command -v node)" "$work/bin/node"
ln -s "$(command -v sh)" "$work/bin/sh"  # npm runs install scripts with sh
npm_cli=$(readlink -f "$(command -v npm)")  # npm-cli.js, run by node alone
for tool in g++ c++ cc gcc make python3; do
  if PATH="$work/bin" command -v "$tool" >/dev/null 2>&1; then echo "$tool still visible"; exit 1; fi
done
cp "$tarball" scripts/pack-smoke.mjs "$work/app/"
cd "$work/app"
echo '{ "name": "dpfl-pack-check", "private": true, "type": "module" }' > package.json
PATH="$work/bin" node "$npm_cli" install --no-audit --no-fund "./$tarball"
test ! -d node_modules/dpfl/build || { echo "dpfl was built from source: the prebuild was not used"; exit 1; }
PATH="$work/bin" node pack-smoke.mjs

# The command line as a user gets it: the installed bin, without dpfl's devDependencies (a
# sub-command's imports load only when it runs; `dpfl bench` alone needs the dev tools).
dpfl=./node_modules/.bin/dpfl
PATH="$work/bin" "$dpfl" --help
PATH="$work/bin" "$dpfl" info --json
PATH="$work/bin" "$dpfl" epsilon --sample-rate 0.004267 --noise 1.1 --steps 1000 --delta 1e-5 --json
PATH="$work/bin" "$dpfl" calibrate --epsilon 3 --delta 1e-5 --sample-rate 0.004267 --steps 1000 --json
PATH="$work/bin" "$dpfl" demo --json >/dev/null
echo "pack check: the installed dpfl command runs (help, info, epsilon, calibrate, demo)"

# CommonJS users: require(esm) (Node >= 20.19) through the exports map's default condition.
PATH="$work/bin" node -e 'const d = require("dpfl"); if (typeof d.clipAndSum !== "function") process.exit(1);'
echo "pack check: require('dpfl') works"
