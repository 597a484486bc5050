// The privacy–utility table runner: every cell once per seed with its own settings, ε spent within
// each column's target, mean and sd from the runs, the Markdown rendering, bad arguments. Synthetic
// data of each row's kind stands in for the corpora (the real table is `dpfl bench utility`).
import { describe, expect, it } from 'vitest';
import { syntheticBags, syntheticDense } from '../../src/data/index.js';
import {
  configFor,
  renderUtilityMarkdown,
  runUtilityTable,
  UTILITY_COLUMNS,
  UTILITY_ROWS,
  type UtilityRow,
} from '../../src/bench/utility.js';

const small = (row: UtilityRow) =>
  row.dataset === 'spam'
    ? syntheticBags({ size: 1500, rows: 512, classes: 2, tokensPerExample: 12, seed: 3 })
    : syntheticDense({ size: 1500, dim: 24, classes: 4, seed: 3 });

describe('privacy–utility table', () => {
  it('trains every cell per seed, spends at most each column’s ε, and summarises the runs', () => {
    const seen: number[] = [];
    const table = runUtilityTable({ seeds: [4, 5], load: small, onRun: (_r, done) => seen.push(done) });
    const total = UTILITY_ROWS.length * UTILITY_COLUMNS.length * 2;
    expect(table.runs).toHaveLength(total);
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    for (const r of table.runs) {
      if (r.column === 'non-private') expect(r.epsilon).toBeNull();
      else {
        expect(r.epsilon!).toBeLessThanOrEqual(r.column * (1 + 1e-9));
        expect(r.epsilon!).toBeGreaterThan(r.column * 0.9);
      }
      expect(r.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.accuracy).toBeLessThanOrEqual(1);
    }
    for (const row of table.rows) {
      for (const cell of row.cells) {
        const accs = table.runs
          .filter((r) => r.dataset === row.dataset && r.model === row.model && r.column === cell.column)
          .map((r) => r.accuracy);
        expect(cell.accuracies).toEqual(accs);
        const mean = (accs[0]! + accs[1]!) / 2;
        expect(cell.mean).toBeCloseTo(mean, 12);
        expect(cell.sd).toBeCloseTo(Math.abs(accs[0]! - accs[1]!) / Math.SQRT2, 12);
      }
    }
    // Learns something on separable synthetic data without privacy.
    for (const row of table.rows) expect(row.cells.at(-1)!.mean).toBeGreaterThan(0.6);
    const md = renderUtilityMarkdown(table).split('\n');
    expect(md[0]).toBe('| dataset / model | ε = 1 | ε = 3 | ε = 8 | non-private |');
    expect(md).toHaveLength(2 + UTILITY_ROWS.length);
    expect(md[2]).toMatch(/^\| SpamAssassin .*\| \d+\.\d ± \d+\.\d % \|$/);
  });

  it('a seed fixes the run: the same cell twice gives the same accuracy', () => {
    const row = UTILITY_ROWS.find((r) => r.dataset === 'mnist')!;
    const a = runUtilityTable({ seeds: [9], datasets: ['mnist'], load: small });
    const b = runUtilityTable({ seeds: [9], datasets: ['mnist'], load: small });
    expect(b.runs.map((r) => r.accuracy)).toEqual(a.runs.map((r) => r.accuracy));
    expect(configFor(row, 3, 9)).toMatchObject({ epsilon: 3, nonPrivate: false, seed: 9, delta: 1e-5 });
    expect(configFor(row, 'non-private', 9).nonPrivate).toBe(true);
  });

  it('refuses bad seeds and unknown datasets', () => {
    expect(() => runUtilityTable({ seeds: [] })).toThrow(/seeds must be a non-empty list of non-negative integers/);
    expect(() => runUtilityTable({ seeds: [1.5] })).toThrow(/seeds must be/);
    expect(() => runUtilityTable({ seeds: [1], datasets: ['cifar' as never] })).toThrow(
      /datasets must be some of spam, mnist/,
    );
  });
});
