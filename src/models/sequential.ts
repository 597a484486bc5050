// A model as a sequence of layers over one flat Float32Array of parameters, with one named
// group per layer that has parameters (group end offsets are what clipAndSum's `groups` takes).
// One pass gives everything a private step needs: the per-example loss gradients are propagated
// back to every layer's output once; ghost norms and the re-weighted parameter gradient
// (book-keeping) are then computed from the stored activations and output gradients.
import { softmaxCrossEntropy } from '../kernels/nn.js';
import { invalidArgument, invalidType } from '../errors.js';
import { allocate, elementCount, nonNegativeInteger, positiveInteger, typedArray } from '../validate.js';
import { Random } from '../data/random.js';
import type { Batch, LayerInput } from './batch.js';
import { EmbeddingBag, Workspace, zeroRows, type Layer } from './layers.js';

export interface ParamGroup {
  readonly name: string;
  readonly offset: number;
  readonly length: number;
}

/** A model's embedding table (rows × dim floats from offset in params) and the bags of its last forward pass. */
export interface EmbeddingTableView {
  readonly offset: number;
  readonly rows: number;
  readonly dim: number;
  /** The last batch's token rows (the bags' indices) and bag boundaries (batch + 1 offsets); null before any. */
  lastBags(): { indices: Int32Array; offsets: Int32Array } | null;
}

export class Sequential {
  readonly params: Float32Array;
  readonly groups: readonly ParamGroup[];
  /** End offset of each group within params (for clipAndSum's groups option). */
  readonly groupEnds: readonly number[];
  private readonly paramLayers: number[] = [];
  private readonly dOuts: Float32Array[] = [];
  private readonly logitsWs = new Workspace();
  private readonly dlogitsWs = new Workspace();
  private readonly lossWs = new Workspace();
  private lastBatch = 0;

  constructor(
    readonly layers: readonly Layer[],
    readonly inputKind: 'dense' | 'bags',
    readonly classes: number,
    seed: number,
  ) {
    if (!Array.isArray(layers) || layers.length === 0) {
      throw invalidType('layers', 'a non-empty array of layers', layers);
    }
    layers.forEach((l: unknown, i) => {
      const layer = l as Partial<Layer> | null;
      if (typeof layer !== 'object' || layer === null || typeof layer.forward !== 'function') {
        throw invalidType(`layers[${i}]`, 'a layer', l);
      }
      nonNegativeInteger(`layers[${i}].paramCount`, layer.paramCount);
    });
    if (inputKind !== 'dense' && inputKind !== 'bags') {
      throw invalidArgument('inputKind', '"dense" or "bags"', inputKind);
    }
    positiveInteger('classes', classes);
    if (!Number.isSafeInteger(seed)) throw invalidArgument('seed', 'a safe integer', seed);
    const count = elementCount(
      'the parameter count',
      layers.reduce((s, l) => s + l.paramCount, 0),
    );
    this.params = allocate('params', 'Float32Array', count);
    const groups: ParamGroup[] = [];
    let offset = 0;
    layers.forEach((layer, i) => {
      if (layer.paramCount === 0) return;
      groups.push({ name: layer.name, offset, length: layer.paramCount });
      this.paramLayers.push(i);
      offset += layer.paramCount;
    });
    this.groups = groups;
    this.groupEnds = groups.map((g) => g.offset + g.length);
    const last = layers[layers.length - 1];
    if (last === undefined || last.outDim !== classes) {
      const name = `layers[${layers.length - 1}].outDim`;
      throw invalidArgument(name, `classes (${classes}): one logit per class`, last?.outDim);
    }
    this.init(seed);
  }

  /**
   * The embedding table of a model whose first layer is an EmbeddingBag (its rows × dim weights;
   * a bias after them is not part of it), with the bags of the last forward pass; undefined for
   * dense models. DpOptimizer's sparseEmbeddings (DP-AdaFEST) noises only selected rows of it.
   */
  get embeddingTable(): EmbeddingTableView | undefined {
    const first = this.layers[0];
    if (!(first instanceof EmbeddingBag)) return undefined;
    return { offset: 0, rows: first.rows, dim: first.outDim, lastBags: () => first.lastBags() };
  }

  get paramCount(): number {
    return this.params.length;
  }

  /** Examples in the last forwardBackward: the rows ghostSqNorms and backwardParams cover. */
  get batchSize(): number {
    return this.lastBatch;
  }

  /** Re-initialises the parameters from a seed. */
  init(seed: number): void {
    if (!Number.isSafeInteger(seed)) throw invalidArgument('seed', 'a safe integer', seed);
    const rng = new Random(seed);
    for (const [k, i] of this.paramLayers.entries()) {
      const g = this.groups[k]!;
      this.layers[i]!.init(this.params.subarray(g.offset, g.offset + g.length), rng);
    }
  }

  private view(i: number, params: Float32Array): Float32Array {
    const k = this.paramLayers.indexOf(i);
    if (k < 0) return params.subarray(0, 0);
    const g = this.groups[k]!;
    return params.subarray(g.offset, g.offset + g.length);
  }

  /** The batch's input, after checking its shape (the kernels check every length). */
  private input(batch: Batch): LayerInput {
    if (typeof batch !== 'object' || batch === null) {
      throw invalidType('batch', 'an object { size, x | bags, labels }', batch);
    }
    const widest = Math.max(...this.layers.map((l) => l.outDim));
    elementCount('batch.size × the widest layer', nonNegativeInteger('batch.size', batch.size), widest);
    if (this.inputKind === 'bags') {
      if (typeof batch.bags !== 'object' || batch.bags === null) {
        throw invalidType('batch.bags', 'bags of tokens (this model takes bags)', batch.bags);
      }
      return { kind: 'bags', bags: batch.bags };
    }
    if (batch.x === undefined) {
      throw invalidType('batch.x', 'a Float32Array (this model takes dense features)', undefined);
    }
    return { kind: 'dense', x: batch.x };
  }

  /** Logits (batch.size x classes). */
  forward(batch: Batch): Float32Array {
    let h: LayerInput = this.input(batch);
    let out = this.logitsWs.view(0);
    this.layers.forEach((layer, i) => {
      out = layer.forward(h, batch.size, this.view(i, this.params));
      h = { kind: 'dense', x: out };
    });
    return out;
  }

  /**
   * Forward, per-example softmax cross-entropy, and the backward pass to every layer's output
   * gradient (of each example's own loss, not averaged). Returns the summed loss.
   */
  forwardBackward(batch: Batch): number {
    const logits = this.forward(batch);
    const b = batch.size;
    typedArray('batch.labels', batch.labels, 'Int32Array');
    this.lastBatch = b;
    const dlogits = this.dlogitsWs.view(b * this.classes);
    const loss = softmaxCrossEntropy(logits, batch.labels, b, this.classes, { dlogits, loss: this.lossWs.view(b) });
    let d = dlogits;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      this.dOuts[i] = d;
      if (i > 0) d = this.layers[i]!.backwardInput(d, b, this.view(i, this.params));
    }
    let sum = 0;
    for (let r = 0; r < b; r++) sum += loss[r]!;
    return sum;
  }

  /** Per-example squared gradient norm of each group: out is batch x groups, row-major. */
  ghostSqNorms(out: Float64Array, scratch: Float64Array): void {
    const b = this.lastBatch;
    const gCount = this.groups.length;
    // A short out would drop norms silently (typed-array writes past the end are ignored).
    if (!(out instanceof Float64Array) || out.length !== b * gCount) {
      throw invalidArgument('out', `a Float64Array of batch x groups (${b * gCount})`, out);
    }
    if (!(scratch instanceof Float64Array) || scratch.length < b) {
      throw invalidArgument('scratch', `a Float64Array of at least ${b}`, scratch);
    }
    this.paramLayers.forEach((i, k) => {
      const col = scratch.subarray(0, b);
      this.layers[i]!.ghostSqNorms(this.dOuts[i]!, b, col);
      for (let r = 0; r < b; r++) out[r * gCount + k] = col[r]!;
    });
  }

  /**
   * grad (+)= Σ_r s_r · (example r's gradient), per group: rowScales[k] scales group k (null =
   * ones; an empty array: no group scaled, the plain gradient). One re-weighted backward over the
   * stored activations: the clipped sum of book-keeping.
   */
  backwardParams(grad: Float32Array, rowScales: readonly (Float32Array | null)[], accumulate: boolean): void {
    const b = this.lastBatch;
    // Every group or none: a partial list would leave the groups past its end unclipped.
    if (rowScales.length !== 0 && rowScales.length !== this.groups.length) {
      throw invalidArgument('rowScales.length', `0 or the number of groups (${this.groups.length})`, rowScales.length);
    }
    this.paramLayers.forEach((i, k) => {
      const g = this.groups[k]!;
      this.layers[i]!.backwardParams(
        this.dOuts[i]!,
        b,
        grad.subarray(g.offset, g.offset + g.length),
        rowScales[k] ?? null,
        accumulate,
      );
    });
  }

  /**
   * Drops examples from the parameter gradient (NaN/Inf policy): zeroes their rows in every stored
   * output gradient and dense layer input, so the re-weighted backward adds exactly nothing for them.
   */
  dropExamples(rows: readonly number[]): void {
    if (rows.length === 0) return;
    this.layers.forEach((layer, i) => {
      zeroRows(this.dOuts[i]!, layer.outDim, rows);
      layer.zeroInputRows?.(rows);
    });
  }

  /**
   * The gradient of each example's softmax probability p_c (c = classIndex, or classIndex[r] per example) with
   * respect to the model's input, through every layer's backwardInput (forwardBackward stops above layer 0).
   * Dense input: batch × inputDim, ∂p_c/∂x. Bags input: one value per bag entry (aligned with bags.indices),
   * ∂p_c/∂w_t for the entry's weight as the embedding bag reads it (given, or the combiner's: under 'mean' the
   * 1/n is held fixed, so a token's count c_j moves p by w_t·∂p/∂w_t per unit). A fresh array; it overwrites
   * what the last forward stored (run it between training steps, not inside one).
   */
  inputGradient(batch: Batch, classIndex: number | Int32Array): Float32Array {
    const logits = this.forward(batch);
    const b = batch.size;
    const k = this.classes;
    const classOf = (r: number): number => (typeof classIndex === 'number' ? classIndex : classIndex[r]!);
    if (typeof classIndex === 'number') {
      if (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= k) {
        throw invalidArgument('classIndex', `an integer in [0, ${k})`, classIndex);
      }
    } else {
      typedArray('classIndex', classIndex, 'Int32Array');
      if (classIndex.length !== b) throw invalidArgument('classIndex.length', `batch.size (${b})`, classIndex.length);
      for (let r = 0; r < b; r++) {
        const c = classIndex[r]!;
        if (c < 0 || c >= k) throw invalidArgument(`classIndex[${r}]`, `in [0, ${k})`, c);
      }
    }
    // ∂p_c/∂z_j = p_c·(δ_cj − p_j) for the softmax p of the logits z (float64, max subtracted).
    let d = this.dlogitsWs.view(b * k);
    const p = new Float64Array(k);
    for (let r = 0; r < b; r++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < k; j++) max = Math.max(max, logits[r * k + j]!);
      let sum = 0;
      for (let j = 0; j < k; j++) {
        p[j] = Math.exp(logits[r * k + j]! - max);
        sum += p[j]!;
      }
      const c = classOf(r);
      const pc = p[c]! / sum;
      for (let j = 0; j < k; j++) d[r * k + j] = pc * ((j === c ? 1 : 0) - p[j]! / sum);
    }
    for (let i = this.layers.length - 1; i > 0; i--) d = this.layers[i]!.backwardInput(d, b, this.view(i, this.params));
    const first = this.layers[0]!;
    if (this.inputKind === 'dense') return first.backwardInput(d, b, this.view(0, this.params)).slice();
    const bag = first as Layer & { bagWeightGradient?: EmbeddingBag['bagWeightGradient'] };
    if (typeof bag.bagWeightGradient !== 'function') {
      throw invalidArgument('layers[0]', 'an embedding bag (this model takes bags)', first.name);
    }
    return bag.bagWeightGradient(d, b, this.view(0, this.params));
  }

  /** Predicted class of each example. */
  predict(batch: Batch): Int32Array {
    const logits = this.forward(batch);
    const out = new Int32Array(batch.size);
    for (let r = 0; r < batch.size; r++) {
      let best = 0;
      for (let c = 1; c < this.classes; c++)
        if (logits[r * this.classes + c]! > logits[r * this.classes + best]!) best = c;
      out[r] = best;
    }
    return out;
  }
}
