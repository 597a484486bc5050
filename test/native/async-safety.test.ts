// The async kernels against the hazards of the JS side: buffers detached or resized while the work
// runs, worker threads terminated with work in flight, and the addon loaded in several
// environments at once. A failure here used to be a crash (SIGSEGV / SIGABRT), not an error.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  addGaussianNoiseAsync,
  clipAndSumAsync,
  coordinateMedianAsync,
  trimmedMeanAsync,
  weightedSumAsync,
} from '../../src/index.js';
import { binding } from '../../src/native/binding.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const root = fileURLToPath(new URL('../..', import.meta.url));

const K = 4;
const D = 1 << 16;
const filled = (n: number, v: number) => new Float32Array(n).fill(v);
// Moves the memory away (structuredClone's transfer) and lets the GC free it, as a user might.
function detach(x: Float32Array): void {
  structuredClone(x.buffer, { transfer: [x.buffer as ArrayBuffer] });
  gc();
}
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
}

// Each kernel with its input (detached in one test) and its output (kept, to see it untouched).
const kernels: Record<string, (input: Float32Array, out: Float32Array) => Promise<unknown>> = {
  addGaussianNoiseAsync: (input) => addGaussianNoiseAsync(input, 1, { seed: 1n }),
  clipAndSumAsync: (input, out) => clipAndSumAsync(input, K, 1, { out }),
  weightedSumAsync: (input, out) => weightedSumAsync(input, new Array<number>(K).fill(1), { out }),
  coordinateMedianAsync: (input, out) => coordinateMedianAsync(input, { count: K, out }),
  trimmedMeanAsync: (input, out) => trimmedMeanAsync(input, { count: K, trim: 0.25, out }),
};

describe('async kernels: a buffer detached while the work runs', () => {
  for (const [name, start] of Object.entries(kernels)) {
    it(`${name}: detaching the input rejects with ERR_DPFL_DETACHED and writes nothing`, async () => {
      for (let trial = 0; trial < 5; trial++) {
        const input = filled(K * D, 0.5);
        const out = filled(D, 7);
        const p = start(input, out);
        detach(input);
        expect(await codeOf(p)).toBe('ERR_DPFL_DETACHED');
        expect(out.every((v) => v === 7)).toBe(true);
      }
    });
  }
  for (const name of ['clipAndSumAsync', 'weightedSumAsync', 'coordinateMedianAsync', 'trimmedMeanAsync']) {
    it(`${name}: detaching the output rejects with ERR_DPFL_DETACHED`, async () => {
      const out = filled(D, 7);
      const p = kernels[name]!(filled(K * D, 0.5), out);
      detach(out);
      expect(await codeOf(p)).toBe('ERR_DPFL_DETACHED');
    });
  }
  it('the error names the rule', async () => {
    const x = filled(D, 1);
    const p = addGaussianNoiseAsync(x, 1, { seed: 1n });
    detach(x);
    await expect(p).rejects.toThrow(/must stay attached until its promise settles/);
  });
  it('shrinking a resizable buffer while the work runs is refused the same way', async () => {
    const Resizable = ArrayBuffer as unknown as new (
      n: number,
      o: { maxByteLength: number },
    ) => ArrayBuffer & {
      resize(n: number): void;
    };
    const buffer = new Resizable(4 * K * D, { maxByteLength: 4 * K * D });
    const input = new Float32Array(buffer, 0, K * D).fill(0.5);
    const p = binding.weightedSumAsync(input, new Float64Array(K).fill(1), false, filled(D, 0));
    buffer.resize(0);
    expect(await codeOf(p)).toBe('ERR_DPFL_DETACHED');
  });
  it('leaves attached calls untouched: the async result equals the sync one', async () => {
    const input = Float32Array.from({ length: K * D }, (_, i) => Math.sin(i));
    const outSync = binding.weightedSum(input, new Float64Array([1, 2, 3, 4]), true, filled(D, 0));
    const outAsync = await binding.weightedSumAsync(input, new Float64Array([1, 2, 3, 4]), true, filled(D, 0));
    expect(outAsync).toEqual(outSync);
  });
  it('uses SharedArrayBuffer-backed views in place (they cannot be detached)', async () => {
    const shared = new Float32Array(new SharedArrayBuffer(4 * K * D));
    shared.set(Float32Array.from({ length: K * D }, (_, i) => Math.cos(i)));
    const out = new Float32Array(new SharedArrayBuffer(4 * D));
    const expected = binding.coordinateMedian(shared.slice(), K, filled(D, 0));
    expect(await binding.coordinateMedianAsync(shared, K, out)).toBe(out);
    expect(out).toEqual(expected);
    expect(() => structuredClone(shared.buffer, { transfer: [shared.buffer as unknown as ArrayBuffer] })).toThrow();
  });
});

describe('async kernels: worker threads terminated with work in flight', () => {
  it('never abort the process (every async kernel, many times, in a child process)', () => {
    const fixture = fileURLToPath(new URL('fixtures/terminate-workers.mjs', import.meta.url));
    const child = spawnSync(process.execPath, [fixture, '10'], { cwd: root, encoding: 'utf8', timeout: 240_000 });
    expect(child.stderr).not.toMatch(/terminate called/);
    expect({ status: child.status, signal: child.signal }).toEqual({ status: 0, signal: null });
    expect(child.stdout).toMatch(/^ok 50 terminations/);
  }, 300_000);
});

describe('the addon in several environments at once', () => {
  // Each worker loads the addon itself and uses its constructor-backed classes; the main thread's
  // copy must keep working after they are gone.
  const workerSource = `
    const { parentPort, workerData } = require('node:worker_threads');
    const binding = require('node-gyp-build')(workerData.root);
    (async () => {
      const results = [];
      for (let round = 0; round < 20; round++) {
        const agg = new binding.Aggregator(3);
        agg.add(new Float32Array([1, 2, 3]), workerData.id + 1);
        agg.addMany([new Float32Array([1, 1, 1]), new Float32Array([2, 2, 2])], new Float64Array([1, 1]));
        const out = agg.result(false, new Float32Array(3));
        const updates = new Float32Array([1, 2, 3, 4, 5, 6]);
        const sum = await binding.weightedSumAsync(updates, new Float64Array([1, 1]), false, new Float32Array(3));
        let device;
        try {
          const d = new binding.DeviceArray(3);
          device = binding.cudaClipByNorm(d, 1) && 'ok';
          d.free();
        } catch (e) {
          device = e.code;
        }
        results.push([Array.from(out), agg.count, Array.from(sum), device]);
      }
      parentPort.postMessage(results);
    })();
  `;
  const run = (id: number) =>
    new Promise<unknown[]>((resolve, reject) => {
      const w = new Worker(workerSource, { eval: true, workerData: { root, id } });
      w.once('message', (m: unknown[]) => void w.terminate().then(() => resolve(m)));
      w.once('error', reject);
    });

  it('gives each environment its own classes, concurrently, and frees them with it', async () => {
    const ids = [0, 1, 2, 3];
    const all = await Promise.all(ids.map(run));
    const device = binding.cudaInfo().available ? 'ok' : 'ERR_DPFL_CUDA_UNAVAILABLE';
    for (const id of ids) {
      for (const r of all[id]!) {
        const w = id + 1;
        expect(r).toEqual([[w + 3, 2 * w + 3, 3 * w + 3], 3, [5, 7, 9], device]);
      }
    }
    // The main environment's copy is untouched by the workers' teardown.
    const agg = new binding.Aggregator(2);
    agg.add(new Float32Array([1, 2]), 2);
    expect(Array.from(agg.result(false, new Float32Array(2)))).toEqual([2, 4]);
    const code = binding.cudaInfo().available ? 'ERR_DPFL_INVALID_TYPE' : 'ERR_DPFL_CUDA_UNAVAILABLE';
    expect(() => binding.cudaWeightedSum([{} as never], new Float64Array(1), false, {} as never)).toThrow(
      expect.objectContaining({ code }),
    );
  }, 120_000);
});
