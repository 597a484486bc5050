// The layers of the built-in models, each over the native kernels. A layer with parameters owns a
// slice of the model's flat parameter vector and offers the three backward pieces ghost clipping
// needs: the gradient with respect to its input, the squared norm of each example's parameter
// gradient (ghost norm), and the parameter gradient re-weighted per example (book-keeping).
import {
  activationBackward,
  activationForward,
  biasBackward,
  denseBackwardInput,
  denseBackwardParams,
  denseForward,
  denseGhostSqNorms,
  embeddingBagBackward,
  embeddingBagForward,
  embeddingBagGhostSqNorms,
  rowSqNorms,
  type ActivationKind,
} from '../kernels/nn.js';
import type { Random } from '../data/random.js';
import type { LayerInput } from './batch.js';
import { invalidArgument } from '../errors.js';
import {
  booleanValue,
  elementCount,
  nonNegativeFinite,
  positiveInteger,
  stringValue,
  typedArray,
} from '../validate.js';

function layerName(value: unknown): string {
  return stringValue('name', value);
}

function activationKind(value: unknown): ActivationKind {
  if (value !== 'relu' && value !== 'tanh') throw invalidArgument('kind', '"relu" or "tanh"', value);
  return value;
}

/** A float buffer that grows to the largest batch seen and hands out views of the right size. */
export class Workspace {
  private data = new Float32Array(0);
  private sq = new Float64Array(0);
  view(length: number): Float32Array {
    if (this.data.length < length) this.data = new Float32Array(Math.max(length, this.data.length * 2));
    return this.data.subarray(0, length);
  }
  view64(length: number): Float64Array {
    if (this.sq.length < length) this.sq = new Float64Array(Math.max(length, this.sq.length * 2));
    return this.sq.subarray(0, length);
  }
}

export interface Layer {
  readonly name: string;
  /** Parameters (0 for activations). */
  readonly paramCount: number;
  readonly outDim: number;
  /** Writes initial parameters into params (paramCount floats). */
  init(params: Float32Array, rng: Random): void;
  /** Computes the output for the batch and keeps what backward needs. */
  forward(input: LayerInput, batch: number, params: Float32Array): Float32Array;
  /** Gradient with respect to the (dense) input, from the output gradient. */
  backwardInput(dOut: Float32Array, batch: number, params: Float32Array): Float32Array;
  /** Squared norm of each example's parameter gradient (batch float64s), without forming it. */
  ghostSqNorms(dOut: Float32Array, batch: number, out: Float64Array): void;
  /** grad (+)= Σ_r rowScale_r · (example r's parameter gradient); rowScale null = ones. */
  backwardParams(
    dOut: Float32Array,
    batch: number,
    grad: Float32Array,
    rowScale: Float32Array | null,
    accumulate: boolean,
  ): void;
  /** Zeroes example rows of the stored input (dense layers), so a dropped example contributes nothing. */
  zeroInputRows?(rows: readonly number[]): void;
}

function zeroRows(a: Float32Array, width: number, rows: readonly number[]): void {
  for (const r of rows) a.fill(0, r * width, (r + 1) * width);
}
export { zeroRows };

function denseInput(input: LayerInput, name: string): Float32Array {
  if (input?.kind !== 'dense') throw invalidArgument('input', `dense rows for layer ${name}`, input?.kind);
  return input.x;
}

/** y = x·W + b with W stored in x out, then b. Glorot-uniform weights, zero bias. */
export class Dense implements Layer {
  readonly paramCount: number;
  private readonly ws = new Workspace();
  private readonly dx = new Workspace();
  private x: Float32Array = new Float32Array(0);

  constructor(
    readonly name: string,
    readonly inDim: number,
    readonly outDim: number,
  ) {
    layerName(name);
    positiveInteger('inDim', inDim);
    positiveInteger('outDim', outDim);
    this.paramCount = elementCount('the Dense parameter count', inDim * outDim + outDim);
  }

  init(params: Float32Array, rng: Random): void {
    const limit = Math.sqrt(6 / (this.inDim + this.outDim));
    const nw = this.inDim * this.outDim;
    for (let i = 0; i < nw; i++) params[i] = (2 * rng.next() - 1) * limit;
    params.fill(0, nw, this.paramCount);
  }

  private w(params: Float32Array): Float32Array {
    return params.subarray(0, this.inDim * this.outDim);
  }
  private b(params: Float32Array): Float32Array {
    return params.subarray(this.inDim * this.outDim, this.paramCount);
  }

  forward(input: LayerInput, batch: number, params: Float32Array): Float32Array {
    this.x = denseInput(input, this.name);
    const y = this.ws.view(batch * this.outDim);
    return denseForward(this.x, this.w(params), this.b(params), batch, this.inDim, this.outDim, y);
  }

  zeroInputRows(rows: readonly number[]): void {
    zeroRows(this.x, this.inDim, rows);
  }

  backwardInput(dOut: Float32Array, batch: number, params: Float32Array): Float32Array {
    return denseBackwardInput(dOut, this.w(params), batch, this.inDim, this.outDim, this.dx.view(batch * this.inDim));
  }

  ghostSqNorms(dOut: Float32Array, batch: number, out: Float64Array): void {
    denseGhostSqNorms(this.x, dOut, batch, this.inDim, this.outDim, { withBias: true, out });
  }

  backwardParams(
    dOut: Float32Array,
    batch: number,
    grad: Float32Array,
    rowScale: Float32Array | null,
    accumulate: boolean,
  ): void {
    denseBackwardParams(this.x, dOut, batch, this.inDim, this.outDim, this.w(grad), {
      dbias: this.b(grad),
      accumulate,
      ...(rowScale ? { rowScale } : {}),
    });
  }
}

/** An elementwise activation (no parameters). */
export class Act implements Layer {
  readonly paramCount = 0;
  private readonly ws = new Workspace();
  private readonly dx = new Workspace();
  private y: Float32Array = new Float32Array(0);

  constructor(
    readonly name: string,
    readonly kind: ActivationKind,
    readonly outDim: number,
  ) {
    layerName(name);
    activationKind(kind);
    positiveInteger('outDim', outDim);
  }

  init(): void {}

  forward(input: LayerInput, batch: number): Float32Array {
    this.y = activationForward(this.kind, denseInput(input, this.name), this.ws.view(batch * this.outDim));
    return this.y;
  }

  backwardInput(dOut: Float32Array, batch: number): Float32Array {
    return activationBackward(this.kind, this.y, dOut, this.dx.view(batch * this.outDim));
  }

  ghostSqNorms(_dOut: Float32Array, _batch: number, out: Float64Array): void {
    out.fill(0);
  }

  backwardParams(): void {}
}

/**
 * How an embedding bag without per-token weights combines its rows: the mean (w_t = 1/n), the sum
 * scaled by 1/sqrt(n) ('sqrtn', TensorFlow's combiner of that name: a long message does not drown
 * its tokens' gradients as under the mean) or the plain sum.
 */
export type BagCombiner = 'mean' | 'sqrtn' | 'sum';

/**
 * An embedding bag over hashed token ids: out_r = Σ_t w_t·E[token_t] (weights from the bags, or
 * the combiner's) (+ bias). With `bias` and rows = features, dim = classes it is softmax
 * regression on sparse features. Its gradient touches only the rows of the batch's tokens.
 */
export class EmbeddingBag implements Layer {
  readonly paramCount: number;
  private readonly ws = new Workspace();
  private readonly weightsWs = new Workspace();
  private input: LayerInput = { kind: 'dense', x: new Float32Array(0) };

  constructor(
    readonly name: string,
    readonly rows: number,
    readonly outDim: number,
    readonly bias: boolean,
    readonly initScale: number,
    readonly combiner: BagCombiner = 'mean',
  ) {
    layerName(name);
    positiveInteger('rows', rows);
    positiveInteger('outDim', outDim);
    booleanValue('bias', bias);
    nonNegativeFinite('initScale', initScale);
    if (combiner !== 'mean' && combiner !== 'sqrtn' && combiner !== 'sum') {
      throw invalidArgument('combiner', '"mean", "sqrtn" or "sum"', combiner);
    }
    this.paramCount = elementCount('the EmbeddingBag parameter count', rows * outDim + (bias ? outDim : 0));
  }

  /** The bags with the combiner's per-token weights (unchanged under 'mean' or given weights). */
  private weighted(input: LayerInput): LayerInput {
    if (input.kind !== 'bags' || this.combiner === 'mean' || input.bags.weights !== undefined) return input;
    // Read here before the kernel checks them: brand-check first (a Proxy has no typed length).
    const indices = typedArray('bags.indices', input.bags.indices, 'Int32Array');
    const offsets = typedArray('bags.offsets', input.bags.offsets, 'Int32Array');
    const weights = this.weightsWs.view(indices.length);
    for (let r = 0; r + 1 < offsets.length; r++) {
      const n = offsets[r + 1]! - offsets[r]!;
      weights.fill(this.combiner === 'sum' ? 1 : 1 / Math.sqrt(n), offsets[r]!, offsets[r + 1]!);
    }
    return { kind: 'bags', bags: { indices, offsets, weights } };
  }

  init(params: Float32Array, rng: Random): void {
    const n = this.rows * this.outDim;
    // One uint32 per value (24 bits of uniform): the table can hold millions of rows.
    const k = (2 * this.initScale) / 4294967296;
    if (this.initScale === 0) params.fill(0, 0, n);
    else for (let i = 0; i < n; i++) params[i] = rng.nextUint32() * k - this.initScale;
    params.fill(0, n, this.paramCount);
  }

  private table(params: Float32Array): Float32Array {
    return params.subarray(0, this.rows * this.outDim);
  }

  private bags(): NonNullable<Extract<LayerInput, { kind: 'bags' }>['bags']> {
    if (this.input.kind !== 'bags') {
      throw invalidArgument('input', `bags of tokens for layer ${this.name}`, this.input.kind);
    }
    return this.input.bags;
  }

  forward(input: LayerInput, batch: number, params: Float32Array): Float32Array {
    this.input = this.weighted(input);
    const out = this.ws.view(batch * this.outDim);
    const opts = this.bias ? { bias: params.subarray(this.rows * this.outDim, this.paramCount), out } : { out };
    return embeddingBagForward(this.table(params), this.rows, this.outDim, this.bags(), batch, opts);
  }

  /** The token rows and bag offsets of the last forward pass (null before any): DP-AdaFEST's contribution map. */
  lastBags(): { indices: Int32Array; offsets: Int32Array } | null {
    if (this.input.kind !== 'bags') return null;
    return { indices: this.input.bags.indices, offsets: this.input.bags.offsets };
  }

  backwardInput(): Float32Array {
    throw invalidArgument('layer', 'one with an input gradient (an embedding bag has none)', this.name);
  }

  /**
   * The gradient with respect to each bag entry's weight w_t (given, or the combiner's 1/n, 1/sqrt(n), 1) in
   * the last forward: out_r = Σ_t w_t·E[idx_t] (+ b), so ∂/∂w_t = dOut_r · E[idx_t]. One value per entry of
   * the first `batch` bags, aligned with bags.indices. Float64 sums, rounded once (an analysis path, in TS).
   */
  bagWeightGradient(dOut: Float32Array, batch: number, params: Float32Array): Float32Array {
    const { indices, offsets } = this.bags();
    const table = this.table(params);
    const dim = this.outDim;
    const out = new Float32Array(offsets[batch]! - offsets[0]!);
    for (let r = 0; r < batch; r++) {
      for (let t = offsets[r]!; t < offsets[r + 1]!; t++) {
        const row = indices[t]! * dim;
        let s = 0;
        for (let k = 0; k < dim; k++) s += dOut[r * dim + k]! * table[row + k]!;
        out[t - offsets[0]!] = s;
      }
    }
    return out;
  }

  ghostSqNorms(dOut: Float32Array, batch: number, out: Float64Array): void {
    embeddingBagGhostSqNorms(dOut, this.rows, this.outDim, this.bags(), batch, out);
    if (this.bias) {
      const b = rowSqNorms(dOut, batch, this.outDim, this.ws.view64(batch));
      for (let r = 0; r < batch; r++) out[r]! += b[r]!;
    }
  }

  backwardParams(
    dOut: Float32Array,
    batch: number,
    grad: Float32Array,
    rowScale: Float32Array | null,
    accumulate: boolean,
  ): void {
    const table = this.table(grad);
    if (!accumulate) table.fill(0);
    embeddingBagBackward(dOut, this.rows, this.outDim, this.bags(), batch, table, rowScale ? { rowScale } : {});
    if (this.bias) {
      biasBackward(dOut, batch, this.outDim, grad.subarray(this.rows * this.outDim, this.paramCount), {
        accumulate,
        ...(rowScale ? { rowScale } : {}),
      });
    }
  }
}
