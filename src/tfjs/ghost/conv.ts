// Conv1D / Conv2D (channelsLast): unfold the input into patches A_i (T × k·k·cin) so the layer is linear over
// T = output positions, z_t = W·a_t + b, then use the linear rule (per layer the cheaper of ghost and
// per-example gradients, as Bu et al. 2023). Patches come from strided slices, ordered (ky, kx, cin) like the
// kernel [ky, kx, cin, cout] read row-major.
import * as tf from '@tensorflow/tfjs-core';
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import { linearOpened } from './linear.js';
import type { Layer, Rule } from './rule.js';

export interface ConvGeometry {
  kernel: [number, number];
  strides: [number, number];
  dilation: [number, number];
  padding: 'valid' | 'same';
}

function pair(v: unknown, rank: 1 | 2): [number, number] {
  const a = (Array.isArray(v) ? v : [v]) as number[];
  if (rank === 1) return [1, a[0] ?? 1];
  return [a[0] ?? 1, a[1] ?? a[0] ?? 1];
}

/** The geometry of a Conv1D (rank 1, as a 1 × L image) or Conv2D layer from its config. */
export function convGeometry(layer: Layer, rank: 1 | 2): ConvGeometry {
  const cfg = layer.getConfig();
  return {
    kernel: pair(cfg.kernelSize, rank),
    strides: pair(cfg.strides ?? 1, rank),
    dilation: pair(cfg.dilationRate ?? 1, rank),
    padding: (cfg.padding ?? 'valid') as ConvGeometry['padding'],
  };
}

/** Padding before/after along one axis, as TensorFlow places it ('same': the extra pixel goes after). */
function pads(mode: ConvGeometry['padding'], size: number, out: number, k: number, s: number, d: number) {
  const span = (k - 1) * d + 1;
  if (mode === 'valid') return [0, 0];
  const total = Math.max((out - 1) * s + span - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Patches of x [B, H, W, C] for an output of [Ho, Wo] positions: [B, Ho·Wo, kh·kw·C]. */
export function unfold(x: tf.Tensor4D, geo: ConvGeometry, out: [number, number]): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, H, W, C] = x.shape;
    const [kh, kw] = geo.kernel;
    const [sh, sw] = geo.strides;
    const [dh, dw] = geo.dilation;
    const [Ho, Wo] = out;
    const padded = tf.pad(x, [
      [0, 0],
      pads(geo.padding, H, Ho, kh, sh, dh),
      pads(geo.padding, W, Wo, kw, sw, dw),
      [0, 0],
    ] as Array<[number, number]>);
    const slices: tf.Tensor4D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const begin = [0, i * dh, j * dw, 0];
        const end = [B, i * dh + (Ho - 1) * sh + 1, j * dw + (Wo - 1) * sw + 1, C];
        slices.push(tf.stridedSlice(padded, begin, end, [1, sh, sw, 1]) as tf.Tensor4D);
      }
    }
    if (slices.length === 1) return tf.reshape(slices[0]!, [B, Ho * Wo, C]);
    // Stacked whole, then one transpose to (position, offset, channel): a concat on the channel axis copies
    // C floats at a time, slow on tfjs-backend-wasm for small C.
    const stacked = tf.reshape(tf.concat(slices, 0), [kh * kw, B * Ho * Wo, C]);
    return tf.reshape(tf.transpose(stacked, [1, 0, 2]), [B, Ho * Wo, kh * kw * C]);
  });
}

export function convRule(layer: Layer, rank: 1 | 2): Rule {
  const { kernel, bias } = layer as unknown as { kernel: LayerVariable; bias: LayerVariable | null };
  const weights = bias ? [kernel, bias] : [kernel];
  const geo = convGeometry(layer, rank);
  return {
    weights,
    probe: 'pre-activation',
    // Conv1D's own call is unfused already (conv1d + biasAdd).
    ...(rank === 2
      ? {
          forward(a: tf.Tensor) {
            const x = tf.cast(a, 'float32') as tf.Tensor4D;
            const z = tf.conv2d(x, kernel.read() as tf.Tensor4D, geo.strides, geo.padding, 'NHWC');
            return bias ? tf.add(z, bias.read()) : z;
          },
        }
      : {}),
    open(a, g) {
      const [A, G] = tf.tidy(() => {
        const B = a.shape[0]!;
        const x = tf.cast(rank === 1 ? tf.expandDims(a, 1) : a, 'float32') as tf.Tensor4D;
        const out: [number, number] = rank === 1 ? [1, g.shape[1]!] : [g.shape[1]!, g.shape[2]!];
        const cout = g.shape[g.rank - 1]!;
        return [unfold(x, geo, out), tf.reshape(g, [B, -1, cout])] as tf.Tensor3D[];
      });
      return linearOpened(A!, G!, kernel.shape as number[], bias != null);
    },
  };
}
