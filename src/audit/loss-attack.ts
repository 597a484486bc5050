// The loss-threshold membership attack (Yeom, Giacomelli, Fredrikson and Jha 2018, "Privacy Risk
// in Machine Learning: Analyzing the Connection to Overfitting", CSF): training examples tend to
// have lower loss, so the membership score of an example is its negated loss, and the attack
// flags every example whose loss is below a threshold. One global threshold for all examples —
// the baseline that LiRA's per-example calibration improves on.
import { scoreArray } from './validate.js';

export function lossThresholdScores(loss: ArrayLike<number>): Float64Array {
  const out = scoreArray('loss', loss);
  for (let i = 0; i < out.length; i++) out[i] = -out[i]!;
  return out;
}
