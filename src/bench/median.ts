// The median the bench sections report (sorted copy; mean of the middle pair for even counts), and
// the median wall time of a call.
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The median wall time in ms of `runs` calls of fn. */
export function medianTime(runs: number, fn: () => void): number {
  const t: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}
