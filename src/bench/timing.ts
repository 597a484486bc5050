// Timing on the TypeScript side with tinybench: the median of the per-call latencies.
import { Bench } from 'tinybench';
import { median } from './median.js';

export interface TsTiming {
  medianMs: number;
  minMs: number;
  reps: number;
}

export interface TimeBudget {
  /** Keep calling until this much time has been spent... */
  timeMs: number;
  /** ...and at least this many calls were timed. */
  minReps: number;
}

/**
 * Times a synchronous call. tinybench calls fn once when the task is added (to find out whether
 * it is async): that untimed call is the warm-up (JIT, page faults, the pool's first start), so
 * tinybench's own warm-up is turned off — it would cost seconds on the 4 GB shapes.
 */
export function timeSync(name: string, fn: () => unknown, budget: TimeBudget): TsTiming {
  const bench = new Bench({ time: budget.timeMs, iterations: budget.minReps, warmup: false, throws: true });
  bench.add(name, fn);
  const [task] = bench.runSync();
  const result = task?.result;
  if (result === undefined || result.error !== undefined || result.latency.p50 === undefined) {
    throw new Error(`benchmark ${name} produced no result${result?.error ? `: ${String(result.error)}` : ''}`);
  }
  return { medianMs: result.latency.p50, minMs: result.latency.min, reps: result.latency.samples.length };
}

/**
 * Times an async call (fn is an async function, so tinybench does not call it to find out; its
 * own warm-up runs instead). Each sample spans the call to the settled promise.
 */
export async function timeAsync(name: string, fn: () => Promise<unknown>, budget: TimeBudget): Promise<TsTiming> {
  const bench = new Bench({
    time: budget.timeMs,
    iterations: budget.minReps,
    warmup: true,
    warmupIterations: 16,
    warmupTime: Math.min(100, budget.timeMs),
    throws: true,
  });
  bench.add(name, async () => fn());
  const [task] = await bench.run();
  const result = task?.result;
  if (result === undefined || result.error !== undefined || result.latency.p50 === undefined) {
    throw new Error(`benchmark ${name} produced no result${result?.error ? `: ${String(result.error)}` : ''}`);
  }
  return { medianMs: result.latency.p50, minMs: result.latency.min, reps: result.latency.samples.length };
}

export interface ColdTiming extends TsTiming {
  /** The idle wait before each cold call, ms. */
  idleMs: number;
}

export interface ColdOptions {
  /** Cold calls per case (0: none). */
  samples: number;
  /** Idle wait before each, ms. */
  idleMs: number;
}

/**
 * Times cold calls: each the first call after the process sat idle for idleMs in the event loop
 * (the core's pool workers parked, the cores free to sleep, the caches open to other tenants) —
 * what a federated server's aggregation is. Inputs stay resident (the warm calls just used them)
 * and outputs are the warm calls' buffers; prepare runs before each idle wait, untimed. The same
 * definition as measure_cold in bench/cpp/timer.h.
 */
export async function timeCold(
  fn: () => unknown,
  cold: ColdOptions,
  prepare: () => void = () => {},
): Promise<ColdTiming | undefined> {
  if (cold.samples <= 0) return undefined;
  const ms: number[] = [];
  for (let i = 0; i < cold.samples; i++) {
    prepare();
    await new Promise((resolve) => setTimeout(resolve, cold.idleMs));
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return { medianMs: median(ms), minMs: Math.min(...ms), reps: ms.length, idleMs: cold.idleMs };
}
