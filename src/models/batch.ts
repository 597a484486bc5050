// What a model consumes: a batch of examples, as dense feature rows or as bags of hashed tokens.
import type { Bags } from '../kernels/nn.js';

export interface Batch {
  /** Number of examples (may be 0: an empty Poisson batch). */
  size: number;
  /** Dense features, size x featureDim row-major (dense models). */
  x?: Float32Array;
  /** Sparse features as bags (embedding-bag models). */
  bags?: Bags;
  /** size labels in [0, classes). */
  labels: Int32Array;
}

/** A layer's input: dense rows or bags. */
export type LayerInput = { kind: 'dense'; x: Float32Array } | { kind: 'bags'; bags: Bags };
