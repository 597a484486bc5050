// Which layers of a model ghost clipping captures, and which models it refuses (before any tensor work).
import type { LayersModel, LayerVariable } from '@tensorflow/tfjs-layers';
import { invalidArgument } from '../../errors.js';
import { convRule } from './conv.js';
import { denseRule } from './dense.js';
import { embeddingRule } from './embedding.js';
import { layerNormAxes, layerNormRule } from './layer-norm.js';
import type { Layer, Rule } from './rule.js';

const SUPPORTED = 'Dense, Conv1D, Conv2D (channelsLast), Embedding, LayerNormalization, or no trainable weights';

function refuse(layer: Layer, why: string): RangeError {
  return invalidArgument(`layer "${layer.name}" (${layer.getClassName()})`, why, layer.getClassName());
}

/** The leaf layers of a model, descending into nested models. */
function leaves(layers: Layer[]): Layer[] {
  return layers.flatMap((l) => {
    const inner = (l as unknown as { layers?: Layer[] }).layers;
    return Array.isArray(inner) ? leaves(inner) : [l];
  });
}

function ruleFor(layer: Layer): Rule {
  const cls = layer.getClassName();
  const cfg = layer.getConfig();
  switch (cls) {
    case 'Dense':
      return denseRule(layer);
    case 'Embedding':
      return embeddingRule(layer);
    case 'Conv1D':
    case 'Conv2D':
      if ((cfg.dataFormat ?? 'channelsLast') !== 'channelsLast') throw refuse(layer, 'channelsLast');
      // tfjs has no gradient through dilated convolutions, so other layers could not be reached either.
      if ([cfg.dilationRate ?? 1].flat().some((d) => d !== 1)) throw refuse(layer, 'dilationRate 1');
      return convRule(layer, cls === 'Conv1D' ? 1 : 2);
    case 'LayerNormalization':
      // Normalizing over the batch axis would mix examples.
      if (layerNormAxes(layer).includes(0)) throw refuse(layer, 'normalizing axes other than the batch axis');
      return layerNormRule(layer);
    default:
      throw refuse(layer, `a layer ghost clipping supports (${SUPPORTED})`);
  }
}

/**
 * One rule per leaf layer with trainable weights. Refuses BatchNormalization (its batch statistics mix
 * examples, so per-example gradients are not defined), unsupported layers with trainable weights, and
 * models whose trainable weights the rules do not cover exactly once (weights shared between layers).
 * Layers that are random in training (Dropout, GaussianNoise, ...) pass: norms and the clipped sum come from
 * the same forward and backward pass, so each example's contribution is clipped with the noise it saw.
 */
export function planModel(model: LayersModel): Map<Layer, Rule> {
  const rules = new Map<Layer, Rule>();
  for (const layer of leaves(model.layers)) {
    if (layer.getClassName() === 'BatchNormalization') {
      throw refuse(layer, 'a layer that does not mix examples (BatchNormalization does; use LayerNormalization)');
    }
    if (layer.trainableWeights.length === 0 || rules.has(layer)) continue;
    rules.set(layer, ruleFor(layer));
  }
  const owner = new Map<LayerVariable, Layer>();
  for (const [layer, rule] of rules) {
    for (const w of rule.weights) {
      if (owner.has(w)) throw refuse(layer, 'a layer whose weights no other layer shares');
      owner.set(w, layer);
    }
  }
  for (const w of model.trainableWeights) {
    if (!owner.has(w)) throw invalidArgument(`trainable weight "${w.name}"`, 'owned by a supported layer', w.name);
  }
  return rules;
}
