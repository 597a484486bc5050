// The training loop over a built-in model: sample a logical batch, process it in physical chunks
// of bounded size (virtual batches), clip by ghost norms with book-keeping, one noisy step. The
// same loop runs non-privately (plain mean gradient, NonPrivateOptimizer) for baselines.
import { BudgetExceededError } from '../accounting/index.js';
import { batches, gatherBatch, type Dataset } from '../data/dataset.js';
import { Sequential } from '../models/sequential.js';
import { invalidType } from '../errors.js';
import { booleanValue, nonNegativeInteger, positiveInteger, requiredObject, withMethods } from '../validate.js';
import { dataset } from '../fl/validate.js';
import { DpOptimizer, type StepReport } from './optimizer.js';
import { NonPrivateOptimizer } from './non-private.js';
import type { Sampler } from './sampler.js';

export interface TrainerOptions {
  model: Sequential;
  data: Dataset;
  sampler: Sampler;
  /** A DpOptimizer (private: true) or, for the non-private baseline, a NonPrivateOptimizer. */
  optimizer: DpOptimizer | NonPrivateOptimizer;
  /** false: no clipping, no noise, no accounting (the non-private baseline); must match the optimizer. */
  private: boolean;
  /** Largest physical batch; larger logical batches are split (default 1024). */
  maxPhysicalBatch?: number;
  /**
   * true: a private step returns nothing computed from the data without noise — no `examples`,
   * no `loss`, and a report without its counts (absent, not zero). Default: the optimizer's
   * withholdUnnoisedStats.
   */
  withholdUnnoisedStats?: boolean;
}

/**
 * One step's outcome. `examples` (the realised batch size) and `loss` (the un-noised mean loss of
 * the batch) are exact functions of the private batch: they are outside ε, as are the counts of
 * the report (StepReport). A private trainer that withholds un-noised statistics leaves them out.
 */
export interface StepResult {
  step: number;
  /** Examples in the logical batch (outside ε). */
  examples?: number;
  /** Mean loss over the logical batch, NaN for an empty batch (outside ε). */
  loss?: number;
  report?: StepReport;
}

export class Trainer {
  readonly maxPhysicalBatch: number;
  /** Whether private steps leave the statistics outside ε out of their results. */
  readonly withholdUnnoisedStats: boolean;

  constructor(readonly options: TrainerOptions) {
    requiredObject('options', options);
    if (!(options.model instanceof Sequential)) throw invalidType('options.model', 'a Sequential model', options.model);
    dataset('options.data', options.data);
    withMethods('options.sampler', options.sampler, 'a Sampler', 'next', 'event', 'getState', 'setState');
    // Required: a forgotten flag must not silently train without privacy.
    booleanValue('options.private', options.private);
    const expected = options.private ? DpOptimizer : NonPrivateOptimizer;
    if (!(options.optimizer instanceof expected)) {
      const which = options.private ? 'a DpOptimizer (private: true)' : 'a NonPrivateOptimizer (private: false)';
      throw invalidType('options.optimizer', which, options.optimizer);
    }
    const physical = options.maxPhysicalBatch;
    this.maxPhysicalBatch = physical === undefined ? 1024 : positiveInteger('options.maxPhysicalBatch', physical);
    const opt = options.optimizer;
    const withhold = options.withholdUnnoisedStats ?? (opt instanceof DpOptimizer && opt.withholdUnnoisedStats);
    this.withholdUnnoisedStats = booleanValue('withholdUnnoisedStats', withhold);
  }

  /** A private step's result: only what ε covers when un-noised statistics are withheld. */
  #privateResult(step: number, rows: number, loss: number, report: StepReport): StepResult {
    if (!this.withholdUnnoisedStats) return { step, examples: rows, loss: loss / rows, report };
    // selectedRows (DP-AdaFEST) is a function of the noised map: inside ε, kept.
    const { step: s, maxGradNorm, noiseMultiplier, selectedRows } = report;
    const kept = selectedRows === undefined ? {} : { selectedRows };
    return { step, report: { step: s, maxGradNorm, noiseMultiplier, ...kept } };
  }

  /** One logical step. Throws BudgetExceededError (nothing changed) when the budget forbids it. */
  step(): StepResult {
    const { rows, loss } = this.#gather();
    const optimizer = this.options.optimizer;
    const step = optimizer.steps;
    if (optimizer instanceof NonPrivateOptimizer) {
      optimizer.step();
      return { step, examples: rows, loss: loss / rows };
    }
    return this.#privateResult(step, rows, loss, optimizer.step());
  }

  /** step() with the noise drawn off the JavaScript thread (the same bits). */
  async stepAsync(): Promise<StepResult> {
    const optimizer = this.options.optimizer;
    if (optimizer instanceof NonPrivateOptimizer) return this.step();
    const { rows, loss } = this.#gather();
    const step = optimizer.steps;
    return this.#privateResult(step, rows, loss, await optimizer.stepAsync());
  }

  /** Samples the logical batch and gathers its (clipped, or plain) gradient sum, chunk by chunk. */
  #gather(): { rows: number; loss: number } {
    const { model, data, sampler, optimizer } = this.options;
    const rows = sampler.next();
    let loss = 0;
    for (let start = 0; start < rows.length; start += this.maxPhysicalBatch) {
      const chunk = rows.subarray(start, Math.min(rows.length, start + this.maxPhysicalBatch));
      const batch = gatherBatch(data, chunk);
      loss += model.forwardBackward(batch);
      optimizer.accumulateModel(model, batch.size); // clipped (DpOptimizer) or plain (NonPrivateOptimizer)
    }
    return { rows: rows.length, loss };
  }

  /** Runs until `steps` steps have been taken in total or the budget stops training. */
  run(steps: number, onStep?: (r: StepResult) => void): { stoppedByBudget: boolean } {
    checkRunArguments(steps, onStep);
    while (this.options.optimizer.steps < steps) {
      try {
        const r = this.step();
        onStep?.(r);
      } catch (e) {
        if (e instanceof BudgetExceededError) return { stoppedByBudget: true };
        throw e;
      }
    }
    return { stoppedByBudget: false };
  }

  /**
   * run() that keeps the event loop free: the noise of each step is drawn off the JavaScript
   * thread and the loop yields after every step (progress output, signals); stops early when
   * shouldStop() returns true (e.g. on SIGINT, so a checkpoint can be saved).
   */
  async runAsync(
    steps: number,
    onStep?: (r: StepResult) => void,
    shouldStop?: () => boolean,
  ): Promise<{ stoppedByBudget: boolean; interrupted: boolean }> {
    checkRunArguments(steps, onStep);
    if (shouldStop !== undefined && typeof shouldStop !== 'function') {
      throw invalidType('shouldStop', 'a function', shouldStop);
    }
    while (this.options.optimizer.steps < steps) {
      if (shouldStop?.()) return { stoppedByBudget: false, interrupted: true };
      try {
        const r = await this.stepAsync(); // not inside onStep?.(…): an absent callback would skip the step
        onStep?.(r);
      } catch (e) {
        if (e instanceof BudgetExceededError) return { stoppedByBudget: true, interrupted: false };
        throw e;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return { stoppedByBudget: false, interrupted: false };
  }
}

/** Fraction of `ds` the model classifies correctly. */
/** The step count and callback of run/runAsync. */
function checkRunArguments(steps: unknown, onStep: unknown): void {
  nonNegativeInteger('steps', steps);
  if (onStep !== undefined && typeof onStep !== 'function') throw invalidType('onStep', 'a function', onStep);
}

export function accuracy(model: Sequential, ds: Dataset, batchSize = 1024): number {
  if (!(model instanceof Sequential)) throw invalidType('model', 'a Sequential model', model);
  dataset('ds', ds);
  positiveInteger('batchSize', batchSize);
  let correct = 0;
  for (const b of batches(ds, batchSize)) {
    const pred = model.predict(b);
    for (let i = 0; i < b.size; i++) if (pred[i] === b.labels[i]) correct++;
  }
  return ds.size === 0 ? NaN : correct / ds.size;
}
