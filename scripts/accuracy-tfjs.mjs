// Issue 15's accuracy target: a tfjs MLP (784→128 relu→10 softmax) trained with dpfl/tfjs's makePrivateTrainer
// at ε = 3, δ = 1e-5 on the `mnist` package, within 1 point of dpfl's built-in MLP at the same settings (mean
// over seeds). Settings, split and data are the built-in run's own: `dpfl train --dataset mnist --model mlp
// --epsilon 3 --seed S` parsed by the CLI's parser and built by createRun (same train/test split, same epochs,
// batch size, C, lr and momentum; SGD with momentum is tf.train.momentum). A second tfjs row copies the
// built-in model's layers (widths, activation) so architecture and training route can be told apart.
// Usage: node scripts/accuracy-tfjs.mjs [--backend wasm] [--seeds 1,2,3] [--builtin-layers] [--json]
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseTrainArgs } from '../dist/cli/commands/train.js';
import { accuracy, createRun } from '../dist/dpsgd/index.js';
import { spentEpsilon } from '../dist/dpsgd/run.js';
import { makePrivateTrainer } from '../dist/tfjs/index.js';
import { load, machine, option, tf, useBackend } from './tfjs-env.mjs';

const TARGET_POINTS = 1;

function cliArgs(seed) {
  return ['--dataset', 'mnist', '--model', 'mlp', '--epsilon', '3', '--seed', String(seed)];
}

/** The built-in run, as `dpfl train` runs it (createRun, the trainer's planned steps, test accuracy). */
async function builtIn(seed) {
  const { config } = parseTrainArgs(cliArgs(seed));
  const run = createRun(config);
  const t = performance.now();
  await run.trainer.runAsync(run.totalSteps, () => {});
  const seconds = (performance.now() - t) / 1000;
  return {
    accuracy: accuracy(run.model, run.test),
    epsilon: spentEpsilon(run, config.delta),
    steps: run.optimizer.steps,
    seconds,
  };
}

/** The issue's tfjs model: 784→128 relu→10 softmax. */
function issueModel(seed) {
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 128, activation: 'relu', inputShape: [784], kernelInitializer: init(seed) }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(seed + 1) }),
    ],
  });
}

/** The built-in model's layers (Dense widths, activations) in tfjs, softmax output. */
function builtInLayersModel(seed, run) {
  const layers = [];
  const dims = run.model.layers;
  for (let i = 0; i < dims.length; i++) {
    const l = dims[i];
    if (l.constructor.name !== 'Dense') continue;
    const next = dims[i + 1];
    const activation = next?.constructor.name === 'Act' ? next.kind : 'softmax';
    const first = layers.length === 0 ? { inputShape: [l.inDim] } : {};
    layers.push(tf.layers.dense({ units: l.outDim, activation, kernelInitializer: init(seed + i), ...first }));
  }
  return tf.sequential({ layers });
}

function init(seed) {
  return tf.initializers.glorotUniform({ seed });
}

/** Train and test tensors from a dpfl Dataset (dense rows, integer labels). */
function tensors(ds) {
  return tf.tidy(() => ({
    x: tf.tensor2d(ds.x, [ds.size, ds.featureDim]),
    y: tf.oneHot(tf.tensor1d(ds.labels, 'int32'), ds.classes).toFloat(),
  }));
}

async function testAccuracy(model, ds) {
  const pred = tf.tidy(() => tf.argMax(model.predict(tf.tensor2d(ds.x, [ds.size, ds.featureDim])), 1));
  const labels = await pred.data();
  pred.dispose();
  let correct = 0;
  for (let i = 0; i < ds.size; i++) if (labels[i] === ds.labels[i]) correct++;
  return correct / ds.size;
}

async function tfjsRun(seed, which) {
  const { config } = parseTrainArgs(cliArgs(seed));
  const run = createRun(config); // the split and the settings; its own model is not trained here
  const model = which === 'issue' ? issueModel(seed) : builtInLayersModel(seed, run);
  const { x, y } = tensors(run.train);
  const trainer = makePrivateTrainer(model, {
    datasetSize: run.train.size,
    batchSize: config.batchSize,
    targetEpsilon: config.epsilon,
    delta: config.delta,
    epochs: config.epochs,
    maxGradNorm: config.maxGradNorm,
    optimizer: tf.train.momentum(config.lr, config.momentum),
    loss: 'categoricalCrossentropy',
    seed,
  });
  const t = performance.now();
  let steps = 0;
  const history = await trainer.fit(x, y, { callbacks: { onBatchEnd: () => void steps++ } });
  const seconds = (performance.now() - t) / 1000;
  const acc = await testAccuracy(model, run.test);
  tf.dispose([x, y]);
  model.dispose();
  return { accuracy: acc, epsilon: trainer.epsilon(), steps, stoppedByBudget: history.stoppedByBudget, seconds };
}

function meanSd(values) {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const sd = values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, sd };
}

export async function accuracyMain(argv) {
  const json = argv.includes('--json');
  const seeds = option(argv, 'seeds', '1,2,3').split(',').map(Number);
  await useBackend(option(argv, 'backend', 'wasm'));
  const info = { ...machine(), loadStart: load() };
  const { config } = parseTrainArgs(cliArgs(seeds[0]));
  const rows = [
    { name: 'dpfl built-in MLP (dpfl train)', run: builtIn },
    { name: 'dpfl/tfjs 784→128 relu→10', run: (s) => tfjsRun(s, 'issue') },
    // Opt-in: 535k weights, minutes per seed on wasm.
    ...(argv.includes('--builtin-layers')
      ? [{ name: 'dpfl/tfjs, built-in layers', run: (s) => tfjsRun(s, 'built-in') }]
      : []),
  ].map((r) => ({ name: r.name, run: r.run, seeds: [] }));
  for (const seed of seeds) {
    for (const r of rows) {
      r.seeds.push({ seed, ...(await r.run(seed)) });
      const last = r.seeds.at(-1);
      console.error(`seed ${seed} ${r.name}: ${(last.accuracy * 100).toFixed(2)}% in ${last.seconds.toFixed(1)} s`);
    }
  }
  const summary = rows.map((r) => ({ name: r.name, ...meanSd(r.seeds.map((s) => s.accuracy * 100)), seeds: r.seeds }));
  const diff = summary[1].mean - summary[0].mean;
  const out = {
    machine: { ...info, loadEnd: load() },
    settings: {
      command: `dpfl train ${cliArgs('S').join(' ')}`,
      epsilon: config.epsilon,
      delta: config.delta,
      epochs: config.epochs,
      batchSize: config.batchSize,
      maxGradNorm: config.maxGradNorm,
      optimizer: `${config.optimizer} lr ${config.lr} momentum ${config.momentum}`,
      seeds,
    },
    rows: summary,
    target: { points: TARGET_POINTS, differencePoints: diff, pass: Math.abs(diff) <= TARGET_POINTS },
  };
  if (json) {
    console.log(JSON.stringify(out));
    return out;
  }
  const m = out.machine;
  console.log(`${m.date}  ${m.cpu} × ${m.cores}  node ${m.node}  tfjs ${m.tfjs} (${m.backend})`);
  console.log(`load average (1/5/15 min): start ${m.loadStart.join(' ')}, end ${m.loadEnd.join(' ')}`);
  const s = out.settings;
  console.log(`settings of ${s.command}:`);
  console.log(
    `  ε ${s.epsilon}, δ ${s.delta}, ${s.epochs} epochs, batch ${s.batchSize}, C ${s.maxGradNorm}, ${s.optimizer}`,
  );
  const heads = seeds.map((x) => `seed ${x}`.padStart(8)).join(' ');
  console.log(`\n${'model'.padEnd(34)} ${heads}   mean ± sd (%)  ε spent`);
  for (const r of summary) {
    const per = r.seeds.map((x) => (x.accuracy * 100).toFixed(2).padStart(8)).join(' ');
    const eps = Math.max(...r.seeds.map((x) => x.epsilon)).toFixed(3);
    console.log(`${r.name.padEnd(34)} ${per}   ${r.mean.toFixed(2)} ± ${r.sd.toFixed(2)}   ${eps}`);
  }
  if (summary[2]) {
    const same = summary[2].mean - summary[0].mean;
    console.log(`(built-in layers in tfjs − built-in: ${same >= 0 ? '+' : ''}${same.toFixed(2)} points, not a target)`);
  }
  const verdict = out.target.pass ? 'PASS' : 'MISS';
  const signed = `${diff >= 0 ? '+' : ''}${diff.toFixed(2)}`;
  console.log(`target |tfjs − built-in| ≤ ${TARGET_POINTS} point: ${signed} ${verdict}`);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await accuracyMain(process.argv.slice(2));
