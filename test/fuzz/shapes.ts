// Argument shapes of the public API for the fuzzer: for each export, arguments that are mostly
// consistent (so calls reach the deep paths) with hostile values mixed in. An export without an
// entry here is fuzzed with `anything` for every argument (see public-api.test.ts).
import fc from 'fast-check';
import { f32, f64, HOSTILE_NUMBERS, i32, junk, mix, numberList, options, size, u32 } from './hostile.js';

export interface Shape {
  /** The arguments of a call (the constructor's, for a class). */
  args: fc.Arbitrary<unknown[]>;
  /** Methods to call on what the call returned (or constructed), with their arguments. */
  methods?: (result: unknown) => Record<string, fc.Arbitrary<unknown[]>>;
  /** What must hold after a call that returned (beyond not throwing an untyped error). */
  check?: (args: unknown[], result: unknown) => void;
}

const bool = mix(fc.boolean());
const real = (min: number, max: number) =>
  mix(fc.double({ min, max, noNaN: true }), fc.oneof(fc.constantFrom(...HOSTILE_NUMBERS), junk));
/** A known size n, sometimes another or a hostile one. */
const sized = (n: number) => mix(fc.constant(n), fc.oneof(size(0, 8), fc.constant(2 ** 31)), 6);
const dims = (min = 1, max = 4) => fc.integer({ min, max });

function groupEnds(d: number): fc.Arbitrary<number[]> {
  return fc
    .uniqueArray(fc.integer({ min: 1, max: Math.max(1, d - 1) }), { maxLength: 3 })
    .map((xs) => [...xs.filter((x) => x < d).sort((a, b) => a - b), d]);
}

function matrix(k: number, d: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.array(f32(d), { minLength: k, maxLength: k }), weight: 3 },
    { arbitrary: f32(k * d), weight: 2 },
    { arbitrary: junk, weight: 1 },
  );
}

function u32Matrix(k: number, d: number): fc.Arbitrary<unknown> {
  return mix(fc.array(u32(fc.array(fc.nat(), { minLength: d, maxLength: d })), { minLength: k, maxLength: k }));
}

/** Bags of token ids in CSR form for `batch` examples over `rows` table rows. */
function bags(batch: number, rows: number): fc.Arbitrary<unknown> {
  const valid = fc
    .array(fc.array(fc.integer({ min: 0, max: rows - 1 }), { maxLength: 4 }), { minLength: batch, maxLength: batch })
    .chain((perBag) => {
      const indices = perBag.flat();
      const offsets = [0];
      for (const b of perBag) offsets.push(offsets[offsets.length - 1]! + b.length);
      const badIndex: fc.Arbitrary<number[]> = fc.constantFrom<number[]>(indices, [...indices, rows], [-1, ...indices]);
      return fc.record(
        {
          indices: i32(badIndex),
          offsets: i32(
            fc.oneof(
              { arbitrary: fc.constant<number[]>(offsets), weight: 6 },
              { arbitrary: fc.constant<number[]>(offsets.slice().reverse()), weight: 1 },
              { arbitrary: fc.constant<number[]>([0]), weight: 1 },
            ),
          ),
          weights: fc.oneof(fc.constant(undefined), f32(indices.length)),
        },
        { requiredKeys: ['indices', 'offsets'] },
      );
    });
  return mix(valid);
}

function allFinite(a: unknown, name: string): void {
  if (!(a instanceof Float32Array)) return;
  a.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new Error(`${name}[${i}] = ${v} after a call that returned`);
  });
}

const clipArgs = fc.tuple(dims(1, 4), dims(1, 5)).chain(([b, d]) =>
  fc.tuple(
    f32(b * d),
    sized(b),
    real(1e-3, 10),
    options({
      groups: numberList(groupEnds(d)),
      maxNorms: numberList(fc.array(fc.double({ min: 0.1, max: 5, noNaN: true }), { minLength: 1, maxLength: 3 })),
      out: f32(d),
      norms: f32(b),
    }),
  ),
);

const noiseArgs = fc.tuple(
  f32(),
  mix(fc.oneof(fc.double({ min: 0, max: 10, noNaN: true }), fc.constantFrom(1e30, 1e36, 3e38, 1e39, 1e300, 1e308))),
  options({
    seed: mix(fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }))),
    stream: mix(fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 9n }))),
    offset: mix(fc.nat()),
    secure: bool,
  }),
);

/** Noise never turns finite input into ±Infinity. */
const noiseCheck = (args: unknown[]) => allFinite(args[0], 'x');

const sumArgs = fc
  .tuple(dims(1, 4), dims(1, 5))
  .chain(([k, d]) =>
    fc.tuple(
      matrix(k, d),
      numberList(fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: k, maxLength: k })),
      options({ normalize: bool, out: f32(d) }),
    ),
  );

const robustOptions = (k: number, d: number, trim: boolean) =>
  options({
    out: f32(d),
    count: sized(k),
    ...(trim
      ? { trim: mix(fc.oneof(fc.double({ min: 0, max: 0.49, noNaN: true }), fc.integer({ min: 1, max: 3 }))) }
      : {}),
  });
const robustArgs = (trim: boolean) =>
  fc.tuple(dims(1, 5), dims(1, 4)).chain(([k, d]) => fc.tuple(matrix(k, d), robustOptions(k, d, trim)));
/** Krum's rules: K up to 12 so that f = 0..2 reach both sides of K > 2f + 2 and K ≥ 4f + 3. */
const krumArgs = (keep: boolean) =>
  fc.tuple(dims(1, 12), dims(1, 4)).chain(([k, d]) =>
    fc.tuple(
      matrix(k, d),
      options(
        {
          out: f32(d),
          count: sized(k),
          byzantine: mix(fc.integer({ min: 0, max: 3 })),
          ...(keep ? { keep: mix(fc.integer({ min: 0, max: k })) } : {}),
        },
        true,
      ),
    ),
  );

const denseDims = fc.tuple(dims(0, 3), dims(1, 4), dims(1, 4));
const labels = (b: number, c: number) => i32(fc.array(fc.integer({ min: -1, max: c }), { minLength: b, maxLength: b }));

const modelSpec = mix(
  fc.record(
    {
      kind: mix(fc.constantFrom('linear', 'mlp', 'text')),
      inputDim: size(1, 6),
      input: mix(fc.constantFrom('dense', 'bags')),
      classes: size(2, 4),
      hidden: fc.oneof(
        fc.constant(undefined),
        numberList(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 2 })),
      ),
      activation: fc.oneof(fc.constant(undefined), mix(fc.constantFrom('relu', 'tanh'))),
      combiner: fc.oneof(fc.constant(undefined), mix(fc.constantFrom('mean', 'sqrtn', 'sum'))),
    },
    { requiredKeys: ['kind', 'inputDim', 'input', 'classes'] },
  ),
);

interface ModelLike {
  paramCount: number;
  inputKind: 'dense' | 'bags';
  classes: number;
  layers: readonly { outDim: number; rows?: number; inDim?: number }[];
}

function batchFor(model: ModelLike): fc.Arbitrary<unknown> {
  const first = model.layers[0];
  const inputDim = first?.rows ?? first?.inDim ?? 1;
  const features = (b: number): Record<string, fc.Arbitrary<unknown>> =>
    model.inputKind === 'dense' ? { x: f32(b * inputDim) } : { bags: bags(b, inputDim) };
  return mix(dims(0, 3).chain((b) => fc.record({ size: sized(b), labels: labels(b, model.classes), ...features(b) })));
}

const modelMethods = (m: unknown): Record<string, fc.Arbitrary<unknown[]>> => {
  const model = m as ModelLike;
  return {
    forward: fc.tuple(batchFor(model)),
    forwardBackward: fc.tuple(batchFor(model)),
    predict: fc.tuple(batchFor(model)),
    inputGradient: fc.tuple(batchFor(model), mix(fc.integer({ min: -1, max: 3 }))),
    init: fc.tuple(mix(fc.nat())),
  };
};

const datasetSpec = fc.oneof(
  fc.record({ size: dims(0, 6), dim: dims(1, 3), classes: dims(2, 3) }).map((o) => ({ kind: 'dense' as const, ...o })),
  fc
    .record({ size: dims(0, 6), rows: dims(1, 8), classes: dims(2, 3), tokensPerExample: dims(0, 3) })
    .map((o) => ({ kind: 'bags' as const, ...o })),
);

/** Builds the dataset a shape describes with dpfl's own generators (imported lazily by the test). */
export type DatasetMaker = (spec: unknown) => unknown;

export function shapes(makeDataset: DatasetMaker): Record<string, Shape> {
  const ds = mix(datasetSpec.map((spec) => makeDataset(spec)));
  return {
    clipAndSum: { args: clipArgs },
    clipAndSumAsync: { args: clipArgs },
    perSampleNorms: {
      args: fc
        .tuple(dims(1, 4), dims(1, 5))
        .chain(([b, d]) => fc.tuple(f32(b * d), sized(b), options({ groups: numberList(groupEnds(d)), out: f32(b) }))),
    },
    clipByNorm: { args: fc.tuple(f32(), real(1e-3, 10)) },
    addGaussianNoise: { args: noiseArgs, check: noiseCheck },
    addGaussianNoiseAsync: { args: noiseArgs, check: noiseCheck },
    weightedSum: { args: sumArgs },
    weightedSumAsync: { args: sumArgs },
    Aggregator: {
      args: fc.tuple(size(1, 5)),
      methods: (agg) => {
        const dim = (agg as { dim: number }).dim;
        return {
          add: fc.tuple(f32(dim), real(0, 5)),
          addMany: dims(1, 3).chain((k) =>
            fc.tuple(
              matrix(k, dim),
              numberList(fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: k, maxLength: k })),
            ),
          ),
          result: fc.tuple(options({ normalize: bool, out: f32(dim) })),
          reset: fc.constant([]),
        };
      },
    },
    coordinateMedian: { args: robustArgs(false) },
    coordinateMedianAsync: { args: robustArgs(false) },
    trimmedMean: { args: robustArgs(true) },
    trimmedMeanAsync: { args: robustArgs(true) },
    krum: { args: krumArgs(false) },
    krumAsync: { args: krumArgs(false) },
    multiKrum: { args: krumArgs(true) },
    multiKrumAsync: { args: krumArgs(true) },
    bulyan: { args: krumArgs(false) },
    bulyanAsync: { args: krumArgs(false) },
    quantizeFixed: { args: fc.tuple(f32(), real(1, 1e6), options({ out: u32(fc.array(fc.nat(), { maxLength: 6 })) })) },
    dequantizeFixed: {
      args: dims(1, 6).chain((n) =>
        fc.tuple(u32(fc.array(fc.nat(), { minLength: n, maxLength: n })), real(1, 1e6), options({ out: f32(n) })),
      ),
    },
    applyMask: {
      args: fc.tuple(
        u32(fc.array(fc.nat(), { maxLength: 6 })),
        u32(fc.array(fc.nat(), { minLength: 8, maxLength: 8 })),
        options({ stream: mix(fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 5n }))), subtract: bool }),
      ),
    },
    sumMod: {
      args: fc
        .tuple(dims(1, 3), dims(1, 4))
        .chain(([k, d]) =>
          fc.tuple(u32Matrix(k, d), options({ out: u32(fc.array(fc.nat(), { minLength: d, maxLength: d })) })),
        ),
    },
    DeviceArray: { args: fc.tuple(size(0, 6)) },

    'nn.denseForward': {
      args: denseDims.chain(([b, i, o]) =>
        fc.tuple(
          f32(b * i),
          f32(i * o),
          fc.oneof(fc.constant(null), f32(o)),
          sized(b),
          sized(i),
          sized(o),
          fc.oneof(fc.constant(undefined), f32(b * o)),
        ),
      ),
    },
    'nn.denseBackwardInput': {
      args: denseDims.chain(([b, i, o]) =>
        fc.tuple(f32(b * o), f32(i * o), sized(b), sized(i), sized(o), fc.oneof(fc.constant(undefined), f32(b * i))),
      ),
    },
    'nn.denseBackwardParams': {
      args: denseDims.chain(([b, i, o]) =>
        fc.tuple(
          f32(b * i),
          f32(b * o),
          sized(b),
          sized(i),
          sized(o),
          f32(i * o),
          options({ rowScale: f32(b), dbias: f32(o), accumulate: bool }),
        ),
      ),
    },
    'nn.biasBackward': {
      args: fc
        .tuple(dims(0, 3), dims(1, 4))
        .chain(([b, o]) =>
          fc.tuple(f32(b * o), sized(b), sized(o), f32(o), options({ rowScale: f32(b), accumulate: bool })),
        ),
    },
    'nn.denseGhostSqNorms': {
      args: denseDims.chain(([b, i, o]) =>
        fc.tuple(f32(b * i), f32(b * o), sized(b), sized(i), sized(o), options({ withBias: bool, out: f64(b) })),
      ),
    },
    'nn.rowSqNorms': {
      args: fc
        .tuple(dims(0, 3), dims(1, 4))
        .chain(([b, d]) => fc.tuple(f32(b * d), sized(b), sized(d), fc.oneof(fc.constant(undefined), f64(b)))),
    },
    'nn.activationForward': {
      args: fc.tuple(mix(fc.constantFrom('relu', 'tanh')), f32(), fc.oneof(fc.constant(undefined), f32())),
    },
    'nn.activationBackward': {
      args: dims(0, 6).chain((n) =>
        fc.tuple(mix(fc.constantFrom('relu', 'tanh')), f32(n), f32(n), fc.oneof(fc.constant(undefined), f32(n))),
      ),
    },
    'nn.softmaxCrossEntropy': {
      args: fc
        .tuple(dims(0, 3), dims(1, 4))
        .chain(([b, c]) =>
          fc.tuple(f32(b * c), labels(b, c), sized(b), sized(c), options({ loss: f32(b), dlogits: f32(b * c) })),
        ),
    },
    'nn.embeddingBagForward': {
      args: fc
        .tuple(dims(1, 5), dims(1, 3), dims(0, 3))
        .chain(([r, d, b]) =>
          fc.tuple(f32(r * d), sized(r), sized(d), bags(b, r), sized(b), options({ bias: f32(d), out: f32(b * d) })),
        ),
    },
    'nn.embeddingBagBackward': {
      args: fc
        .tuple(dims(1, 5), dims(1, 3), dims(0, 3))
        .chain(([r, d, b]) =>
          fc.tuple(f32(b * d), sized(r), sized(d), bags(b, r), sized(b), f32(r * d), options({ rowScale: f32(b) })),
        ),
    },
    'nn.embeddingBagGhostSqNorms': {
      args: fc
        .tuple(dims(1, 5), dims(1, 3), dims(0, 3))
        .chain(([r, d, b]) =>
          fc.tuple(f32(b * d), sized(r), sized(d), bags(b, r), sized(b), fc.oneof(fc.constant(undefined), f64(b))),
        ),
    },
    'nn.contributionMapAdd': {
      args: fc.tuple(dims(1, 6), dims(0, 3)).chain(([r, b]) =>
        fc.tuple(
          mix(
            fc.record({
              counts: f32(r),
              stamp: i32(fc.array(fc.integer({ min: -2, max: 8 }), { minLength: r, maxLength: r })),
              touched: i32(fc.array(fc.integer({ min: -2, max: 8 }), { minLength: r, maxLength: r })),
              example: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(2 ** 30), size(0, 4)),
              touchedCount: fc.oneof(fc.integer({ min: 0, max: r }), size(0, 8)),
            }),
          ),
          bags(b, r),
          sized(b),
          real(0, 3),
        ),
      ),
    },
    // Row moves over an r × d table: sel mostly strictly increasing, sometimes out of range,
    // repeated or decreasing; the buffer sized k × d or not.
    ...Object.fromEntries(
      (['nn.gatherRows', 'nn.scatterRows', 'nn.zeroRows'] as const).map((name) => [
        name,
        {
          args: fc.tuple(dims(1, 6), dims(1, 3)).chain(([r, d]) =>
            fc
              .oneof(
                {
                  arbitrary: fc.uniqueArray(fc.integer({ min: 0, max: r - 1 })).map((xs) => xs.sort((a, b) => a - b)),
                  weight: 6,
                },
                { arbitrary: fc.array(fc.integer({ min: -2, max: r + 1 }), { maxLength: 5 }), weight: 2 },
              )
              .chain((sel): fc.Arbitrary<unknown[]> => {
                const [table, buf, selA] = [f32(r * d), f32(sel.length * d), i32(fc.constant(sel))];
                if (name === 'nn.zeroRows') return fc.tuple(table, sized(d), selA);
                return name === 'nn.gatherRows'
                  ? fc.tuple(table, sized(d), selA, buf)
                  : fc.tuple(buf, sized(d), selA, table);
              }),
          ),
        } satisfies Shape,
      ]),
    ),
    'nn.sgdUpdate': {
      args: dims(0, 5).chain((n) =>
        fc.tuple(
          f32(n),
          f32(n),
          options(
            {
              lr: real(0, 1),
              momentum: real(0, 0.99),
              velocity: f32(n),
              weightDecay: real(0, 1),
              gradScale: real(0, 2),
            },
            true,
          ),
        ),
      ),
    },
    'nn.adamUpdate': {
      args: dims(0, 5).chain((n) =>
        fc.tuple(
          f32(n),
          f32(n),
          f32(n),
          f32(n),
          options(
            {
              lr: real(0, 1),
              beta1: real(0, 0.99),
              beta2: real(0, 0.999),
              eps: real(1e-9, 1e-3),
              weightDecay: real(0, 1),
              gradScale: real(0, 2),
              step: size(1, 5),
            },
            true,
          ),
        ),
      ),
    },

    createModel: { args: fc.tuple(modelSpec, mix(fc.nat())), methods: modelMethods },
    Dense: { args: fc.tuple(mix(fc.string({ maxLength: 4 })), size(1, 4), size(1, 4)) },
    Act: { args: fc.tuple(mix(fc.string({ maxLength: 4 })), mix(fc.constantFrom('relu', 'tanh')), size(1, 4)) },
    EmbeddingBag: {
      args: fc.tuple(
        mix(fc.string({ maxLength: 4 })),
        size(1, 4),
        size(1, 4),
        bool,
        real(0, 1),
        fc.oneof(fc.constant(undefined), mix(fc.constantFrom('mean', 'sqrtn', 'sum'))),
      ),
    },

    syntheticDense: {
      args: fc.tuple(
        options(
          { size: size(0, 6), dim: size(1, 4), classes: size(1, 3), seed: mix(fc.nat()), noise: real(0, 2) },
          true,
        ),
      ),
    },
    syntheticBags: {
      args: fc.tuple(
        options(
          {
            size: size(0, 6),
            rows: size(1, 8),
            classes: size(1, 3),
            tokensPerExample: size(0, 3),
            seed: mix(fc.nat()),
          },
          true,
        ),
      ),
    },
    splitDataset: {
      args: fc.tuple(ds, real(0, 1), mix(fc.nat()), options({ order: mix(fc.constantFrom('sorted', 'shuffled')) })),
    },
    gatherBatch: { args: fc.tuple(ds, i32(fc.array(fc.integer({ min: -1, max: 6 }), { maxLength: 4 }))) },
    hashNgrams: {
      args: fc.tuple(
        mix(fc.array(fc.string({ maxLength: 5 }), { maxLength: 4 })),
        size(1, 64),
        fc.oneof(fc.constant(undefined), size(1, 3)),
      ),
    },
    tokenize: { args: fc.tuple(mix(fc.string({ maxLength: 30 })), fc.oneof(fc.constant(undefined), size(0, 5))) },
    // Valid options would read a whole dataset package (seconds per call): only refusals are fuzzed.
    loadSpam: {
      args: fc.tuple(
        fc.oneof(
          fc.constantFrom(null, 3, 'x'),
          fc.record({
            buckets: fc.oneof(
              fc.constantFrom(...HOSTILE_NUMBERS),
              junk.filter((v) => v !== undefined && v !== null),
            ),
          }),
        ),
      ),
    },
    loadMnist: {
      args: fc.tuple(
        fc.oneof(
          fc.constantFrom(null, 3, 'x'),
          fc.record({ from: junk.filter((v) => Boolean(v) && typeof v !== 'string') }),
        ),
      ),
    },
  };
}
