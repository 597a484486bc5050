// Shared by the tfjs dev scripts (bench-tfjs.mjs, accuracy-tfjs.mjs): backend setup and the machine a
// measurement ran on. Dev script: @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm are devDependencies.
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export { tf };

/** Value of `--name v` (or `--name=v`) in argv, else the fallback. */
export function option(argv, name, fallback) {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return fallback;
  const a = argv[i];
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : (argv[i + 1] ?? fallback);
}

export async function useBackend(name) {
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend "${name}" did not initialise`);
  await tf.ready();
  return tf.getBackend();
}

const round2 = (v) => Math.round(v * 100) / 100;

/** CPU, cores, node, tfjs and the 1-minute load average now (call at start and end). */
export function machine() {
  const cpus = os.cpus();
  const flags =
    tf.getBackend() === 'wasm'
      ? {
          wasmSimd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
          wasmThreads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
        }
      : {};
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    tfjs: tf.version.tfjs,
    backend: tf.getBackend(),
    ...flags,
    date: new Date().toISOString(),
  };
}

/** os.loadavg() rounded: [1, 5, 15 minutes]. */
export function load() {
  return os.loadavg().map(round2);
}
