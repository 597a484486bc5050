// The benchmark grid of issue 3, shared by every part of the TypeScript bench. It must match the
// grid of the C++ harness (bench/cpp/cases.cpp): rows are joined on (kernel, shape).

export type KernelName =
  | 'clip_flat'
  | 'clip_grouped'
  | 'noise_philox'
  | 'noise_secure'
  | 'weighted_sum'
  | 'accumulator_add';

export interface ClipShape {
  batch: number;
  dim: number;
}
export interface AggregateShape {
  count: number;
  dim: number;
}

/** Per-sample clipping B×D; the largest (4 GB) is dropped by --quick. 32×1000 is the small-call case. */
export function clipShapes(quick: boolean): ClipShape[] {
  const shapes = [
    { batch: 32, dim: 1000 },
    { batch: 256, dim: 100_000 },
    { batch: 256, dim: 1_000_000 },
  ];
  return quick ? shapes : [...shapes, { batch: 1024, dim: 1_000_000 }];
}

/** Noise lengths D; 1000 is the small-call case. */
export function noiseLengths(): number[] {
  return [1000, 100_000, 1_000_000, 10_000_000];
}

/** Aggregation K×D; 10×1000 is the small-call case. */
export function aggregateShapes(): AggregateShape[] {
  return [
    { count: 10, dim: 1000 },
    { count: 10, dim: 1_000_000 },
    { count: 100, dim: 1_000_000 },
    { count: 1000, dim: 100_000 },
  ];
}

/** The shapes whose difference between the API and the C++ kernel is the small-call overhead. */
export const SMALL_CALL_SHAPES: ReadonlyArray<readonly [KernelName, string]> = [
  ['clip_flat', '32x1000'],
  ['noise_philox', '1000'],
  ['weighted_sum', '10x1000'],
];

/**
 * Per-layer groups of clip_grouped: three weight/bias pairs with ends at fixed fractions of the
 * row (integer arithmetic, identical to layer_group_ends in bench/cpp/cases.cpp).
 */
export function layerGroupEnds(dim: number): number[] {
  return [600, 601, 950, 951, 999, 1000].map((perMille) => Math.floor((dim * perMille) / 1000));
}

/** Clipping thresholds: about the typical norm sqrt(D/3) of rows of U(-1, 1), split over groups by size. */
export function clipNorms(dim: number, ends: number[]): number[] {
  const c = Math.sqrt(dim / 3);
  return ends.map((end, g) => c * Math.sqrt((end - (g === 0 ? 0 : ends[g - 1]!)) / dim));
}

export function shapeId(a: number, b?: number): string {
  return b === undefined ? String(a) : `${a}x${b}`;
}

/**
 * --filter: a case runs when the regular expression is found in "kernel shape" (the same rule as
 * the C++ harness), e.g. "clip", "^noise_philox 1000$", "x1000000$".
 */
export function wanted(filter: string | undefined, kernel: string, shape: string): boolean {
  return filter === undefined || new RegExp(filter).test(`${kernel} ${shape}`);
}
