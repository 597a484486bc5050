// The bench of clipping per-variable blocks (issue 15): clipAndSum reading tfjs-style blocks in
// place against the route it replaces (interleave the blocks into one B x D matrix, then the
// matrix clipAndSum), at the shapes of a 784→128→10 MLP (blocks 784×128, 128, 128×10, 10) and
// batch 256. Cold: the first call on fresh data, letting dpfl allocate (the matrix too, as a
// trainer would each step); warm: the median of repeated calls with every buffer preallocated.
import { clipAndSum } from '../kernels/clip.js';
import { interleaveBlocks, readBlocks } from '../kernels/clip-blocks.js';
import { Random } from '../data/random.js';
import { median, medianTime } from './median.js';
import type { SectionRow } from './report.js';

const BATCH = 256;
const WIDTHS = [784 * 128, 128, 128 * 10, 10];
const MAX_NORM = 1;

function fill(blocks: Float32Array[], seed: number): void {
  const rng = new Random(seed);
  for (const b of blocks) for (let i = 0; i < b.length; i++) b[i] = (rng.next() - 0.5) * 0.01;
}

function timeOnce(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

export async function benchBlocks(options: { quick?: boolean } = {}): Promise<SectionRow[]> {
  const quick = options.quick ?? false;
  const dim = WIDTHS.reduce((a, n) => a + n, 0);
  const blocks = WIDTHS.map((n) => new Float32Array(BATCH * n));
  const viaBlocks = () => clipAndSum(blocks, BATCH, MAX_NORM);
  const viaCopy = () => clipAndSum(interleaveBlocks(readBlocks(blocks, BATCH)), BATCH, MAX_NORM);

  // Cold: each round refills the blocks (outside the timing) and times one first call of each
  // route, alternating which goes first.
  const cold = { blocks: [] as number[], copy: [] as number[] };
  for (let r = 0; r < (quick ? 3 : 7); r++) {
    fill(blocks, r + 1);
    const order = r % 2 === 0 ? (['blocks', 'copy'] as const) : (['copy', 'blocks'] as const);
    for (const route of order) cold[route].push(timeOnce(route === 'blocks' ? viaBlocks : viaCopy));
  }

  // Warm: preallocated outputs and matrix; the results are checked equal once.
  const outs = WIDTHS.map((n) => new Float32Array(n));
  const out = new Float32Array(dim);
  const norms = new Float32Array(BATCH);
  const matrix = new Float32Array(BATCH * dim);
  const warmBlocks = () => clipAndSum(blocks, BATCH, MAX_NORM, { out: outs, norms });
  const warmCopy = () =>
    clipAndSum(interleaveBlocks(readBlocks(blocks, BATCH), matrix), BATCH, MAX_NORM, { out, norms });
  warmBlocks();
  warmCopy();
  const starts = WIDTHS.map((_, k) => WIDTHS.slice(0, k).reduce((a, n) => a + n, 0));
  const identical = outs.every((o, k) => o.every((v, j) => v === out[starts[k]! + j]));
  const runs = quick ? 5 : 15;
  const warm = { blocks: medianTime(runs, warmBlocks), copy: medianTime(runs, warmCopy) };
  const copyOnly = medianTime(runs, () => interleaveBlocks(readBlocks(blocks, BATCH), matrix));

  const shape = `B ${BATCH}, blocks 784×128 + 128 + 128×10 + 10 (D ${dim})`;
  const row = (when: 'cold' | 'warm', b: number, c: number, extra: Record<string, number> = {}): SectionRow => ({
    name: `clipAndSum on blocks, ${when}: ${shape}`,
    medianMs: b,
    detail: `interleave copy + matrix clipAndSum ${c.toFixed(2)} ms (${(c / b).toFixed(2)}x the blocks)`,
    values: { msBlocks: b, msInterleaveAndMatrix: c, ratio: c / b, ...extra },
  });
  return [
    row('cold', median(cold.blocks), median(cold.copy)),
    row('warm', warm.blocks, warm.copy, { msInterleaveOnly: copyOnly, identicalToMatrix: identical ? 1 : 0 }),
  ];
}
