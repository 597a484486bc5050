// The non-private baseline (bench ratios, `dpfl train --non-private`, the audit's reference model):
// the plain mean gradient, no clipping, no noise, no accounting. Its own class, so a DpOptimizer
// has no method that updates parameters without charging its ledger.
import type { AccountantState } from '../accounting/index.js';
import { Accountant } from '../accounting/index.js';
import { invalidArgument, invalidType } from '../errors.js';
import { float32Array, nonNegativeInteger, withMethods } from '../validate.js';
import type { GhostClippable } from './ghost.js';
import { ParameterUpdate, type UpdateRule } from './update.js';

export interface NonPrivateOptimizerOptions {
  /** The flat parameter vector, updated in place. */
  params: Float32Array;
  update: UpdateRule;
}

/** What a checkpoint of the baseline holds: the step count and the update's buffers. */
export interface NonPrivateState {
  step: number;
  buffers: Record<string, Float32Array>;
  /** Checkpoints written by DpOptimizer's plain steps (before 0.2.0): must equal step. */
  plainSteps?: number;
  /** Checkpoints written before 0.2.0 carry an (empty) ledger: it must hold no release. */
  accountant?: AccountantState;
}

export class NonPrivateOptimizer {
  readonly params: Float32Array;
  readonly #update: ParameterUpdate;
  readonly #sum: Float32Array;
  #steps = 0;
  #examples = 0;
  /** True until something is written into the sum in the current batch. */
  #sumFresh = true;

  constructor(options: NonPrivateOptimizerOptions) {
    if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
    if (!(options.params instanceof Float32Array) || options.params.length === 0) {
      throw invalidType('params', 'a non-empty Float32Array', options.params);
    }
    this.params = options.params;
    // The baseline updates its own params: rule 'none' (another framework applies) is DpOptimizer's.
    if ((options.update as { kind?: unknown } | null)?.kind === 'none')
      throw invalidArgument('update.kind', '"sgd" or "adam"', 'none');
    this.#update = new ParameterUpdate(options.update, this.params.length);
    this.#sum = new Float32Array(this.params.length);
  }

  /** Steps taken. */
  get steps(): number {
    return this.#steps;
  }

  /**
   * Adds the plain (unclipped) gradient sum of a built-in model's last forwardBackward, as a
   * non-private trainer would; several calls before step() form one batch.
   */
  accumulateModel(model: GhostClippable, batchSize: number): void {
    nonNegativeInteger('batchSize', batchSize);
    if (batchSize === 0) return;
    const expected = 'a model with parameter groups (GhostClippable)';
    const m = withMethods<GhostClippable>('model', model, expected, 'backwardParams');
    if (!Array.isArray(m.groups)) throw invalidType('model.groups', 'an array of parameter groups', m.groups);
    m.backwardParams(
      this.#sum,
      m.groups.map(() => null),
      !this.#sumFresh,
    );
    this.#sumFresh = false;
    this.#examples += batchSize;
  }

  /** One step on the mean of the gathered gradients (an empty batch applies a zero gradient). */
  step(): void {
    if (this.#sumFresh) this.#sum.fill(0);
    const examples = this.#examples;
    this.#update.apply(this.params, this.#sum, this.#steps, examples > 0 ? 1 / examples : 0);
    this.#steps++;
    this.#examples = 0;
    this.#sumFresh = true;
  }

  /** One step from a gradient sum over batchSize examples computed elsewhere. */
  stepWithSum(gradSum: Float32Array, batchSize: number): void {
    float32Array('gradSum', gradSum, false);
    if (gradSum.length !== this.params.length) {
      throw invalidArgument('gradSum.length', `params.length (${this.params.length})`, gradSum.length);
    }
    nonNegativeInteger('batchSize', batchSize);
    if (batchSize > 0) {
      this.#sum.set(gradSum);
      this.#sumFresh = false;
    }
    this.#examples = batchSize;
    this.step();
  }

  /** The state to checkpoint. */
  getState(): NonPrivateState {
    return { step: this.#steps, buffers: this.#update.state() };
  }

  /** Restores getState() output (or a pre-0.2.0 DpOptimizer state of plain steps); validates first. */
  setState(state: NonPrivateState): void {
    if (typeof state !== 'object' || state === null) throw invalidType('state', 'an optimizer state object', state);
    const step = nonNegativeInteger('state.step', state.step);
    if (state.plainSteps !== undefined && state.plainSteps !== step) {
      const expected = `the step count (${step}): every step of the baseline is plain`;
      throw invalidArgument('state.plainSteps', expected, state.plainSteps);
    }
    if (state.accountant !== undefined && Accountant.fromJSON(state.accountant).history.length > 0) {
      const expected = 'an empty ledger (a non-private run releases nothing)';
      throw invalidArgument('state.accountant', expected, 'private releases');
    }
    const restore = this.#update.prepareRestore('state.buffers', state.buffers);
    restore();
    this.#steps = step;
  }
}
