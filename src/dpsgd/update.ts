// The parameter update both optimizers end with (DpOptimizer after noise and scaling,
// NonPrivateOptimizer on the plain mean): SGD with momentum or Adam over the native kernels, and
// the state it carries between steps — the explicit list of buffers a checkpoint holds. Rule
// 'none' updates nothing: it keeps the scaled noisy gradient (`output`) for another framework's
// optimizer to apply (dpfl/tfjs: any tf.train optimizer, Adam's state included).
import { invalidArgument, invalidType } from '../errors.js';
import { adamUpdate, sgdUpdate } from '../kernels/nn.js';
import { positiveFinite, typedArrayKind } from '../validate.js';

export type UpdateRule =
  | { kind: 'sgd'; lr: number; momentum?: number; weightDecay?: number }
  | { kind: 'adam'; lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number }
  | { kind: 'none' };

/** The names of the buffers an update may carry, in checkpoint order. */
export type UpdateBufferName = 'velocity' | 'm' | 'v';

function checkUpdate(u: unknown): UpdateRule {
  if (typeof u !== 'object' || u === null) {
    throw invalidType('update', 'an object { kind: "sgd" | "adam" | "none", lr, ... }', u);
  }
  const kind = (u as { kind?: unknown }).kind;
  if (kind === 'none') return { kind };
  const r = u as Exclude<UpdateRule, { kind: 'none' }>;
  if (kind !== 'sgd' && kind !== 'adam')
    throw invalidArgument('update.kind', '"sgd" or "adam" (or "none": the caller applies the noisy gradient)', kind);
  positiveFinite('update.lr', r.lr);
  const momentum = r.kind === 'sgd' ? r.momentum : undefined;
  if (momentum !== undefined && (typeof momentum !== 'number' || !(momentum >= 0 && momentum < 1))) {
    throw invalidArgument('update.momentum', 'in [0, 1)', momentum);
  }
  return r;
}

/** An update rule with its state: velocity (SGD with momentum) or Adam's moments m and v. */
export class ParameterUpdate {
  readonly rule: UpdateRule;
  /** The checkpointed buffers, by name: exactly those this rule uses. */
  readonly buffers: ReadonlyMap<UpdateBufferName, Float32Array>;
  /** Rule 'none': the last step's scale·grad (not checkpointed: the next step overwrites it). */
  readonly output: Float32Array | undefined;

  constructor(rule: unknown, size: number) {
    this.rule = checkUpdate(rule);
    const buffers = new Map<UpdateBufferName, Float32Array>();
    if (this.rule.kind === 'sgd' && (this.rule.momentum ?? 0) > 0) buffers.set('velocity', new Float32Array(size));
    if (this.rule.kind === 'adam') {
      buffers.set('m', new Float32Array(size));
      buffers.set('v', new Float32Array(size));
    }
    this.buffers = buffers;
    this.output = this.rule.kind === 'none' ? new Float32Array(size) : undefined;
  }

  /**
   * params ← update(params, scale·grad) for the 0-based step (the scale fused into the kernel: one
   * rounding); rule 'none': output ← scale·grad (rounded once to float32), params untouched.
   */
  apply(params: Float32Array, grad: Float32Array, step: number, scale: number): void {
    const u = this.rule;
    if (u.kind === 'none') {
      // params untouched: the caller's optimizer applies output.
      const out = this.output!;
      for (let i = 0; i < grad.length; i++) out[i] = grad[i]! * scale;
    } else if (u.kind === 'sgd') {
      const velocity = this.buffers.get('velocity');
      sgdUpdate(params, grad, {
        lr: u.lr,
        momentum: u.momentum ?? 0,
        weightDecay: u.weightDecay ?? 0,
        gradScale: scale,
        ...(velocity ? { velocity } : {}),
      });
    } else {
      adamUpdate(params, grad, this.buffers.get('m')!, this.buffers.get('v')!, {
        lr: u.lr,
        beta1: u.beta1 ?? 0.9,
        beta2: u.beta2 ?? 0.999,
        eps: u.eps ?? 1e-8,
        weightDecay: u.weightDecay ?? 0,
        gradScale: scale,
        step: step + 1,
      });
    }
  }

  /** The buffers for a checkpoint (the live arrays; a saver copies or writes them out). */
  state(): Record<string, Float32Array> {
    return Object.fromEntries(this.buffers);
  }

  /**
   * Checks saved buffers against this rule's list (a name it does not carry, or a wrong length or
   * type, is refused; an absent one is left as it is) and returns the restore to run once every
   * other part of the state has been checked too: nothing changes before everything is valid.
   */
  prepareRestore(name: string, saved: unknown): () => void {
    if (typeof saved !== 'object' || saved === null) throw invalidType(name, 'an object of Float32Arrays', saved);
    const entries = Object.entries(saved as Record<string, unknown>);
    for (const [key, buf] of entries) {
      const target = this.buffers.get(key as UpdateBufferName);
      if (target === undefined) {
        const has = [...this.buffers.keys()].join(', ') || 'no buffers';
        throw invalidArgument(`${name}.${key}`, `absent (this optimizer has ${has})`, buf);
      }
      if (typedArrayKind(buf) !== 'Float32Array' || (buf as Float32Array).length !== target.length) {
        throw invalidArgument(`${name}.${key}`, `a Float32Array of ${target.length}`, buf);
      }
    }
    return () => {
      for (const [key, buf] of entries) this.buffers.get(key as UpdateBufferName)!.set(buf as Float32Array);
    };
  }
}
