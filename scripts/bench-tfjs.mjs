// dpfl/tfjs against plain tfjs (issue 15's targets): one private step (makePrivateTrainer, ghost clipping)
// and one naive batch-of-one step (gradients: 'per-example') over one non-private step of the same model and
// batch, for an MLP (784→128→10, batch 256) and a Conv2D model (28×28×1, batch 64). Cold = the first call on
// a fresh model; warm = the median of `--reps` calls after 3 warm-ups. Targets: private/non-private ≤ 1.25
// (MLP) and ≤ 1.5 (Conv2D) on wasm. Dev script (needs the tfjs devDependencies), run by `npm run bench:tfjs`.
// Usage: node scripts/bench-tfjs.mjs [--backend wasm|cpu] [--reps 10] [--naive-reps 3] [--json]
//        node scripts/bench-tfjs.mjs --accuracy [--seeds 1,2,3] [--json]   (see accuracy-tfjs.mjs)
import { performance } from 'node:perf_hooks';
import { makePrivateTrainer } from '../dist/tfjs/index.js';
import { load, machine, option, tf, useBackend } from './tfjs-env.mjs';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
if (argv.includes('--accuracy')) {
  const { accuracyMain } = await import('./accuracy-tfjs.mjs');
  await accuracyMain(argv);
  process.exit(0);
}
const backend = option(argv, 'backend', 'wasm');
const reps = Number(option(argv, 'reps', '10'));
const naiveReps = Number(option(argv, 'naive-reps', '3'));
const WARMUPS = 3;

const MODELS = {
  mlp: {
    title: 'MLP 784→128→10',
    batch: 256,
    target: 1.25,
    input: [784],
    build: (seed) =>
      tf.sequential({
        layers: [
          tf.layers.dense({ units: 128, activation: 'relu', inputShape: [784], kernelInitializer: init(seed) }),
          tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(seed + 1) }),
        ],
      }),
  },
  conv: {
    title: 'Conv2D 3×3×16 → pool → 3×3×32 → pool → dense 10',
    batch: 64,
    target: 1.5,
    input: [28, 28, 1],
    build: (seed) =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({
            filters: 16,
            kernelSize: 3,
            activation: 'relu',
            inputShape: [28, 28, 1],
            kernelInitializer: init(seed),
          }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', kernelInitializer: init(seed + 1) }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(seed + 2) }),
        ],
      }),
  },
};

function init(seed) {
  return tf.initializers.glorotUniform({ seed });
}

/** The same data for every route: pixels in [0, 1), one-hot labels. */
function batchOf(spec) {
  const xs = tf.randomUniform([spec.batch, ...spec.input], 0, 1, 'float32', 7);
  const ys = tf.oneHot(tf.randomUniform([spec.batch], 0, 10, 'int32', 8), 10).toFloat();
  return { xs, ys };
}

/** A Keras user's step: forward, mean loss, backward, tf.train.sgd applies; waits for the loss value. */
function plainStep(model, xs, ys) {
  const optimizer = tf.train.sgd(0.05);
  const vars = model.trainableWeights.map((w) => w.read());
  return async () => {
    const loss = optimizer.minimize(
      () => tf.mean(tf.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true }))),
      true,
      vars,
    );
    await loss.data();
    loss.dispose();
  };
}

/** One private step: clipped gradients, noise, the tf optimizer's update (tf Variables written on return). */
function privateStep(model, xs, ys, extra) {
  const trainer = makePrivateTrainer(model, {
    datasetSize: 60000,
    batchSize: xs.shape[0],
    targetEpsilon: 3,
    delta: 1e-5,
    epochs: 100, // a plan long enough that the budget guard never stops the bench
    maxGradNorm: 1,
    optimizer: tf.train.sgd(0.05),
    loss: 'categoricalCrossentropy',
    ...extra,
  });
  return async () => {
    await trainer.step(xs, ys);
    // The update is applied on the backend: wait for it as the plain step waits for its loss.
    await model.trainableWeights[0].read().data();
  };
}

async function time(f) {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

/** Cold (first call) and warm (median of n after `warm` warm-ups) milliseconds. */
async function measure(f, n, warm) {
  const cold = await time(f);
  for (let i = 0; i < warm; i++) await f();
  const times = [];
  for (let i = 0; i < n; i++) times.push(await time(f));
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return { coldMs: cold, warmMs: median, runs: n, minMs: times[0], maxMs: times[times.length - 1] };
}

const ROUTES = [
  { name: 'non-private', make: (m, xs, ys) => plainStep(m, xs, ys) },
  { name: 'private (ghost, secure noise)', make: (m, xs, ys) => privateStep(m, xs, ys, {}) },
  { name: 'private (ghost, Philox seed 1)', make: (m, xs, ys) => privateStep(m, xs, ys, { seed: 1 }) },
  {
    name: 'naive batch-of-one',
    naive: true,
    make: (m, xs, ys) => privateStep(m, xs, ys, { gradients: 'per-example' }),
  },
];

async function benchModel(key) {
  const spec = MODELS[key];
  const { xs, ys } = batchOf(spec);
  const rows = [];
  for (const r of ROUTES) {
    const model = spec.build(11); // a fresh model per route: cold is its first step
    const f = r.make(model, xs, ys);
    try {
      const m = r.naive ? await measure(f, naiveReps, 1) : await measure(f, reps, WARMUPS);
      rows.push({ route: r.name, ...m });
    } catch (e) {
      // e.g. tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter kernel: tf autograd cannot train conv.
      rows.push({ route: r.name, error: e instanceof Error ? e.message : String(e) });
    }
    model.dispose();
  }
  tf.dispose([xs, ys]);
  const base = rows[0];
  for (const r of rows) {
    const ok = r.error === undefined && base.error === undefined;
    r.warmRatio = ok ? r.warmMs / base.warmMs : null;
    r.coldRatio = ok ? r.coldMs / base.coldMs : null;
  }
  const ratio = rows[1].warmRatio;
  return {
    model: key,
    title: spec.title,
    batch: spec.batch,
    params: spec.build(0).countParams(),
    rows,
    target: { ratio: spec.target, measured: ratio, pass: ratio === null ? null : ratio <= spec.target },
  };
}

const active = await useBackend(backend);
const loadStart = load();
const info = machine();
const results = [];
for (const key of Object.keys(MODELS)) results.push(await benchModel(key));
const out = { machine: { ...info, loadStart, loadEnd: load() }, reps, naiveReps, warmups: WARMUPS, results };

const f1 = (v) => v.toFixed(1);
const ratioText = (v) => (v === null ? '-' : v.toFixed(2));
if (json) {
  console.log(JSON.stringify(out));
} else {
  const m = out.machine;
  console.log(`${m.date}  ${m.cpu} × ${m.cores}  node ${m.node}  tfjs ${m.tfjs} (${active})`);
  console.log(`load average (1/5/15 min): start ${m.loadStart.join(' ')}, end ${m.loadEnd.join(' ')}`);
  for (const r of results) {
    console.log(`\n${r.title}, batch ${r.batch} (${r.params} params)`);
    console.log('route                              cold ms  warm ms  warm/non-private  cold/non-private');
    for (const row of r.rows) {
      if (row.error !== undefined) {
        console.log(`${row.route.padEnd(32)} failed: ${row.error}`);
        continue;
      }
      const cells = [f1(row.coldMs).padStart(7), f1(row.warmMs).padStart(8), ratioText(row.warmRatio).padStart(17)];
      console.log(`${row.route.padEnd(32)} ${cells.join(' ')} ${ratioText(row.coldRatio).padStart(17)}`);
    }
    const t = r.target;
    const verdict = t.pass === null ? 'NOT MEASURED (a route failed)' : t.pass ? 'PASS' : 'MISS';
    console.log(`target private/non-private ≤ ${t.ratio}: ${ratioText(t.measured)} ${verdict}`);
  }
}
