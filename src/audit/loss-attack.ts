// The loss-threshold membership attack (Yeom, Giacomelli, Fredrikson and Jha 2018, "Privacy Risk
// in Machine Learning: Analyzing the Connection to Overfitting", CSF): training examples tend to
// have lower loss, so the membership score of an example is its negated loss, and the attack
// flags every example whose loss is below a threshold. One global threshold for all examples —
// the baseline that LiRA's per-example calibration improves on.
import { invalidArgument } from '../errors.js';

export function lossThresholdScores(loss: ArrayLike<number>): Float64Array {
  const out = new Float64Array(loss.length);
  for (let i = 0; i < loss.length; i++) {
    const l = loss[i]!;
    if (typeof l !== 'number' || Number.isNaN(l)) throw invalidArgument(`loss[${i}]`, 'a number (not NaN)', l);
    out[i] = -l;
  }
  return out;
}
