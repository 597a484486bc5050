// Captures, during one forward pass, each ruled layer's input a and (in the backward pass) the gradient g of
// the summed loss at its probe point: the layer's `call` is swapped on the instance (Sequential and functional
// models both dispatch through it) for a wrapper that records a, computes z with the activation made linear,
// and passes z through an identity whose custom gradient records dy. Restored by the returned function.
import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../../errors.js';
import type { Layer, Rule } from './rule.js';

export interface Captured {
  a?: tf.Tensor;
  g?: tf.Tensor;
  zShape?: number[];
  calls: number;
}

type Call = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
interface Activation {
  getClassName(): string;
  apply(x: tf.Tensor): tf.Tensor;
}

const LINEAR: Activation = { getClassName: () => 'linear', apply: (x) => x };

function one(t: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(t) ? t[0]! : t;
}

/**
 * z + seed, whose backward records dy (= per-example ∂ℓ_i/∂z, since example i only reaches its own row).
 * The scalar seed is what tf.grads differentiates against, so every probe lies on the taped path.
 */
function probe(z: tf.Tensor, seed: tf.Scalar, cap: Captured): tf.Tensor {
  cap.zShape = z.shape;
  const f = tf.customGrad(((x: tf.Tensor, s: tf.Tensor) => ({
    value: tf.add(x, s),
    gradFunc: (dy: tf.Tensor) => {
      cap.g?.dispose();
      cap.g = tf.keep(dy.clone());
      return [dy, tf.sum(dy)];
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(z, seed);
}

function wrap(layer: Layer, rule: Rule, cap: Captured, original: Call, seed: tf.Scalar): Call {
  return (inputs, kwargs) => {
    // A shared layer is refused after the pass (see refuseShared): throwing inside the taped pass would
    // leak the tensors tfjs saved for the backward.
    if (cap.calls++ > 0) return original.call(layer, inputs, kwargs);
    cap.a = tf.keep(one(inputs).clone());
    if (rule.probe === 'output') return probe(one(original.call(layer, inputs, kwargs)), seed, cap);
    const fields = layer as unknown as { activation: Activation | null };
    const act = fields.activation;
    let z: tf.Tensor;
    if (rule.forward) {
      z = rule.forward(one(inputs));
    } else {
      fields.activation = LINEAR;
      try {
        z = one(original.call(layer, inputs, kwargs));
      } finally {
        fields.activation = act;
      }
    }
    const p = probe(z, seed, cap);
    return act ? act.apply(p) : p;
  };
}

/** Installs the wrappers; returns the function that restores every layer's own `call`. */
export function install(rules: Map<Layer, Rule>, caps: Map<Layer, Captured>, seed: tf.Scalar): () => void {
  const undo: Array<() => void> = [];
  for (const [layer, rule] of rules) {
    const host = layer as unknown as { call: Call };
    const own = Object.hasOwn(host, 'call');
    const original = host.call;
    host.call = wrap(layer, rule, caps.get(layer)!, original, seed);
    undo.push(() => {
      if (own) host.call = original;
      else delete (host as { call?: Call }).call;
    });
  }
  return () => {
    for (const u of undo) u();
  };
}

/** Throws for a layer called more than once in the pass: its per-example gradient sums over calls. */
export function refuseShared(caps: Map<Layer, Captured>): void {
  for (const [layer, cap] of caps) {
    if (cap.calls > 1) {
      throw invalidArgument(`layer "${layer.name}"`, 'called once per forward pass (shared layers)', cap.calls);
    }
  }
}
