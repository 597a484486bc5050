// Ghost clipping's model side: the interface a built-in model offers the optimizer, and the map
// from the model's parameter groups (one per layer) to the clipping rule's groups.
import { invalidArgument, invalidType } from '../errors.js';
import type { EmbeddingTableView } from '../models/sequential.js';

/**
 * A model the optimizer can clip by ghost norms (the built-in Sequential models). Its groups tile
 * the parameter vector; ghostSqNorms writes batchSize x groups.length squared norms (row-major),
 * always at the model's own layout: the optimizer reduces them to its clipping rule's groups.
 */
export interface GhostClippable {
  readonly groups: readonly { offset: number; length: number }[];
  /** Examples in the last forwardBackward (the rows ghostSqNorms and backwardParams cover). */
  readonly batchSize: number;
  ghostSqNorms(out: Float64Array, scratch: Float64Array): void;
  backwardParams(grad: Float32Array, rowScales: readonly (Float32Array | null)[], accumulate: boolean): void;
  dropExamples(rows: readonly number[]): void;
  /** The embedding table and its last bags (models whose first layer is an EmbeddingBag): for sparseEmbeddings. */
  readonly embeddingTable?: EmbeddingTableView | undefined;
}

/**
 * The clipping group of each of the model's groups, after checking that the model's groups tile
 * params and, under per-layer clipping, that every optimizer group (groupEnds) is a union of
 * model groups. Without per-layer clipping every model group maps to the one group 0.
 */
export function clippingGroupsOf(
  model: GhostClippable,
  paramCount: number,
  groupEnds: readonly number[],
  perLayer: boolean,
): number[] {
  if (typeof model !== 'object' || model === null || !Array.isArray(model.groups)) {
    throw invalidType('model', 'a model with parameter groups (GhostClippable)', model);
  }
  const ends: number[] = [];
  let at = 0;
  for (const grp of model.groups) {
    if (grp?.offset !== at || !Number.isSafeInteger(grp.length) || grp.length <= 0) break;
    at += grp.length;
    ends.push(at);
  }
  if (ends.length === 0 || ends.length !== model.groups.length || at !== paramCount) {
    const expected = `contiguous groups covering params.length (${paramCount})`;
    throw invalidArgument('model.groups', expected, model.groups);
  }
  if (!perLayer) return ends.map(() => 0);
  if (!groupEnds.every((e) => ends.includes(e))) {
    const expected = `the model's groupEnds [${ends.join(', ')}] or a coarsening of them (per-layer clipping)`;
    throw invalidArgument('groupEnds', expected, groupEnds);
  }
  let k = 0;
  return ends.map((e) => {
    const group = k;
    if (e === groupEnds[k]) k++;
    return group;
  });
}

/**
 * Each example's squared norms at the model's layout (batch x toGroup.length, row-major) summed
 * into its clipping groups (batch x groups, Σ over a group's layers), written into out.
 */
export function sumIntoGroups<T extends Float64Array>(
  sqModel: Float64Array,
  batch: number,
  toGroup: readonly number[],
  groups: number,
  out: T,
): T {
  const gm = toGroup.length;
  out.fill(0);
  for (let r = 0; r < batch; r++) {
    for (let k = 0; k < gm; k++) out[r * groups + toGroup[k]!]! += sqModel[r * gm + k]!;
  }
  return out;
}
