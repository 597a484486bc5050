// Times ghost clipping (dpfl/tfjs) against a non-private tf.variableGrads of the mean loss and against the
// batch-of-one loop, for a 784→128→10 MLP. Needs `npm run build:ts` first.
// Usage: node scripts/bench-tfjs-ghost.mjs [backend=wasm] [batch=256] [loopRuns=3]
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { ghostClippedGradients } from '../dist/tfjs/gradients.js';

const [backend = 'wasm', batch = '256', loopRuns = '3'] = process.argv.slice(2);
await tf.setBackend(backend);
await tf.ready();
const B = Number(batch);
const model = tf.sequential({
  layers: [tf.layers.dense({ units: 128, activation: 'relu', inputShape: [784] }), tf.layers.dense({ units: 10 })],
});
const xs = tf.randomNormal([B, 784], 0, 1, 'float32', 1);
const ys = tf.oneHot(tf.randomUniform([B], 0, 10, 'int32', 2), 10).toFloat();
const ce = (y, p) => tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(p)), 1));
const vars = model.trainableWeights.map((w) => w.read());
const clipTo = (sq) => Math.min(1, 1 / Math.sqrt(sq));

/** Gradients of f, downloaded like ghost clipping's are. */
async function download(f) {
  const { value, grads } = tf.variableGrads(f, vars);
  const out = [];
  for (const v of vars) out.push(await grads[v.name].data());
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

const plain = () => download(() => tf.mean(ce(ys, model.apply(xs, { training: true }))));
const ghost = () => ghostClippedGradients(model, xs, ys, ce, (sq) => Float32Array.from(sq, clipTo));
async function loop() {
  const acc = vars.map((v) => new Float32Array(v.size));
  for (let i = 0; i < B; i++) {
    const pick = (t) => tf.slice(t, [i], [1]);
    const parts = await download(() => tf.sum(ce(pick(ys), model.apply(pick(xs), { training: true }))));
    let sq = 0;
    for (const d of parts) for (const e of d) sq += e * e;
    const c = clipTo(sq);
    parts.forEach((d, k) => {
      for (let j = 0; j < d.length; j++) acc[k][j] += c * d[j];
    });
  }
}

async function median(f, n) {
  await f();
  await f();
  const times = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await f();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(n / 2)];
}

const before = tf.memory().numTensors;
const plainMs = await median(plain, 10);
const ghostMs = await median(ghost, 10);
const loopMs = await median(loop, Number(loopRuns));
const leaked = tf.memory().numTensors - before;
console.log(JSON.stringify({ backend: tf.getBackend(), B, plainMs, ghostMs, loopMs, leaked }));
