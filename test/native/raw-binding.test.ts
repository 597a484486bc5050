// The raw addon, called directly (anyone can load the .node file): bad sizes first, as
// sodium-native's tests do. Every export gets overflowing, mismatched, zero-length, negative and
// non-integer sizes and must answer with a typed error, never a crash (a crash kills this fork).
import { describe, expect, it } from 'vitest';
import { binding } from '../../src/native/binding.js';

const INVALID = 'ERR_DPFL_INVALID_ARGUMENT';
const TYPE = 'ERR_DPFL_INVALID_TYPE';
const cuda = binding.cudaInfo().available;
// Without the CUDA library every device call stops at the loader, before any size is read.
const DEVICE = cuda ? INVALID : 'ERR_DPFL_CUDA_UNAVAILABLE';

const f32 = (n: number) => new Float32Array(n);
const f64 = (n: number) => new Float64Array(n);
const i32 = (n: number) => new Int32Array(n);
const u32 = (n: number) => new Uint32Array(n);
const z = f32(0);
const sharedF64 = (n: number) => new Float64Array(new SharedArrayBuffer(n * 8));
const sharedI32 = () => new Int32Array(new SharedArrayBuffer(4));
const detached = (): Float32Array<ArrayBuffer> => {
  const x = f32(4);
  structuredClone(x.buffer, { transfer: [x.buffer] });
  return x;
};

/** The error code of a call (sync throw or async rejection); 'none' when it succeeds. */
async function codeOf(call: () => unknown): Promise<string> {
  try {
    const r = call();
    if (r instanceof Promise) await r;
    return 'none';
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
}

type Case = [what: string, call: () => unknown, code: string];
// One entry per export; `raw` bypasses the declared types on purpose.
const raw = binding as unknown as Record<string, (...args: unknown[]) => unknown>;
const Agg = binding.Aggregator as unknown as new (...args: unknown[]) => Record<string, (...a: unknown[]) => unknown>;
const Dev = binding.DeviceArray as unknown as new (...args: unknown[]) => unknown;
const noiseArgs = (x: unknown, offset: unknown = 0) => [x, 1, 1n, 0n, offset];
const dense = (batch: number, inDim: number, outDim: number, x = z, w = z, y = z) => [
  x,
  w,
  null,
  y,
  batch,
  inDim,
  outDim,
];
const bags = (rows: number, dim: number, batch: number, view = z, offsets = i32(1)) => [
  view,
  rows,
  dim,
  i32(0),
  offsets,
  null,
  batch,
  null,
  view,
];

const cases: Record<string, Case[]> = {
  info: [['extra arguments are ignored', () => raw.info!(1, 2), 'none']],
  cudaInfo: [['extra arguments are ignored', () => raw.cudaInfo!(1), 'none']],
  constants: [
    [
      'a frozen object (a caller cannot change what the kernels use)',
      () => {
        if (!Object.isFrozen(binding.constants)) throw new Error('binding.constants is not frozen');
      },
      'none',
    ],
  ],
  gaussianNormals: [
    ['a Float32Array out', () => raw.gaussianNormals!(f32(2), 1n, 0n, 0), TYPE],
    ['negative offset', () => raw.gaussianNormals!(f64(2), 1n, 0n, -1), INVALID],
    ['offset + length past 2^64', () => raw.gaussianNormals!(f64(2), 1n, 0n, (1n << 64n) - 1n), INVALID],
  ],
  gaussianNormalsAsync: [
    ['out not shared', () => raw.gaussianNormalsAsync!(f64(2), 1n, 0n, 0, sharedI32()), TYPE],
    ['done not shared', () => raw.gaussianNormalsAsync!(sharedF64(2), 1n, 0n, 0, i32(1)), TYPE],
    ['done empty', () => raw.gaussianNormalsAsync!(sharedF64(2), 1n, 0n, 0, i32(0)), TYPE],
    ['done a Float32Array', () => raw.gaussianNormalsAsync!(sharedF64(2), 1n, 0n, 0, f32(1)), TYPE],
    ['valid', () => raw.gaussianNormalsAsync!(sharedF64(3), null, 0n, 0, sharedI32()), 'none'],
  ],
  addScaledNormals: [
    ['z of another length', () => raw.addScaledNormals!(f32(3), f64(2), 1), INVALID],
    ['z a Float32Array', () => raw.addScaledNormals!(f32(2), f32(2), 1), TYPE],
    ['detached x', () => raw.addScaledNormals!(detached(), f64(0), 1), TYPE],
    ['negative std', () => raw.addScaledNormals!(f32(2), f64(2), -1), INVALID],
  ],
  perSampleNormsBlocks: [
    ['not an array', () => raw.perSampleNormsBlocks!(f32(4), 2, f32(2)), TYPE],
    ['a block not a Float32Array', () => raw.perSampleNormsBlocks!([f64(4)], 2, f32(2)), TYPE],
    ['detached block', () => raw.perSampleNormsBlocks!([detached()], 2, f32(2)), TYPE],
    ['block not a multiple of batchSize', () => raw.perSampleNormsBlocks!([f32(4), f32(5)], 2, f32(2)), INVALID],
    ['zero batchSize', () => raw.perSampleNormsBlocks!([f32(4)], 0, z), INVALID],
    ['every block empty', () => raw.perSampleNormsBlocks!([z, z], 2, f32(2)), INVALID],
    ['no blocks', () => raw.perSampleNormsBlocks!([], 2, f32(2)), INVALID],
    ['norms too short', () => raw.perSampleNormsBlocks!([f32(4)], 2, f32(1)), INVALID],
  ],
  perSampleNorms: [
    ['batchSize not a multiple', () => raw.perSampleNorms!(f32(5), 2, null, f32(2), null), INVALID],
    ['zero-length grads', () => raw.perSampleNorms!(z, 1, null, f32(1), null), INVALID],
    ['negative batchSize', () => raw.perSampleNorms!(f32(4), -2, null, f32(2), null), INVALID],
    ['non-integer batchSize', () => raw.perSampleNorms!(f32(4), 1.5, null, f32(2), null), INVALID],
    ['batchSize 2^53', () => raw.perSampleNorms!(f32(4), 2 ** 53, null, f32(2), null), INVALID],
    ['norms too short', () => raw.perSampleNorms!(f32(4), 2, null, f32(1), null), INVALID],
    ['groupNorms too short', () => raw.perSampleNorms!(f32(4), 2, f64(1).fill(2), f32(2), f32(1)), INVALID],
    ['non-integer group end', () => raw.perSampleNorms!(f32(4), 2, new Float64Array([1.5, 2]), f32(2), null), INVALID],
    ['group ends past dim', () => raw.perSampleNorms!(f32(4), 2, new Float64Array([1, 9]), f32(2), f32(4)), INVALID],
    ['detached grads', () => raw.perSampleNorms!(detached(), 1, null, f32(1), null), TYPE],
  ],
  clipByNorm: [
    ['maxNorm not a number', () => raw.clipByNorm!(f32(2), '1'), TYPE],
    ['negative maxNorm', () => raw.clipByNorm!(f32(2), -1), INVALID],
    ['a Float64Array', () => raw.clipByNorm!(f64(2), 1), TYPE],
  ],
  quantizeFixed: [
    ['out too short', () => raw.quantizeFixed!(f32(3), 1, u32(2)), INVALID],
    ['zero-length x', () => raw.quantizeFixed!(z, 1, u32(0)), INVALID],
    ['out an Int32Array', () => raw.quantizeFixed!(f32(3), 1, i32(3)), TYPE],
  ],
  dequantizeFixed: [
    ['out too long', () => raw.dequantizeFixed!(u32(2), 1, f32(3)), INVALID],
    ['zero-length q', () => raw.dequantizeFixed!(u32(0), 1, z), INVALID],
  ],
  applyMask: [
    ['key of 7 words', () => raw.applyMask!(u32(2), u32(7), 0n, false), INVALID],
    ['zero-length x', () => raw.applyMask!(u32(0), u32(8), 0n, false), INVALID],
    ['negative stream', () => raw.applyMask!(u32(2), u32(8), -1, false), INVALID],
    ['non-integer stream', () => raw.applyMask!(u32(2), u32(8), 0.5, false), INVALID],
  ],
  sumMod: [
    ['vectors of another length', () => raw.sumMod!([u32(2), u32(3)], u32(2)), INVALID],
    ['no vectors', () => raw.sumMod!([], u32(2)), INVALID],
    ['zero-length out', () => raw.sumMod!([u32(0)], u32(0)), INVALID],
    [
      'vectors[1] aliasing out',
      () => {
        const out = u32(2);
        return raw.sumMod!([u32(2), out], out);
      },
      INVALID,
    ],
  ],
  Aggregator: [
    ['dim 0', () => new Agg(0), INVALID],
    ['negative dim', () => new Agg(-1), INVALID],
    ['non-integer dim', () => new Agg(1.5), INVALID],
    ['dim 2^53', () => new Agg(2 ** 53), INVALID],
    ['add of another length', () => new Agg(3).add!(f32(2), 1), INVALID],
    ['addMany matrix not count x dim', () => new Agg(3).addMany!(f32(5), f64(2)), INVALID],
    ['addMany zero-length matrix', () => new Agg(3).addMany!(z, f64(1)), INVALID],
    ['result into a shorter out', () => new Agg(3).result!(false, f32(2)), INVALID],
  ],
  DeviceArray: [
    ['negative length', () => new Dev(-1), DEVICE],
    ['non-integer length', () => new Dev(0.5), DEVICE],
    ['length 2^53', () => new Dev(2 ** 53), DEVICE],
  ],
  cudaClipAndSum: [
    ['host arrays', () => raw.cudaClipAndSum!(z, 2 ** 32, null, f64(1), z, null, null), cuda ? TYPE : DEVICE],
  ],
  cudaAddGaussianNoise: [['host array', () => raw.cudaAddGaussianNoise!(z, 1, 1n, 0n, -1), cuda ? TYPE : DEVICE]],
  cudaWeightedSum: [['host arrays', () => raw.cudaWeightedSum!([z], f64(2), false, z), cuda ? TYPE : DEVICE]],
  cudaClipByNorm: [['host array', () => raw.cudaClipByNorm!(z, 1), cuda ? TYPE : DEVICE]],
  nnDenseForward: [
    [
      'batch * in = 2^64 over zero-length views',
      () => raw.nnDenseForward!(...dense(2 ** 32, 2 ** 32, 2 ** 32)),
      INVALID,
    ],
    ['in * out past 2^53', () => raw.nnDenseForward!(...dense(0, 2 ** 30, 2 ** 30)), INVALID],
    ['zero in', () => raw.nnDenseForward!(...dense(1, 0, 1)), INVALID],
    ['negative batch', () => raw.nnDenseForward!(...dense(-1, 1, 1)), INVALID],
    ['non-integer out', () => raw.nnDenseForward!(...dense(1, 1, 1.5)), INVALID],
    ['x too short', () => raw.nnDenseForward!(...dense(2, 2, 2, f32(3), f32(4), f32(4))), INVALID],
    ['bias too long', () => raw.nnDenseForward!(f32(1), f32(1), f32(2), f32(1), 1, 1, 1), INVALID],
  ],
  nnDenseBackwardInput: [
    ['batch * out = 2^64', () => raw.nnDenseBackwardInput!(z, z, z, 2 ** 32, 2 ** 32, 2 ** 32), INVALID],
    ['dx too short', () => raw.nnDenseBackwardInput!(f32(2), f32(4), f32(1), 1, 2, 2), INVALID],
    ['non-integer in', () => raw.nnDenseBackwardInput!(z, z, z, 0, 0.5, 1), INVALID],
  ],
  nnDenseBackwardParams: [
    [
      'batch * in = 2^64',
      () => raw.nnDenseBackwardParams!(z, z, null, z, null, 2 ** 32, 2 ** 32, 2 ** 32, false),
      INVALID,
    ],
    [
      'rowScale too short',
      () => raw.nnDenseBackwardParams!(f32(2), f32(2), f32(1), f32(1), null, 2, 1, 1, false),
      INVALID,
    ],
    ['negative out', () => raw.nnDenseBackwardParams!(z, z, null, z, null, 0, 1, -1, false), INVALID],
  ],
  nnDenseGhostSqnorms: [
    ['batch * in = 2^64', () => raw.nnDenseGhostSqnorms!(z, z, f64(0), 2 ** 32, 2 ** 32, 2 ** 32, false), INVALID],
    ['sqNorms too short', () => raw.nnDenseGhostSqnorms!(f32(2), f32(2), f64(1), 2, 1, 1, false), INVALID],
    ['sqNorms a Float32Array', () => raw.nnDenseGhostSqnorms!(f32(2), f32(2), f32(2), 2, 1, 1, false), TYPE],
  ],
  nnBiasBackward: [
    ['batch * out = 2^64', () => raw.nnBiasBackward!(z, null, z, 2 ** 32, 2 ** 32, false), INVALID],
    ['dbias too long', () => raw.nnBiasBackward!(f32(2), null, f32(3), 1, 2, false), INVALID],
    ['zero out', () => raw.nnBiasBackward!(z, null, z, 1, 0, false), INVALID],
  ],
  nnRowSqnorms: [
    ['batch * dim = 2^64', () => raw.nnRowSqnorms!(z, f64(0), 2 ** 32, 2 ** 32), INVALID],
    ['sqNorms too long', () => raw.nnRowSqnorms!(f32(2), f64(3), 1, 2), INVALID],
    ['non-integer dim', () => raw.nnRowSqnorms!(f32(2), f64(1), 1, 1.5), INVALID],
  ],
  nnActivationForward: [
    ['y too short', () => raw.nnActivationForward!(0, f32(3), f32(2)), INVALID],
    ['unknown activation', () => raw.nnActivationForward!(2, f32(2), f32(2)), INVALID],
    ['non-integer activation', () => raw.nnActivationForward!(0.5, f32(2), f32(2)), INVALID],
  ],
  nnActivationBackward: [
    ['dx too short', () => raw.nnActivationBackward!(1, f32(3), f32(3), f32(2)), INVALID],
    ['dy zero-length', () => raw.nnActivationBackward!(1, f32(3), z, f32(3)), INVALID],
  ],
  nnSoftmaxCrossEntropy: [
    ['batch * classes = 2^64', () => raw.nnSoftmaxCrossEntropy!(z, i32(0), null, null, 2 ** 32, 2 ** 32), INVALID],
    ['labels too short', () => raw.nnSoftmaxCrossEntropy!(f32(4), i32(1), null, null, 2, 2), INVALID],
    ['label out of range', () => raw.nnSoftmaxCrossEntropy!(f32(4), new Int32Array([0, 2]), null, null, 2, 2), INVALID],
    ['labels a Float32Array', () => raw.nnSoftmaxCrossEntropy!(f32(4), f32(2), null, null, 2, 2), TYPE],
  ],
  nnContributionMapAdd: [
    [
      'stamp shorter than counts',
      () => raw.nnContributionMapAdd!(i32(0), i32(1), 0, 1, f32(4), i32(3), i32(4), f64(2)),
      INVALID,
    ],
    [
      'touched shorter than counts',
      () => raw.nnContributionMapAdd!(i32(0), i32(1), 0, 1, f32(4), i32(4), i32(1), f64(2)),
      INVALID,
    ],
    [
      'cursor too short',
      () => raw.nnContributionMapAdd!(i32(0), i32(1), 0, 1, f32(4), i32(4), i32(4), f64(1)),
      INVALID,
    ],
    [
      'cursor past the rows',
      () => raw.nnContributionMapAdd!(i32(0), i32(1), 0, 1, f32(4), i32(4), i32(4), Float64Array.of(0, 5)),
      INVALID,
    ],
    [
      'offsets too short',
      () => raw.nnContributionMapAdd!(i32(2), i32(2), 3, 1, f32(4), i32(4), i32(4), f64(2)),
      INVALID,
    ],
    [
      'batch + 1 past 2^53',
      () => raw.nnContributionMapAdd!(i32(0), i32(1), 2 ** 53, 1, f32(4), i32(4), i32(4), f64(2)),
      INVALID,
    ],
    [
      'counts a Float64Array',
      () => raw.nnContributionMapAdd!(i32(0), i32(1), 0, 1, f64(4) as never, i32(4), i32(4), f64(2)),
      TYPE,
    ],
    ['an empty batch', () => raw.nnContributionMapAdd!(i32(0), i32(1), 0, 1, f32(4), i32(4), i32(4), f64(2)), 'none'],
  ],
  nnGatherRows: [
    ['table not a multiple of dim', () => raw.nnGatherRows!(f32(5), 2, i32(0), z), INVALID],
    ['dim 0', () => raw.nnGatherRows!(f32(4), 0, i32(0), z), INVALID],
    ['out shorter than sel × dim', () => raw.nnGatherRows!(f32(4), 2, Int32Array.of(0, 1), f32(3)), INVALID],
    ['sel × dim = 2^64', () => raw.nnGatherRows!(z, 2 ** 52, i32(2 ** 12), z), INVALID],
    ['a bad row: its position, no throw', () => raw.nnGatherRows!(f32(4), 2, Int32Array.of(0, 7), f32(4)), 'none'],
  ],
  nnScatterRows: [
    ['table not a multiple of dim', () => raw.nnScatterRows!(z, 2, i32(0), f32(5)), INVALID],
    ['src shorter than sel × dim', () => raw.nnScatterRows!(f32(3), 2, Int32Array.of(0, 1), f32(4)), INVALID],
    ['sel a Float32Array', () => raw.nnScatterRows!(f32(2), 2, f32(1) as never, f32(4)), TYPE],
  ],
  nnZeroRows: [
    ['table not a multiple of dim', () => raw.nnZeroRows!(f32(5), 2, i32(0)), INVALID],
    ['negative dim', () => raw.nnZeroRows!(f32(4), -2, i32(0)), INVALID],
    ['valid', () => raw.nnZeroRows!(f32(4), 2, Int32Array.of(1)), 'none'],
  ],
  nnEmbeddingBagForward: [
    [
      'rows * dim = 2^64',
      () => raw.nnEmbeddingBagForward!(z, 2 ** 52, 2 ** 12, i32(0), i32(1), null, 0, null, z),
      INVALID,
    ],
    [
      'batch + 1 past 2^53',
      () => raw.nnEmbeddingBagForward!(f32(1), 1, 1, i32(0), i32(1), null, 2 ** 53 - 1, null, z),
      INVALID,
    ],
    [
      'offsets too short',
      () => raw.nnEmbeddingBagForward!(f32(1), 1, 1, i32(0), i32(1), null, 1, null, f32(1)),
      INVALID,
    ],
    [
      'index out of range',
      () => raw.nnEmbeddingBagForward!(f32(1), 1, 1, i32(1).fill(1), new Int32Array([0, 1]), null, 1, null, f32(1)),
      INVALID,
    ],
    [
      'offsets past the indices',
      () => raw.nnEmbeddingBagForward!(f32(1), 1, 1, i32(0), new Int32Array([0, 4]), null, 1, null, f32(1)),
      INVALID,
    ],
  ],
  nnEmbeddingBagBackward: [
    [
      'rows * dim = 2^64 (4096 floats into a zero-length view)',
      () => raw.nnEmbeddingBagBackward!(...bags(2 ** 52, 2 ** 12, 0)),
      INVALID,
    ],
    ['zero rows', () => raw.nnEmbeddingBagBackward!(...bags(0, 1, 0)), INVALID],
    ['non-integer batch', () => raw.nnEmbeddingBagBackward!(...bags(1, 1, 0.5)), INVALID],
    [
      'dtable too short',
      () => raw.nnEmbeddingBagBackward!(f32(1), 2, 1, i32(1), new Int32Array([0, 1]), null, 1, null, f32(1)),
      INVALID,
    ],
  ],
  nnEmbeddingBagGhostSqnorms: [
    [
      'batch * dim past 2^53',
      () => raw.nnEmbeddingBagGhostSqnorms!(z, 1, 2 ** 30, i32(0), i32(2 ** 23 + 1), null, 2 ** 23, f64(2 ** 23)),
      INVALID,
    ],
    [
      'sqNorms too short',
      () => raw.nnEmbeddingBagGhostSqnorms!(f32(1), 1, 1, i32(0), i32(2), null, 1, f64(0)),
      INVALID,
    ],
    ['negative dim', () => raw.nnEmbeddingBagGhostSqnorms!(z, 1, -1, i32(0), i32(1), null, 0, f64(0)), INVALID],
  ],
  nnSgdUpdate: [
    ['grad too short', () => raw.nnSgdUpdate!(f32(3), f32(2), null, 0.1, 0, 0, 1), INVALID],
    ['velocity too long', () => raw.nnSgdUpdate!(f32(3), f32(3), f32(4), 0.1, 0.9, 0, 1), INVALID],
    ['lr not a number', () => raw.nnSgdUpdate!(f32(3), f32(3), null, '0.1', 0, 0, 1), TYPE],
  ],
  nnAdamUpdate: [
    ['m too short', () => raw.nnAdamUpdate!(f32(3), f32(3), f32(2), f32(3), 1e-3, 0.9, 0.999, 1e-8, 0, 1, 1), INVALID],
    [
      'non-integer step',
      () => raw.nnAdamUpdate!(f32(3), f32(3), f32(3), f32(3), 1e-3, 0.9, 0.999, 1e-8, 0, 1, 1.5),
      INVALID,
    ],
    [
      'negative step',
      () => raw.nnAdamUpdate!(f32(3), f32(3), f32(3), f32(3), 1e-3, 0.9, 0.999, 1e-8, 0, 1, -1),
      INVALID,
    ],
  ],
};

// The kernels with an async form: each case runs against both forms (the async form re-checks
// exactly like the sync one, synchronously, before anything is queued).
type ArgCase = [what: string, args: unknown[], code: string];
const clipArgs = (grads: Float32Array, batch: number, out = f32(2), norms = f32(2), groupNorms: unknown = null) => [
  grads,
  batch,
  null,
  f64(1).fill(1),
  out,
  norms,
  groupNorms,
];
const kernelCases: Record<string, ArgCase[]> = {
  clipAndSum: [
    ['batchSize not a multiple', clipArgs(f32(5), 2), INVALID],
    ['zero-length grads', clipArgs(z, 1), INVALID],
    ['negative batchSize', clipArgs(f32(4), -2), INVALID],
    ['non-integer batchSize', clipArgs(f32(4), 0.5), INVALID],
    ['out too short', clipArgs(f32(4), 2, f32(1)), INVALID],
    ['norms too long', clipArgs(f32(4), 2, f32(2), f32(3)), INVALID],
    ['groupNorms too short', clipArgs(f32(4), 2, f32(2), f32(2), f32(1)), INVALID],
    ['maxNorms of another length', [f32(4), 2, null, f64(2), f32(2), f32(2), null], INVALID],
    ['detached out', clipArgs(f32(8), 2, detached()), TYPE],
  ],
  clipAndSumBlocks: [
    ['block not a multiple of batchSize', [[f32(5)], 2, 1, [f32(2)], f32(2)], INVALID],
    ['out of another count', [[f32(4), f32(2)], 2, 1, [f32(2)], f32(2)], INVALID],
    ['out[0] too short', [[f32(4)], 2, 1, [f32(1)], f32(2)], INVALID],
    ['zero maxNorm', [[f32(4)], 2, 0, [f32(2)], f32(2)], INVALID],
    ['norms too long', [[f32(4)], 2, 1, [f32(2)], f32(3)], INVALID],
    ['detached out', [[f32(4)], 2, 1, [detached()], f32(2)], TYPE],
  ],
  addGaussianNoise: [
    ['negative offset', noiseArgs(f32(2), -1), INVALID],
    ['non-integer offset', noiseArgs(f32(2), 0.5), INVALID],
    ['negative std', [f32(2), -1, 1n, 0n, 0], INVALID],
    ['a plain array', noiseArgs([1, 2]), TYPE],
    ['detached x', noiseArgs(detached()), TYPE],
  ],
  weightedSum: [
    ['matrix not count x dim', [f32(5), f64(2), false, f32(2)], INVALID],
    ['zero-length out', [z, f64(1), false, z], INVALID],
    ['no weights', [[], f64(0), false, f32(2)], INVALID],
    ['list shorter than weights', [[f32(2)], f64(2), false, f32(2)], INVALID],
    ['update of another length', [[f32(2), f32(3)], f64(2), false, f32(2)], INVALID],
    ['negative weight', [[f32(2)], new Float64Array([-1]), false, f32(2)], INVALID],
  ],
  coordinateMedian: [
    ['count * dim = 2^64', [z, 2 ** 52, f32(2 ** 12)], INVALID],
    ['count * dim past 2^53', [z, 2 ** 53 - 1, f32(2)], INVALID],
    ['zero count', [z, 0, f32(2)], INVALID],
    ['negative count', [f32(2), -1, f32(2)], INVALID],
    ['non-integer count', [f32(2), 1.5, f32(2)], INVALID],
    ['zero-length out', [z, 1, z], INVALID],
    ['matrix not count x dim', [f32(5), 2, f32(2)], INVALID],
  ],
  trimmedMean: [
    ['count * dim = 2^64', [z, 2 ** 52, 0, f32(2 ** 12)], INVALID],
    ['trim = count / 2', [f32(4), 2, 1, f32(2)], INVALID],
    ['trim 2^53 - 1', [f32(4), 2, 2 ** 53 - 1, f32(2)], INVALID],
    ['negative trim', [f32(4), 2, -1, f32(2)], INVALID],
    ['non-integer trim', [f32(6), 3, 0.5, f32(2)], INVALID],
    ['zero-length out', [z, 1, 0, z], INVALID],
  ],
  multiKrum: [
    ['count * dim = 2^64', [z, 2 ** 52, 0, 1, f32(2 ** 12)], INVALID],
    ['zero count', [z, 0, 0, 1, f32(2)], INVALID],
    ['matrix not count x dim', [f32(7), 5, 0, 1, f32(2)], INVALID],
    ['count <= 2f + 2', [f32(8), 4, 1, 1, f32(2)], INVALID],
    ['negative f', [f32(10), 5, -1, 1, f32(2)], INVALID],
    ['keep 0', [f32(10), 5, 0, 0, f32(2)], INVALID],
    ['keep > count - f', [f32(10), 5, 1, 5, f32(2)], INVALID],
    ['zero-length out', [z, 1, 0, 1, z], INVALID],
  ],
  bulyan: [
    ['count * dim = 2^64', [z, 2 ** 52, 0, f32(2 ** 12)], INVALID],
    ['count < 4f + 3', [f32(12), 6, 1, f32(2)], INVALID],
    ['negative f', [f32(6), 3, -1, f32(2)], INVALID],
    ['non-integer f', [f32(14), 7, 0.5, f32(2)], INVALID],
    ['zero-length out', [z, 1, 0, z], INVALID],
  ],
};
for (const [name, list] of Object.entries(kernelCases)) {
  for (const form of [name, `${name}Async`]) {
    cases[form] = list.map(([what, args, code]): Case => [what, () => raw[form]!(...args), code]);
  }
}

describe('raw binding: bad sizes answer with typed errors, never a crash', () => {
  it('covers every export of the addon', () => {
    expect(Object.keys(binding).sort()).toEqual(Object.keys(cases).sort());
  });
  for (const [name, list] of Object.entries(cases)) {
    for (const [what, call, code] of list) {
      it(`${name}: ${what} -> ${code}`, async () => {
        expect(await codeOf(call)).toBe(code);
      });
    }
  }
});

describe('raw binding: the checked sizes still accept what is valid', () => {
  it('a batch of 0 rows through zero-length views is a no-op, not an error', () => {
    expect(() => binding.nnDenseForward(z, f32(6), null, z, 0, 2, 3)).not.toThrow();
    expect(() => binding.nnRowSqnorms(z, f64(0), 0, 5)).not.toThrow();
  });
  it('sizes whose product is exactly the view length run the kernel', () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6]);
    const w = new Float32Array([1, 0, 0, 1, 1, 1]); // 3 x 2
    const y = f32(4);
    binding.nnDenseForward(x, w, null, y, 2, 3, 2);
    expect(Array.from(y)).toEqual([4, 5, 10, 11]);
    const out = f32(2);
    binding.coordinateMedian(new Float32Array([1, 5, 2, 6, 3, 7]), 3, out);
    expect(Array.from(out)).toEqual([2, 6]);
  });
});
