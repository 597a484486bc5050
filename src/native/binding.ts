// Loads the native addon (a prebuild from prebuilds/, else build/Release) and declares the type of
// its whole surface. Only src/kernels imports this module.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { withCode } from '../errors.js';

export interface ClipStatsNative {
  clipped: number;
  nonFinite: number;
}

export interface NativeAggregator {
  add(update: Float32Array, weight: number): void;
  addMany(updates: Float32Array[] | Float32Array, weights: Float64Array): void;
  result(normalize: boolean, out: Float32Array): Float32Array;
  reset(): void;
  readonly count: number;
  readonly totalWeight: number;
  readonly dim: number;
}

/** The core's constants (native/include/dpfl/constants.h), a frozen object. */
export interface NativeConstants {
  readonly clipEpsilon: number;
  readonly maxAbsNoiseSample: number;
}

export interface NativeInfo {
  backend: string;
  isa: string;
  threads: number;
  napiVersion: number;
}

type Updates = Float32Array[] | Float32Array; // K rows, or one K x D matrix

/** The federated-learning kernels (native/addon/fl_binding.cc). */
export interface FlBinding {
  coordinateMedian(updates: Float32Array[] | Float32Array, count: number, out: Float32Array): Float32Array;
  coordinateMedianAsync(
    updates: Float32Array[] | Float32Array,
    count: number,
    out: Float32Array,
  ): Promise<Float32Array>;
  trimmedMean(updates: Float32Array[] | Float32Array, count: number, trim: number, out: Float32Array): Float32Array;
  trimmedMeanAsync(
    updates: Float32Array[] | Float32Array,
    count: number,
    trim: number,
    out: Float32Array,
  ): Promise<Float32Array>;
  // Krum is multiKrum with keep = 1.
  multiKrum(updates: Updates, count: number, f: number, keep: number, out: Float32Array): Float32Array;
  multiKrumAsync(updates: Updates, count: number, f: number, keep: number, out: Float32Array): Promise<Float32Array>;
  bulyan(updates: Updates, count: number, f: number, out: Float32Array): Float32Array;
  bulyanAsync(updates: Updates, count: number, f: number, out: Float32Array): Promise<Float32Array>;
  quantizeFixed(x: Float32Array, scale: number, out: Uint32Array): Uint32Array;
  dequantizeFixed(q: Uint32Array, scale: number, out: Float32Array): Float32Array;
  applyMask(x: Uint32Array, key: Uint32Array, stream: bigint, subtract: boolean): Uint32Array;
  sumMod(vectors: Uint32Array[], out: Uint32Array): Uint32Array;
}

/** A float32 array in device memory (native/addon/cuda_binding.cc). */
export interface NativeDeviceArray {
  upload(source: Float32Array): NativeDeviceArray;
  download(out: Float32Array): Float32Array;
  free(): void;
  readonly length: number;
  readonly freed: boolean;
}

/** The CUDA backend, loaded with dlopen on first use (native/addon/cuda_binding.cc). */
export interface CudaBinding {
  cudaInfo(): { available: boolean; device?: string; library?: string; reason?: string };
  DeviceArray: new (length: number) => NativeDeviceArray;
  cudaClipAndSum(
    grads: NativeDeviceArray,
    batchSize: number,
    groups: Float64Array | null,
    maxNorms: Float64Array,
    out: NativeDeviceArray,
    norms: NativeDeviceArray | null,
    groupNorms: NativeDeviceArray | null,
  ): ClipStatsNative;
  cudaAddGaussianNoise(
    x: NativeDeviceArray,
    std: number,
    seed: bigint | null,
    stream: bigint,
    offset: number,
  ): NativeDeviceArray;
  cudaWeightedSum(
    updates: NativeDeviceArray[],
    weights: Float64Array,
    normalize: boolean,
    out: NativeDeviceArray,
  ): NativeDeviceArray;
  cudaClipByNorm(x: NativeDeviceArray, maxNorm: number): { norm: number; scale: number };
}

/** The neural-network kernels (native/include/dpfl/nn.h); wrapped by src/kernels/nn.ts. */
export interface NnBinding {
  nnDenseForward(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    batch: number,
    inDim: number,
    outDim: number,
  ): void;
  nnDenseBackwardInput(
    dy: Float32Array,
    w: Float32Array,
    dx: Float32Array,
    batch: number,
    inDim: number,
    outDim: number,
  ): void;
  nnDenseBackwardParams(
    x: Float32Array,
    dy: Float32Array,
    rowScale: Float32Array | null,
    dw: Float32Array,
    dbias: Float32Array | null,
    batch: number,
    inDim: number,
    outDim: number,
    accumulate: boolean,
  ): void;
  nnDenseGhostSqnorms(
    x: Float32Array,
    dy: Float32Array,
    sqNorms: Float64Array,
    batch: number,
    inDim: number,
    outDim: number,
    withBias: boolean,
  ): void;
  nnBiasBackward(
    dy: Float32Array,
    rowScale: Float32Array | null,
    dbias: Float32Array,
    batch: number,
    outDim: number,
    accumulate: boolean,
  ): void;
  nnRowSqnorms(y: Float32Array, sqNorms: Float64Array, batch: number, dim: number): void;
  nnActivationForward(kind: number, x: Float32Array, y: Float32Array): void;
  nnActivationBackward(kind: number, y: Float32Array, dy: Float32Array, dx: Float32Array): void;
  nnSoftmaxCrossEntropy(
    logits: Float32Array,
    labels: Int32Array,
    loss: Float32Array | null,
    dlogits: Float32Array | null,
    batch: number,
    classes: number,
  ): void;
  nnEmbeddingBagForward(
    table: Float32Array,
    rows: number,
    dim: number,
    indices: Int32Array,
    offsets: Int32Array,
    weights: Float32Array | null,
    batch: number,
    bias: Float32Array | null,
    out: Float32Array,
  ): void;
  nnEmbeddingBagBackward(
    dout: Float32Array,
    rows: number,
    dim: number,
    indices: Int32Array,
    offsets: Int32Array,
    weights: Float32Array | null,
    batch: number,
    rowScale: Float32Array | null,
    dtable: Float32Array,
  ): void;
  nnEmbeddingBagGhostSqnorms(
    dout: Float32Array,
    rows: number,
    dim: number,
    indices: Int32Array,
    offsets: Int32Array,
    weights: Float32Array | null,
    batch: number,
    sqNorms: Float64Array,
  ): void;
  /** -1, or the position of the first index outside [0, counts.length) (nothing written). */
  nnContributionMapAdd(
    indices: Int32Array,
    offsets: Int32Array,
    batch: number,
    clip: number,
    counts: Float32Array,
    stamp: Int32Array,
    touched: Int32Array,
    cursor: Float64Array,
  ): number;
  /** -1, or the position of the first entry of sel out of [0, rows) or not increasing (nothing written). */
  nnGatherRows(table: Float32Array, dim: number, sel: Int32Array, out: Float32Array): number;
  nnScatterRows(src: Float32Array, dim: number, sel: Int32Array, table: Float32Array): number;
  nnZeroRows(table: Float32Array, dim: number, sel: Int32Array): number;
  nnSgdUpdate(
    params: Float32Array,
    grad: Float32Array,
    velocity: Float32Array | null,
    lr: number,
    momentum: number,
    weightDecay: number,
    gradScale: number,
  ): void;
  nnAdamUpdate(
    params: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    gradScale: number,
    t: number,
  ): void;
}

/**
 * The addon's exports. Arguments are positional; the wrappers in src/kernels validate them, and the
 * addon re-checks types and every size product (test/native/raw-binding.test.ts). The `...Async`
 * kernels work on private copies of non-shared buffers and reject with ERR_DPFL_DETACHED when a
 * buffer is detached or resized before they settle (README, "Buffers and async kernels").
 */
export interface Binding extends FlBinding, NnBinding, CudaBinding {
  info(): NativeInfo;
  readonly constants: NativeConstants;
  perSampleNorms(
    grads: Float32Array,
    batchSize: number,
    groups: Float64Array | null,
    norms: Float32Array,
    groupNorms: Float32Array | null,
  ): void;
  clipAndSum(
    grads: Float32Array,
    batchSize: number,
    groups: Float64Array | null,
    maxNorms: Float64Array,
    out: Float32Array,
    norms: Float32Array,
    groupNorms: Float32Array | null,
  ): ClipStatsNative;
  clipAndSumAsync(
    grads: Float32Array,
    batchSize: number,
    groups: Float64Array | null,
    maxNorms: Float64Array,
    out: Float32Array,
    norms: Float32Array,
    groupNorms: Float32Array | null,
  ): Promise<ClipStatsNative>;
  /** Per-variable blocks (batchSize x n_k each) read in place (native/addon/clip_binding.cc). */
  perSampleNormsBlocks(blocks: Float32Array[], batchSize: number, norms: Float32Array): void;
  clipAndSumBlocks(
    blocks: Float32Array[],
    batchSize: number,
    maxNorm: number,
    out: Float32Array[],
    norms: Float32Array,
  ): ClipStatsNative;
  clipAndSumBlocksAsync(
    blocks: Float32Array[],
    batchSize: number,
    maxNorm: number,
    out: Float32Array[],
    norms: Float32Array,
  ): Promise<ClipStatsNative>;
  clipByNorm(x: Float32Array, maxNorm: number): { norm: number; scale: number };
  /** seed null selects the secure mode (key from the OS CSPRNG). */
  addGaussianNoise(x: Float32Array, std: number, seed: bigint | null, stream: bigint, offset: number): Float32Array;
  addGaussianNoiseAsync(
    x: Float32Array,
    std: number,
    seed: bigint | null,
    stream: bigint,
    offset: number,
  ): Promise<Float32Array>;
  /** out[i] = N(offset + i) in float64, unscaled. seed null: a fresh secure key. */
  gaussianNormals(out: Float64Array, seed: bigint | null, stream: bigint, offset: number): Float64Array;
  /**
   * The same on a worker thread, off the core's pool; out and done must live in SharedArrayBuffers:
   * out is written in place, then done[0] set to 1 (2 on failure) before the promise settles.
   */
  gaussianNormalsAsync(
    out: Float64Array,
    seed: bigint | null,
    stream: bigint,
    offset: number,
    done: Int32Array,
  ): Promise<Float64Array>;
  /** x[i] = fround(x[i] + std·z[i]): the rounding and checks of addGaussianNoise. */
  addScaledNormals(x: Float32Array, z: Float64Array, std: number): Float32Array;
  weightedSum(
    updates: Float32Array[] | Float32Array,
    weights: Float64Array,
    normalize: boolean,
    out: Float32Array,
  ): Float32Array;
  weightedSumAsync(
    updates: Float32Array[] | Float32Array,
    weights: Float64Array,
    normalize: boolean,
    out: Float32Array,
  ): Promise<Float32Array>;
  Aggregator: new (dim: number) => NativeAggregator;
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function load(): Binding {
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
  // An explicit addon file, e.g. the ASan/UBSan build that scripts/test-asan.sh runs the tests against.
  const override = process.env.DPFL_ADDON_PATH;
  if (override) return require(override) as Binding;
  try {
    return nodeGypBuild(packageRoot) as Binding;
  } catch (cause) {
    // A platform without a prebuild needs dpfl's install script, which npm >= 12 skips unless the
    // project allows it (package.json "allowScripts").
    throw withCode(
      new Error(
        `dpfl: no native addon could be loaded for ${process.platform}-${process.arch} (node ${process.versions.node}). ` +
          `Tried ${join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`)} and ` +
          `${join(packageRoot, 'build', 'Release')}. Fix: build it from source with a C++17 compiler, make and ` +
          'python3: npm install-scripts approve dpfl && npm rebuild dpfl (npm < 11.16: npm rebuild dpfl). ' +
          'dpfl/accounting works without the addon.',
        { cause },
      ),
      'ERR_DPFL_ADDON_UNAVAILABLE',
    );
  }
}

/** The loaded addon. Loaded once, on first import. */
export const binding: Binding = load();
