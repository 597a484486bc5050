// Double-buffered prefetch of DP-SGD noise. The noise of step t depends on no data, only on the
// step (its stream offset t·d under a seed; a fresh OS key otherwise), so its unscaled float64
// samples can be drawn on a worker thread while the batch of step t is gathered and its gradients
// computed. At the step, x + std·z is formed with addGaussianNoise's rounding: the same bits as
// drawing it then. Each buffer is used for one step only and zeroed right after; nothing drawn is
// released before its step, so the accounting is unchanged.
import type { GaussianNoiseOptions } from '../kernels/noise-options.js';
import { gaussianNormalsAsync } from '../kernels/noise-prefetch.js';

interface Slot {
  readonly z: Float64Array;
  /** done[0]: 0 while the worker draws, 1 when drawn, 2 when the draw failed (native/addon). */
  readonly done: Int32Array;
  /** The step the samples are for; null when free. */
  step: number | null;
  /** False once discarded: an in-flight draw is then zeroed and freed when it completes. */
  valid: boolean;
  promise: Promise<unknown> | null;
}

const DRAWING = 0;
const FAILED = 2;

export class NoisePrefetcher {
  readonly #slots: Slot[];

  constructor(length: number) {
    // Shared memory: the worker writes in place (no copy-back) and signals through done.
    this.#slots = [0, 1].map(() => ({
      z: new Float64Array(new SharedArrayBuffer(length * 8)),
      done: new Int32Array(new SharedArrayBuffer(4)),
      step: null,
      valid: false,
      promise: null,
    }));
  }

  /** Starts drawing the noise of `step` into a free buffer, unless it is already drawn or drawing. */
  start(step: number, noise: GaussianNoiseOptions): void {
    this.#reclaim();
    if (this.#slots.some((s) => s.valid && s.step === step)) return;
    const slot = this.#slots.find((s) => s.step === null);
    if (slot === undefined) return; // both busy: the step will draw its own noise
    Atomics.store(slot.done, 0, DRAWING);
    slot.step = step;
    slot.valid = true;
    // Completion is read from done; the promise only must not reject unhandled.
    slot.promise = gaussianNormalsAsync(slot.z, slot.done, noise).catch(() => undefined);
  }

  /**
   * The samples of `step`, waiting (blocking this thread) for a draw in flight; null when none
   * was started or the draw failed (the caller then draws the noise itself). Hand the array back
   * with release() once used.
   */
  take(step: number): Float64Array | null {
    const slot = this.#slotOf(step);
    if (slot === undefined) return null;
    // Short timed waits: the worker's store does not notify Atomics.wait.
    while (Atomics.load(slot.done, 0) === DRAWING) Atomics.wait(slot.done, 0, DRAWING, 0.05);
    return this.#ready(slot);
  }

  /** take() without blocking: awaits the draw in flight. */
  async takeAsync(step: number): Promise<Float64Array | null> {
    const slot = this.#slotOf(step);
    if (slot === undefined) return null;
    if (Atomics.load(slot.done, 0) === DRAWING) await slot.promise;
    // The promise settles after the worker stored done; a discard meanwhile invalidates the slot.
    if (!slot.valid || slot.step !== step) return null;
    return this.#ready(slot);
  }

  /** Zeroes a buffer take() returned and frees it. */
  release(z: Float64Array): void {
    const slot = this.#slots.find((s) => s.z === z);
    if (slot === undefined) return;
    z.fill(0);
    slot.step = null;
    slot.valid = false;
  }

  /** Drops every prefetched draw (after a refused or failed step, or a restored state). */
  discardAll(): void {
    for (const s of this.#slots) s.valid = false;
    this.#reclaim();
  }

  /** Bytes of float64 samples a buffer holds: for tests. */
  get length(): number {
    return this.#slots[0]!.z.length;
  }

  #slotOf(step: number): Slot | undefined {
    this.#reclaim();
    return this.#slots.find((s) => s.valid && s.step === step);
  }

  #ready(slot: Slot): Float64Array | null {
    if (Atomics.load(slot.done, 0) === FAILED) {
      this.release(slot.z);
      return null;
    }
    return slot.z;
  }

  /** Frees discarded buffers whose draw has completed, zeroing what they hold. */
  #reclaim(): void {
    for (const s of this.#slots) {
      if (s.valid || s.step === null || Atomics.load(s.done, 0) === DRAWING) continue;
      s.z.fill(0);
      s.step = null;
    }
  }
}
