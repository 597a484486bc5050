// `dpfl demo`: one private step end to end on synthetic data (clip → sum → noise → average),
// then one federated round (clip updates → weighted mean), printing what each stage did.
import { performance } from 'node:perf_hooks';
import { Aggregator, weightedSum } from '../../kernels/aggregate.js';
import { clipAndSum, clipByNorm } from '../../kernels/clip.js';
import { addGaussianNoise } from '../../kernels/noise.js';
import { parseCommandArgs, stringOptions, type Command } from '../command.js';
import { numberOption } from '../options.js';

const HELP = `usage: dpfl demo [--batch 256] [--dim 100000] [--max-norm 1] [--noise 1.1] [--clients 10] [--json]

Runs one DP-SGD step (per-sample clipping, secure Gaussian noise, averaging) and one
federated aggregation round on synthetic data through the native kernels.`;

/** Deterministic synthetic data: a small xorshift generator, not for privacy. */
function synthetic(length: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(length);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * scale;
  }
  return out;
}

function l2(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s);
}

export const demo: Command = {
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      ...stringOptions('batch', 'dim', 'max-norm', 'noise', 'clients'),
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const batch = numberOption('batch', values.batch, 256);
    const dim = numberOption('dim', values.dim, 100_000);
    const maxNorm = numberOption('max-norm', values['max-norm'], 1);
    const noiseMultiplier = numberOption('noise', values.noise, 1.1);
    const clients = numberOption('clients', values.clients, 10);

    // DP-SGD step: per-sample gradients with norms around 0.3·sqrt(dim/12)·... some above C.
    const grads = synthetic(batch * dim, 42, 0.02);
    const t0 = performance.now();
    const clip = clipAndSum(grads, batch, maxNorm);
    const t1 = performance.now();
    addGaussianNoise(clip.sum, noiseMultiplier * maxNorm); // secure mode: no seed
    const t2 = performance.now();
    const step = clip.sum.map((v) => v / batch);
    const meanNorm = clip.norms.reduce((s, v) => s + v, 0) / batch;

    // Federated round: clients send updates; the server clips each to S and averages by sample count.
    const samples = Array.from({ length: clients }, (_, k) => 50 + 25 * k);
    const updates = samples.map((_, k) => synthetic(dim, 1000 + k, 0.01));
    const t3 = performance.now();
    const norms = updates.map((u) => clipByNorm(u, maxNorm).norm);
    const mean = weightedSum(updates, samples, { normalize: true });
    const t4 = performance.now();
    const streaming = new Aggregator(dim);
    updates.forEach((u, k) => streaming.add(u, samples[k]));
    const streamed = streaming.result({ normalize: true });
    let maxDiff = 0;
    for (let i = 0; i < dim; i++) maxDiff = Math.max(maxDiff, Math.abs(streamed[i]! - mean[i]!));

    const report = {
      dpsgd: {
        batch,
        dim,
        maxNorm,
        noiseStd: noiseMultiplier * maxNorm,
        meanPerSampleNorm: meanNorm,
        clipped: clip.clipped,
        nonFinite: clip.nonFinite,
        noisyAverageNorm: l2(step),
        clipMs: t1 - t0,
        noiseMs: t2 - t1,
      },
      federated: {
        clients,
        dim,
        updateNormsBeforeClip: norms,
        meanUpdateNorm: l2(mean),
        streamingMaxAbsDiff: maxDiff,
        aggregateMs: t4 - t3,
      },
    };
    if (values.json) {
      console.log(JSON.stringify(report));
      return 0;
    }
    const d = report.dpsgd;
    const f = report.federated;
    console.log(`DP-SGD step on ${batch} synthetic per-sample gradients of ${dim} parameters`);
    console.log(
      `  clip to C=${maxNorm}: mean norm ${d.meanPerSampleNorm.toFixed(3)}, ${d.clipped}/${batch} clipped, ${d.nonFinite} non-finite (${d.clipMs.toFixed(1)} ms)`,
    );
    console.log(`  secure Gaussian noise, std ${d.noiseStd} (σ=${noiseMultiplier} × C): ${d.noiseMs.toFixed(1)} ms`);
    console.log(`  noisy average gradient norm ${d.noisyAverageNorm.toFixed(4)}`);
    console.log(`Federated round with ${clients} clients weighted by sample count (${samples.join(', ')})`);
    console.log(`  update norms before clipping to ${maxNorm}: ${norms.map((n) => n.toFixed(3)).join(', ')}`);
    console.log(
      `  weighted mean norm ${f.meanUpdateNorm.toFixed(4)} (${f.aggregateMs.toFixed(1)} ms); streaming aggregator agrees to ${f.streamingMaxAbsDiff.toExponential(1)}`,
    );
    return 0;
  },
};
