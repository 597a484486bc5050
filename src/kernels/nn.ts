// Neural-network kernels for the built-in models: thin typed wrappers over the native core
// (native/include/dpfl/nn.h). Checks are O(1) per call (types and lengths); index ranges and
// labels are checked natively before any memory is touched. Dense weights are stored in x out.
import { binding } from '../native/binding.js';
import { invalidArgument, invalidType } from '../errors.js';
import { disjointViews } from './validate.js';
import {
  elementCount,
  finiteNumber as requiredFinite,
  float32Array,
  integerIn,
  nonNegativeInteger,
  optionalBoolean,
  optionalFinite as finite,
  optionsObject,
  outputArray,
  positiveFinite,
  positiveInteger,
  requiredObject,
  sizedFloat32,
  typedArray,
  typedOutput,
} from '../validate.js';

export type ActivationKind = 'relu' | 'tanh';

/** A batch of bags in CSR form: bag r holds indices[offsets[r] .. offsets[r + 1]). */
export interface Bags {
  indices: Int32Array;
  /** batch + 1 non-decreasing offsets into indices. */
  offsets: Int32Array;
  /** Per-token weights (weighted sum); absent: the mean of the bag's rows. */
  weights?: Float32Array;
}

function optionalSized(name: string, value: unknown, length: number): Float32Array | null {
  return value === undefined || value === null ? null : sizedFloat32(name, value, length);
}

/** batch, inDim, outDim, with every matrix they size (batch x in, in x out, batch x out) countable. */
function dims(batch: unknown, inDim: unknown, outDim: unknown): [number, number, number] {
  const d: [number, number, number] = [
    nonNegativeInteger('batch', batch),
    positiveInteger('inDim', inDim),
    positiveInteger('outDim', outDim),
  ];
  elementCount('batch × inDim', d[0], d[1]);
  elementCount('inDim × outDim', d[1], d[2]);
  elementCount('batch × outDim', d[0], d[2]);
  return d;
}

/** rows, dim, batch of an embedding bag, with the table (rows x dim) and output (batch x dim) countable. */
function bagDims(rows: unknown, dim: unknown, batch: unknown): [number, number, number] {
  const d: [number, number, number] = [
    positiveInteger('rows', rows),
    positiveInteger('dim', dim),
    nonNegativeInteger('batch', batch),
  ];
  elementCount('rows × dim', d[0], d[1]);
  elementCount('batch × dim', d[2], d[1]);
  return d;
}

function activationCode(kind: unknown): number {
  if (kind === 'relu') return 0;
  if (kind === 'tanh') return 1;
  throw invalidArgument('activation', '"relu" or "tanh"', kind);
}

function readBags(bags: unknown, batch: number): Bags {
  if (typeof bags !== 'object' || bags === null || ArrayBuffer.isView(bags)) {
    throw invalidType('bags', 'an object { indices, offsets, weights? }', bags);
  }
  const b = bags as Partial<Bags>;
  const indices = typedArray('bags.indices', b.indices, 'Int32Array');
  const offsets = typedArray('bags.offsets', b.offsets, 'Int32Array');
  if (offsets.length !== batch + 1)
    throw invalidArgument('bags.offsets.length', `batch + 1 (${batch + 1})`, offsets.length);
  const weights = optionalSized('bags.weights', b.weights, indices.length);
  return weights === null ? { indices, offsets } : { indices, offsets, weights };
}

/** y (batch x outDim) = x (batch x inDim) · w (inDim x outDim) + bias. */
export function denseForward(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  batch: number,
  inDim: number,
  outDim: number,
  out?: Float32Array,
): Float32Array {
  const [b, i, o] = dims(batch, inDim, outDim);
  const xs = sizedFloat32('x', x, b * i);
  const ws = sizedFloat32('w', w, i * o);
  const bs = optionalSized('bias', bias, o);
  const y = outputArray('out', out, b * o);
  binding.nnDenseForward(xs, ws, bs, y, b, i, o);
  return y;
}

/** dx (batch x inDim) = dy (batch x outDim) · wᵀ. */
export function denseBackwardInput(
  dy: Float32Array,
  w: Float32Array,
  batch: number,
  inDim: number,
  outDim: number,
  out?: Float32Array,
): Float32Array {
  const [b, i, o] = dims(batch, inDim, outDim);
  const dys = sizedFloat32('dy', dy, b * o);
  const ws = sizedFloat32('w', w, i * o);
  const dx = outputArray('out', out, b * i);
  binding.nnDenseBackwardInput(dys, ws, dx, b, i, o);
  return dx;
}

export interface DenseParamGradOptions {
  /** Per-example factors (batch floats): the clipping factors of book-keeping. Default: ones. */
  rowScale?: Float32Array;
  /** Output for the bias gradient (outDim floats); omitted: no bias gradient. */
  dbias?: Float32Array;
  /** Add into dw/dbias instead of overwriting them. */
  accumulate?: boolean;
}

/** dw (inDim x outDim) (+)= xᵀ·diag(rowScale)·dy, and dbias (+)= Σ_r rowScale_r dy_r. */
export function denseBackwardParams(
  x: Float32Array,
  dy: Float32Array,
  batch: number,
  inDim: number,
  outDim: number,
  dw: Float32Array,
  options?: DenseParamGradOptions,
): void {
  const [b, i, o] = dims(batch, inDim, outDim);
  const opts = optionsObject('options', options);
  binding.nnDenseBackwardParams(
    sizedFloat32('x', x, b * i),
    sizedFloat32('dy', dy, b * o),
    optionalSized('options.rowScale', opts.rowScale, b),
    sizedFloat32('dw', dw, i * o),
    optionalSized('options.dbias', opts.dbias, o),
    b,
    i,
    o,
    optionalBoolean('options.accumulate', opts.accumulate, false),
  );
}

/** dbias (outDim) (+)= Σ_r rowScale_r dy_r (float64 sums). */
export function biasBackward(
  dy: Float32Array,
  batch: number,
  outDim: number,
  dbias: Float32Array,
  options?: { rowScale?: Float32Array; accumulate?: boolean },
): void {
  const b = nonNegativeInteger('batch', batch);
  const o = positiveInteger('outDim', outDim);
  const n = elementCount('batch × outDim', b, o);
  const opts = optionsObject('options', options);
  const accumulate = optionalBoolean('options.accumulate', opts.accumulate, false);
  const rowScale = optionalSized('options.rowScale', opts.rowScale, b);
  binding.nnBiasBackward(sizedFloat32('dy', dy, n), rowScale, sizedFloat32('dbias', dbias, o), b, o, accumulate);
}

/**
 * Ghost norms of a dense layer: the squared norm of each example's weight gradient x_r ⊗ dy_r is
 * ‖x_r‖²·‖dy_r‖² (plus ‖dy_r‖² for the bias with withBias), without forming it. Float64 output.
 */
export function denseGhostSqNorms(
  x: Float32Array,
  dy: Float32Array,
  batch: number,
  inDim: number,
  outDim: number,
  options?: { withBias?: boolean; out?: Float64Array },
): Float64Array {
  const [b, i, o] = dims(batch, inDim, outDim);
  const opts = optionsObject('options', options);
  const xs = sizedFloat32('x', x, b * i);
  const dys = sizedFloat32('dy', dy, b * o);
  const withBias = optionalBoolean('options.withBias', opts.withBias, false);
  const sq = typedOutput('options.out', opts.out, 'Float64Array', b);
  binding.nnDenseGhostSqnorms(xs, dys, sq, b, i, o, withBias);
  return sq;
}

/** ‖y_r‖² of each of the batch rows of y (float64). */
export function rowSqNorms(y: Float32Array, batch: number, dim: number, out?: Float64Array): Float64Array {
  const b = nonNegativeInteger('batch', batch);
  const d = positiveInteger('dim', dim);
  const ys = sizedFloat32('y', y, elementCount('batch × dim', b, d));
  const sq = typedOutput('out', out, 'Float64Array', b);
  binding.nnRowSqnorms(ys, sq, b, d);
  return sq;
}

/** y = f(x) elementwise (out may be x). */
export function activationForward(kind: ActivationKind, x: Float32Array, out?: Float32Array): Float32Array {
  const code = activationCode(kind);
  const v = float32Array('x', x, false);
  const y = outputArray('out', out, v.length);
  binding.nnActivationForward(code, v, y);
  return y;
}

/** dx = dy · f'(x), with f' expressed through y = f(x) (out may be dy). */
export function activationBackward(
  kind: ActivationKind,
  y: Float32Array,
  dy: Float32Array,
  out?: Float32Array,
): Float32Array {
  const code = activationCode(kind);
  const yv = float32Array('y', y, false);
  const dys = sizedFloat32('dy', dy, yv.length);
  const dx = outputArray('out', out, yv.length);
  binding.nnActivationBackward(code, yv, dys, dx);
  return dx;
}

/**
 * Per-example softmax cross-entropy of logits (batch x classes) against labels in [0, classes):
 * writes the losses and, with options.dlogits, softmax − onehot (the per-example loss gradient).
 */
export function softmaxCrossEntropy(
  logits: Float32Array,
  labels: Int32Array,
  batch: number,
  classes: number,
  options?: { loss?: Float32Array; dlogits?: Float32Array },
): Float32Array {
  const b = nonNegativeInteger('batch', batch);
  const c = positiveInteger('classes', classes);
  const n = elementCount('batch × classes', b, c);
  const opts = optionsObject('options', options);
  const lab = typedArray('labels', labels, 'Int32Array');
  if (lab.length !== b) throw invalidArgument('labels.length', `batch (${b})`, lab.length);
  const ls = sizedFloat32('logits', logits, n);
  const dlogits = optionalSized('options.dlogits', opts.dlogits, n);
  const loss = outputArray('options.loss', opts.loss, b);
  binding.nnSoftmaxCrossEntropy(ls, lab, loss, dlogits, b, c);
  return loss;
}

/** out (batch x dim) = Σ_t w_t · table[indices_t] per bag (mean without weights) + bias. */
export function embeddingBagForward(
  table: Float32Array,
  rows: number,
  dim: number,
  bags: Bags,
  batch: number,
  options?: { bias?: Float32Array; out?: Float32Array },
): Float32Array {
  const [r, d, b] = bagDims(rows, dim, batch);
  const opts = optionsObject('options', options);
  const bg = readBags(bags, b);
  const t = sizedFloat32('table', table, r * d);
  const bias = optionalSized('options.bias', opts.bias, d);
  const out = outputArray('options.out', opts.out, b * d);
  binding.nnEmbeddingBagForward(t, r, d, bg.indices, bg.offsets, bg.weights ?? null, b, bias, out);
  return out;
}

/** dtable += Σ_r rowScale_r Σ_{t in bag r} w_t · dout_r, writing only the rows the tokens touch. */
export function embeddingBagBackward(
  dout: Float32Array,
  rows: number,
  dim: number,
  bags: Bags,
  batch: number,
  dtable: Float32Array,
  options?: { rowScale?: Float32Array },
): void {
  const [r, d, b] = bagDims(rows, dim, batch);
  const opts = optionsObject('options', options);
  const bg = readBags(bags, b);
  const rowScale = optionalSized('options.rowScale', opts.rowScale, b);
  const douts = sizedFloat32('dout', dout, b * d);
  const dt = sizedFloat32('dtable', dtable, r * d);
  binding.nnEmbeddingBagBackward(douts, r, d, bg.indices, bg.offsets, bg.weights ?? null, b, rowScale, dt);
}

/**
 * Ghost norms of an embedding bag: ‖dout_r‖² · Σ_j c_j², where c_j is the summed weight of the
 * tokens of bag r hitting row j (duplicates merged) — the exact squared norm of the example's
 * sparse table gradient, never materialised.
 */
export function embeddingBagGhostSqNorms(
  dout: Float32Array,
  rows: number,
  dim: number,
  bags: Bags,
  batch: number,
  out?: Float64Array,
): Float64Array {
  const [r, d, b] = bagDims(rows, dim, batch);
  const bg = readBags(bags, b);
  const douts = sizedFloat32('dout', dout, b * d);
  const sq = typedOutput('out', out, 'Float64Array', b);
  binding.nnEmbeddingBagGhostSqnorms(douts, r, d, bg.indices, bg.offsets, bg.weights ?? null, b, sq);
  return sq;
}

/** Example ids of a contribution map wrap here (the stamps are cleared), far below the Int32 limit. */
export const CONTRIBUTION_STAMP_LIMIT = 2 ** 30;

/** The running state of a DP-AdaFEST contribution map over a table of rows = counts.length rows. */
export interface ContributionMapState {
  /** The clipped counts summed so far, one per table row. */
  readonly counts: Float32Array;
  /** The last example id that saw each row (0 = none): distinct rows per example in one pass. */
  readonly stamp: Int32Array;
  /** The rows with a non-zero count, in first-touch order: touched[0, touchedCount). rows entries. */
  readonly touched: Int32Array;
  /** The last example id given, in [0, 2^30]; updated. */
  example: number;
  /** Updated. */
  touchedCount: number;
}

const cursor = new Float64Array(2);

/**
 * Adds each example's clipped contribution map to state (DP-AdaFEST, Ghazi et al., NeurIPS 2023,
 * Algorithm 2): weight min(1, C₁/√n) on each of the n distinct rows of its bag (bags.weights are
 * ignored), summed as counts[j] = float32(counts[j] + w) in example order. All or nothing: a bag
 * index outside [0, rows) is refused (naming bags.indices[t]) with state unchanged.
 */
export function contributionMapAdd(
  state: ContributionMapState,
  bags: Bags,
  batch: number,
  contributionClip: number,
): void {
  const st = requiredObject('state', state);
  const counts = float32Array('state.counts', st.counts);
  const rows = counts.length;
  const stamp = typedArray('state.stamp', st.stamp, 'Int32Array');
  if (stamp.length !== rows) throw invalidArgument('state.stamp.length', `counts.length (${rows})`, stamp.length);
  const touched = typedArray('state.touched', st.touched, 'Int32Array');
  if (touched.length !== rows) throw invalidArgument('state.touched.length', `counts.length (${rows})`, touched.length);
  cursor[0] = integerIn('state.example', st.example, 0, CONTRIBUTION_STAMP_LIMIT, 'an integer in [0, 2^30]');
  cursor[1] = integerIn('state.touchedCount', st.touchedCount, 0, rows, `an integer in [0, ${rows}]`);
  const b = nonNegativeInteger('batch', batch);
  const clip = positiveFinite('contributionClip', contributionClip);
  const bg = readBags(bags, b);
  disjointViews(
    { 'state.counts': counts, 'state.stamp': stamp, 'state.touched': touched },
    { 'bags.indices': bg.indices, 'bags.offsets': bg.offsets },
  );
  // The cursor goes back into state after the kernel: refuse a state that could not take it first.
  if (!Reflect.set(st, 'example', cursor[0]) || !Reflect.set(st, 'touchedCount', cursor[1])) {
    throw invalidArgument('state', 'an object with writable example and touchedCount', st);
  }
  const bad = binding.nnContributionMapAdd(bg.indices, bg.offsets, b, clip, counts, stamp, touched, cursor);
  if (bad >= 0) throw invalidArgument(`bags.indices[${bad}]`, `a row in [0, ${rows})`, bg.indices[bad]);
  st.example = cursor[0]!;
  st.touchedCount = cursor[1]!;
}

/** A rows × dim table: its length checked a multiple of dim; rows returned. */
function tableRows(name: string, table: Float32Array, dim: number): number {
  if (table.length % dim !== 0) throw invalidArgument(`${name}.length`, `a multiple of dim (${dim})`, table.length);
  return table.length / dim;
}

/** Throws the typed error for sel[bad] (from the kernel: out of [0, rows) or not increasing). */
function refuseRow(sel: Int32Array, bad: number, rows: number): never {
  throw invalidArgument(`sel[${bad}]`, `strictly increasing, in [0, ${rows})`, sel[bad]);
}

/**
 * Copies rows sel of a rows × dim table (rows = table.length / dim) into out (sel.length × dim), in
 * sel's order, and returns out. sel: strictly increasing rows in [0, rows), checked before any
 * write (a bad entry is refused naming sel[i], out unchanged).
 */
export function gatherRows(table: Float32Array, dim: number, sel: Int32Array, out: Float32Array): Float32Array {
  const t = float32Array('table', table, false);
  const d = positiveInteger('dim', dim);
  const rows = tableRows('table', t, d);
  const s = typedArray('sel', sel, 'Int32Array');
  const o = sizedFloat32('out', out, s.length * d);
  disjointViews({ out: o }, { table: t, sel: s });
  const bad = binding.nnGatherRows(t, d, s, o);
  if (bad >= 0) refuseRow(s, bad, rows);
  return o;
}

/**
 * Writes row i of src (sel.length × dim) into row sel[i] of a rows × dim table. sel as for
 * gatherRows: checked before any write.
 */
export function scatterRows(src: Float32Array, dim: number, sel: Int32Array, table: Float32Array): void {
  const d = positiveInteger('dim', dim);
  const s = typedArray('sel', sel, 'Int32Array');
  const from = sizedFloat32('src', src, s.length * d);
  const t = float32Array('table', table, false);
  const rows = tableRows('table', t, d);
  disjointViews({ table: t }, { src: from, sel: s });
  const bad = binding.nnScatterRows(from, d, s, t);
  if (bad >= 0) refuseRow(s, bad, rows);
}

/** Sets rows sel of a rows × dim table to zero. sel as for gatherRows: checked before any write. */
export function zeroRows(table: Float32Array, dim: number, sel: Int32Array): void {
  const t = float32Array('table', table, false);
  const d = positiveInteger('dim', dim);
  const rows = tableRows('table', t, d);
  const s = typedArray('sel', sel, 'Int32Array');
  disjointViews({ table: t }, { sel: s });
  const bad = binding.nnZeroRows(t, d, s);
  if (bad >= 0) refuseRow(s, bad, rows);
}

export interface SgdUpdateOptions {
  lr: number;
  momentum?: number;
  /** Momentum buffer (params.length floats); required when momentum > 0. */
  velocity?: Float32Array;
  weightDecay?: number;
  /** Multiplies grad first (e.g. 1 / expected batch size). Default 1. */
  gradScale?: number;
}

/** params −= lr · (momentum ? v : g) with g = gradScale·grad + weightDecay·params, v = momentum·v + g. */
export function sgdUpdate(params: Float32Array, grad: Float32Array, options: SgdUpdateOptions): void {
  const p = float32Array('params', params, false);
  options = requiredObject('options', options);
  const momentum = finite('options.momentum', options.momentum, 0);
  if (momentum < 0 || momentum >= 1) throw invalidArgument('options.momentum', 'in [0, 1)', momentum);
  const velocity = optionalSized('options.velocity', options.velocity, p.length);
  if (momentum > 0 && velocity === null)
    throw invalidArgument('options.velocity', 'given when options.momentum > 0', undefined);
  const g = sizedFloat32('grad', grad, p.length);
  const lr = requiredFinite('options.lr', options.lr);
  const decay = finite('options.weightDecay', options.weightDecay, 0);
  binding.nnSgdUpdate(p, g, velocity, lr, momentum, decay, finite('options.gradScale', options.gradScale, 1));
}

export interface AdamUpdateOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  gradScale?: number;
  /** The 1-based step number (bias correction). */
  step: number;
}

/** One Adam step with bias correction; m and v are the moment buffers (params.length floats). */
export function adamUpdate(
  params: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  options: AdamUpdateOptions,
): void {
  const p = float32Array('params', params, false);
  options = requiredObject('options', options);
  const beta1 = finite('options.beta1', options.beta1, 0.9);
  const beta2 = finite('options.beta2', options.beta2, 0.999);
  const eps = finite('options.eps', options.eps, 1e-8);
  if (beta1 < 0 || beta1 >= 1) throw invalidArgument('options.beta1', 'in [0, 1)', beta1);
  if (beta2 < 0 || beta2 >= 1) throw invalidArgument('options.beta2', 'in [0, 1)', beta2);
  if (!(eps > 0)) throw invalidArgument('options.eps', 'positive', eps);
  binding.nnAdamUpdate(
    p,
    sizedFloat32('grad', grad, p.length),
    sizedFloat32('m', m, p.length),
    sizedFloat32('v', v, p.length),
    requiredFinite('options.lr', options.lr),
    beta1,
    beta2,
    eps,
    finite('options.weightDecay', options.weightDecay, 0),
    finite('options.gradScale', options.gradScale, 1),
    positiveInteger('options.step', options.step),
  );
}
