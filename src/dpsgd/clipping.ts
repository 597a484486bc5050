// Clipping rules: from the per-example (per-group) squared gradient norms to per-example scale
// factors. The clipped sum is then Σ_r s_r g_r, each term of norm ≤ C (the sensitivity).
//
// - flat: s = min(1, C / (‖g‖ + CLIP_EPSILON)) over the whole gradient (Abadi et al. 2016; ε = 1e-6, from the core).
// - per-layer: group k clipped to C_k, with s_k = min(1, C_k / (‖g_k‖ + CLIP_EPSILON)); the thresholds are
//   given, or split from a single budget C as C_k = C·sqrt(n_k / n) (so Σ C_k² = C²).
// - adaptive: flat clipping with a C that follows a target quantile of the norms, from a noised
//   count of the examples with ‖g‖ ≤ C (Andrew et al., NeurIPS 2021: adaptive-clipping.ts).
// - automatic: s = C / (‖g‖ + γ) for every example (Bu et al. 2022, normalised clipping); every
//   term has norm < C, and C only rescales the learning rate.
import { invalidArgument, invalidType } from '../errors.js';
import { numberArray, positiveFinite, positiveInteger } from '../validate.js';
import { CLIP_EPSILON } from '../kernels/constants.js';
import { adaptiveClipping, type AdaptiveClipping, type AdaptiveClippingOptions } from './adaptive-clipping.js';

export type ClippingRule =
  | { kind: 'flat' }
  | { kind: 'per-layer'; maxNorms?: readonly number[] }
  | ({ kind: 'adaptive' } & AdaptiveClippingOptions)
  | { kind: 'automatic'; gamma?: number };

export type ClippingKind = ClippingRule['kind'];

/** A checked rule with its defaults filled in: what the optimizer switches on (no casts). */
export type CheckedClippingRule =
  | { kind: 'flat' }
  | { kind: 'per-layer'; maxNorms: readonly number[] | undefined }
  | ({ kind: 'adaptive' } & AdaptiveClipping)
  | { kind: 'automatic'; gamma: number };

export interface ScaleResult {
  /** One scale vector per group (per-layer) or a single one shared by all groups. */
  scales: Float32Array[];
  /** Examples whose scale was below 1 in some group. */
  clipped: number;
  /** Examples with ‖g‖ ≤ C (adaptive clipping's count query, before noise). */
  belowThreshold: number;
  /** Examples with a non-finite norm: scale 0 (their rows contribute nothing). */
  nonFinite: number[];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** The largest float32 ≤ s (s > 0): a scale rounded to float32 never exceeds the exact one. */
export function floorF32(s: number): number {
  f32[0] = s;
  if (f32[0]! > s) u32[0] = u32[0]! - 1;
  return f32[0]!;
}

/** Checks a rule object and fills in its defaults. */
export function normaliseRule(rule: unknown, groupSizes: readonly number[]): CheckedClippingRule {
  if (rule === undefined) return { kind: 'flat' };
  if (typeof rule === 'string') rule = { kind: rule };
  if (typeof rule !== 'object' || rule === null)
    throw invalidType('clipping', 'a clipping rule or "flat" | "per-layer" | "adaptive" | "automatic"', rule);
  const r = rule as Record<string, unknown>;
  switch (r.kind) {
    case 'flat':
      return { kind: 'flat' };
    case 'per-layer': {
      if (r.maxNorms !== undefined) {
        if (!Array.isArray(r.maxNorms))
          throw invalidType('clipping.maxNorms', 'an array of positive numbers', r.maxNorms);
        if (r.maxNorms.length !== groupSizes.length)
          throw invalidArgument(
            'clipping.maxNorms.length',
            `the number of parameter groups (${groupSizes.length})`,
            r.maxNorms.length,
          );
        r.maxNorms.forEach((c: unknown, i: number) => {
          if (typeof c !== 'number' || !(c > 0) || !Number.isFinite(c))
            throw invalidArgument(`clipping.maxNorms[${i}]`, 'a positive finite number', c);
        });
      }
      return { kind: 'per-layer', maxNorms: r.maxNorms as readonly number[] | undefined };
    }
    case 'adaptive':
      return { kind: 'adaptive', ...adaptiveClipping('clipping', r) };
    case 'automatic': {
      const gamma = r.gamma ?? 0.01;
      if (typeof gamma !== 'number' || !(gamma > 0) || !Number.isFinite(gamma))
        throw invalidArgument('clipping.gamma', 'a positive finite number', gamma);
      return { kind: 'automatic', gamma };
    }
    default:
      throw invalidArgument('clipping.kind', '"flat", "per-layer", "adaptive" or "automatic"', r.kind);
  }
}

/** Per-layer thresholds C_k = C·sqrt(n_k / n): proportional to sqrt(group size), Σ C_k² = C². */
export function splitThreshold(maxGradNorm: number, groupSizes: readonly number[]): number[] {
  positiveFinite('maxGradNorm', maxGradNorm);
  const sizes = numberArray('groupSizes', groupSizes, 'an array of group sizes', 'transferred');
  if (sizes.length === 0) throw invalidArgument('groupSizes.length', 'positive', 0);
  sizes.forEach((n, g) => positiveInteger(`groupSizes[${g}]`, n));
  return splitThresholdUnchecked(maxGradNorm, groupSizes);
}

/** splitThreshold without the checks, for callers whose group sizes come from a model. */
export function splitThresholdUnchecked(maxGradNorm: number, groupSizes: readonly number[]): number[] {
  const total = groupSizes.reduce((s, n) => s + n, 0);
  return groupSizes.map((n) => maxGradNorm * Math.sqrt(n / total));
}

/**
 * Scale factors for a batch from its squared norms sq (batch x groups, row-major). maxNorms: one
 * threshold per group for per-layer clipping; otherwise maxNorms[0] is C.
 */
export function clipScales(
  sq: Float64Array,
  batch: number,
  groups: number,
  kind: ClippingKind,
  maxNorms: readonly number[],
  gamma: number,
  out: Float32Array[],
): ScaleResult {
  const perLayer = kind === 'per-layer';
  const scales = perLayer ? out.slice(0, groups) : out.slice(0, 1);
  const C = maxNorms[0]!;
  let clipped = 0;
  let below = 0;
  const nonFinite: number[] = [];
  for (let r = 0; r < batch; r++) {
    let total = 0;
    for (let k = 0; k < groups; k++) total += sq[r * groups + k]!;
    if (!Number.isFinite(total)) {
      nonFinite.push(r);
      for (const s of scales) s[r] = 0;
      continue;
    }
    if (perLayer) {
      let any = false;
      for (let k = 0; k < groups; k++) {
        const s = Math.min(1, maxNorms[k]! / (Math.sqrt(sq[r * groups + k]!) + CLIP_EPSILON));
        scales[k]![r] = floorF32(s);
        if (s < 1) any = true;
      }
      if (any) clipped++;
      continue;
    }
    const norm = Math.sqrt(total);
    if (norm <= C) below++;
    let s: number;
    if (kind === 'automatic') {
      s = C / (norm + gamma);
    } else {
      s = Math.min(1, C / (norm + CLIP_EPSILON));
      if (s < 1) clipped++;
    }
    scales[0]![r] = floorF32(s);
  }
  return { scales, clipped, belowThreshold: below, nonFinite };
}
