// DP-FEST (frequentRows): a one-time private choice of the most frequent embedding rows, charged
// to the run's ledger and part of its calibration; the steps then noise and move only those rows.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { composed, gaussian, poissonSampledGaussian, selfComposed } from '../../src/accounting/index.js';
import { Accountant } from '../../src/accounting/index.js';
import { DpOptimizer, makePrivate } from '../../src/dpsgd/index.js';
import { frequentRowsEvent, selectFrequentRows } from '../../src/dpsgd/frequent-rows.js';
import { gatherBatch, syntheticBags } from '../../src/data/index.js';
import { createModel } from '../../src/models/index.js';

const ROWS = 5000;
const N = 2000;
// Half of each example's 40 tokens come from its class's 64 rows (0..63, 2500..2563): 128 frequent rows.
const data = syntheticBags({ size: N, rows: ROWS, classes: 2, tokensPerExample: 40, seed: 5 });
const bags = { indices: data.indices!, offsets: data.offsets! };
const frequent = [...Array(64).keys()].flatMap((i) => [i, ROWS / 2 + i]).sort((a, b) => a - b);

describe('selectFrequentRows', () => {
  it('keeps the k rows with the largest clipped counts when the noise is small, in increasing order', () => {
    const rows = selectFrequentRows(bags, ROWS, { count: 128, noiseMultiplier: 1e-6 });
    expect([...rows]).toEqual(frequent);
  });

  it('is reproducible under a seed, differs across seeds, and at σ_f = 5 still finds the frequent rows', () => {
    const a = selectFrequentRows(bags, ROWS, { count: 300, noiseMultiplier: 5 }, { seed: 1 });
    const b = selectFrequentRows(bags, ROWS, { count: 300, noiseMultiplier: 5 }, { seed: 1 });
    const c = selectFrequentRows(bags, ROWS, { count: 300, noiseMultiplier: 5 }, { seed: 2 });
    expect([...a]).toEqual([...b]);
    expect([...a]).not.toEqual([...c]);
    // A class row's clipped count is about 2000/2 × 20/64 × 1/√40 ≈ 49 ≫ 5 σ_f: all 128 kept.
    for (const j of frequent) expect(a).toContain(j);
    expect(a.length).toBe(300);
  });

  it('clips each example to C₁: a row used by one example 1000 times counts once', () => {
    const one = { indices: Int32Array.from({ length: 1000 }, () => 7), offsets: Int32Array.of(0, 1000, 1000) };
    const two = { indices: Int32Array.of(3, 3, 9, 3, 9), offsets: Int32Array.of(0, 0, 5) };
    // Noise 1e-6: row 7 has count 1, rows 3 and 9 count 1/√2 each.
    expect([...selectFrequentRows(one, 20, { count: 1, noiseMultiplier: 1e-6 })]).toEqual([7]);
    expect([...selectFrequentRows(two, 20, { count: 2, noiseMultiplier: 1e-6 })]).toEqual([3, 9]);
  });

  it('refuses bad arguments with typed errors', () => {
    const bad: [() => unknown, string][] = [
      [() => selectFrequentRows(bags, ROWS, { count: ROWS + 1, noiseMultiplier: 5 }), 'frequentRows.count'],
      [() => selectFrequentRows(bags, ROWS, { count: 0, noiseMultiplier: 5 }), 'frequentRows.count'],
      [() => selectFrequentRows(bags, ROWS, { count: 5, noiseMultiplier: 0 }), 'frequentRows.noiseMultiplier'],
      [() => selectFrequentRows(bags, 10, { count: 5, noiseMultiplier: 1 }), 'bags.indices'],
      [
        () =>
          selectFrequentRows({ indices: Int32Array.of(1), offsets: Int32Array.of(0, 2) }, 10, {
            count: 1,
            noiseMultiplier: 1,
          }),
        'bags.offsets[1]',
      ],
      [() => selectFrequentRows(null as never, 10, { count: 1, noiseMultiplier: 1 }), 'bags'],
      [() => frequentRowsEvent(1, 'swap' as never), 'neighbours'],
    ];
    for (const [f, name] of bad) {
      expect(f).toThrow(
        expect.objectContaining({ code: expect.stringMatching(/^ERR_DPFL_/), message: expect.stringContaining(name) }),
      );
    }
  });
});

describe('makePrivate with frequentRows', () => {
  const model = () => createModel({ kind: 'embedding-bag', input: 'bags', inputDim: ROWS, classes: 2, hidden: [8] }, 1);
  const base = {
    datasetSize: N,
    batchSize: 200,
    epochs: 2,
    targetEpsilon: 3,
    delta: 1e-5,
    maxGradNorm: 1,
    update: { kind: 'sgd', lr: 0.5 },
  } as const;
  const setup = (extra: object = {}) => {
    const m = model();
    const frequentRows = { table: m.embeddingTable!, bags, count: 300, noiseMultiplier: 5 };
    const p = makePrivate({ ...base, model: m, seed: 4, frequentRows, ...extra });
    return { m, p };
  };

  it('charges the selection first, calibrates σ for it composed with the steps, and spends at most ε', () => {
    const { p } = setup();
    expect(p.accountant.history).toEqual([{ event: gaussian({ noiseMultiplier: 5 }), count: 1 }]);
    expect(p.frequentRows!.length).toBe(300);
    for (const j of frequent) expect(p.frequentRows).toContain(j);
    // The whole plan (selection + every step) is within the target, and σ is above the dense run's.
    const plan = composed([
      gaussian({ noiseMultiplier: 5 }),
      selfComposed(p.sampler.event(p.noiseMultiplier), p.steps),
    ]);
    const ledger = new Accountant();
    ledger.step(plan);
    expect(ledger.epsilon(1e-5)).toBeLessThanOrEqual(3);
    expect(ledger.epsilon(1e-5)).toBeGreaterThan(2.9);
    const dense = makePrivate({ ...base, model: model() });
    expect(p.noiseMultiplier).toBeGreaterThan(dense.noiseMultiplier);
    // The fixed-size sampler (replace-one neighbours) charges the selection at σ_f / 2.
    const fixed = setup({ sampling: 'fixed-size' });
    expect(fixed.p.accountant.history[0]).toEqual({ event: gaussian({ noiseMultiplier: 2.5 }), count: 1 });
  });

  it('refuses a target the selection alone exceeds, and sparseEmbeddings beside it, before charging anything', () => {
    // The selection alone (σ_f = 5) costs more than ε = 0.05: no σ can make the steps fit.
    expect(() => setup({ targetEpsilon: 0.05 })).toThrow(
      expect.objectContaining({ code: 'ERR_DPFL_INVALID_ARGUMENT', message: expect.stringContaining('targetEpsilon') }),
    );
    const m = model();
    expect(() =>
      makePrivate({
        model: m,
        datasetSize: N,
        batchSize: 200,
        epochs: 1,
        targetEpsilon: 3,
        delta: 1e-5,
        maxGradNorm: 1,
        update: { kind: 'sgd', lr: 0.5 },
        sparseEmbeddings: { table: m.embeddingTable!, ratio: 1, threshold: 3 },
        frequentRows: { table: m.embeddingTable!, bags, count: 10, noiseMultiplier: 5 },
      }),
    ).toThrow('frequentRows must be absent with sparseEmbeddings');
    expect(() => setup({ datasetSize: N - 1 })).toThrow('frequentRows.bags.offsets');
  });

  it('trains only the chosen rows: noise at the full σ on them and the dense layer, no other row moves', () => {
    const { m, p } = setup({ update: { kind: 'sgd', lr: 0.5, momentum: 0.9 } });
    const opt: DpOptimizer = p.optimizer;
    expect(opt.gradientNoiseMultiplier(0)).toBe(p.noiseMultiplier);
    expect(opt.selectionNoiseMultiplier(0)).toBeNull();
    const before = m.params.slice();
    const batch = gatherBatch(
      data,
      Int32Array.from({ length: 200 }, (_, i) => i),
    );
    for (let s = 0; s < 3; s++) {
      m.forwardBackward(batch);
      opt.accumulateModel(m, batch.size);
      expect(opt.step().selectedRows).toBe(300);
    }
    const dim = 8;
    const moved: number[] = [];
    for (let j = 0; j < ROWS; j++) {
      if (m.params.subarray(j * dim, (j + 1) * dim).some((x, k) => x !== before[j * dim + k])) moved.push(j);
    }
    expect(moved).toEqual([...p.frequentRows!]);
    expect(m.params.subarray(ROWS * dim).some((x, i) => x !== before[ROWS * dim + i])).toBe(true);
    // Ledger: the selection, then one sampled Gaussian per step.
    expect(p.accountant.history.at(-1)).toEqual({
      event: poissonSampledGaussian({ noiseMultiplier: p.noiseMultiplier, sampleRate: 0.1 }),
      count: 3,
    });
  });
});

describe('DpOptimizer with fixed rows and their selection event', () => {
  const m = createModel({ kind: 'embedding-bag', input: 'bags', inputDim: ROWS, classes: 2, hidden: [8] }, 1);
  const make = (accountant: Accountant, extra: object = {}) =>
    new DpOptimizer({
      params: m.params,
      groupEnds: m.groupEnds,
      maxGradNorm: 1,
      noiseMultiplier: 1,
      expectedBatchSize: 100,
      event: (s: number) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.05 }),
      update: { kind: 'sgd', lr: 0.1 },
      accountant,
      sparseEmbeddings: {
        table: m.embeddingTable!,
        rows: [1, 5, 9],
        selectionEvent: gaussian({ noiseMultiplier: 5 }),
        ...extra,
      },
    });

  it('charges the selection at construction, not as a step; refused past the budget with the ledger unchanged', () => {
    const a = new Accountant();
    const opt = make(a);
    expect(opt.steps).toBe(0);
    expect(a.releases).toBe(1);
    const tight = new Accountant({ budget: { epsilon: 0.01, delta: 1e-5 } });
    expect(() => make(tight)).toThrow(expect.objectContaining({ name: 'BudgetExceededError' }));
    expect(tight.releases).toBe(0);
    expect(() => make(new Accountant(), { selectionEvent: { kind: 'nope' } })).toThrow(
      /sparseEmbeddings.selectionEvent/,
    );
  });

  it('restores its rows with its ledger, and refuses a state without them', () => {
    const opt = make(new Accountant());
    const state = opt.getState();
    expect([...state.sparseRows!]).toEqual([1, 5, 9]);
    const other = make(new Accountant());
    other.setState({ ...state, sparseRows: [2, 3] });
    expect([...other.getState().sparseRows!]).toEqual([2, 3]);
    const { sparseRows: _rows, ...without } = state;
    expect(() => make(new Accountant()).setState(without)).toThrow(/state.sparseRows/);
    expect(() => make(new Accountant()).setState({ ...state, sparseRows: [3, 2] })).toThrow(/state.sparseRows\[1\]/);
  });
});

describe('dpfl train --frequent-rows', () => {
  it('parses K and σ_f, refuses them with --sparse-embeddings or alone, runs, and resumes on the saved rows', async () => {
    const { parseTrainArgs } = await import('../../src/cli/commands/train.js');
    const { createRun, restoreRun, saveRun } = await import('../../src/dpsgd/run.js');
    const on = parseTrainArgs(['--frequent-rows', '50', '--frequent-rows-noise', '3']);
    expect(on.config.frequentRows).toEqual({ count: 50, noiseMultiplier: 3, contributionClip: 1 });
    expect(parseTrainArgs(['--frequent-rows', '50']).config.frequentRows!.noiseMultiplier).toBe(5);
    expect(() => parseTrainArgs(['--frequent-rows', '50', '--sparse-embeddings'])).toThrow(
      /--frequent-rows must be absent/,
    );
    expect(() => parseTrainArgs(['--frequent-rows-noise', '3'])).toThrow(/--frequent-rows-noise must be given only/);
    expect(() => parseTrainArgs(['--contribution-clip', '2'])).toThrow(/--contribution-clip must be given only/);
    expect(() => parseTrainArgs(['--frequent-rows', '0'])).toThrow(/--frequent-rows must be a positive integer/);
    const config = parseTrainArgs(['--dataset', 'synthetic', '--model', 'linear', '--frequent-rows', '40']).config;
    const small = syntheticBags({ size: 200, rows: 500, classes: 2, tokensPerExample: 10, seed: 2 });
    // Secure (no seed): a second run draws other rows, so a resume must take the checkpoint's.
    const run = createRun({ ...config, batchSize: 20, epochs: 1 }, small);
    run.trainer.run(2);
    const opt = run.optimizer as DpOptimizer;
    // The selection is in the ledger but not a step: 2 steps taken, the ledger holds 1 + 2 releases.
    expect(opt.steps).toBe(2);
    expect(opt.accountant.history[0]).toEqual({ event: gaussian({ noiseMultiplier: 5 }), count: 1 });
    expect(opt.accountant.releases).toBe(3);
    const rows = opt.getState().sparseRows!;
    expect(rows.length).toBe(40);
    const file = join(mkdtempSync(join(tmpdir(), 'dpfl-fest-')), 'run.ckpt');
    saveRun(run, file);
    const again = createRun({ ...config, batchSize: 20, epochs: 1 }, small);
    const other = (again.optimizer as DpOptimizer).getState().sparseRows!;
    expect([...other]).not.toEqual([...rows]); // 40 of 500 rows drawn twice: equal with negligible probability
    restoreRun(again, file);
    const restored = again.optimizer as DpOptimizer;
    expect([...restored.getState().sparseRows!]).toEqual([...rows]);
    expect(restored.steps).toBe(2);
    expect(restored.accountant.history).toEqual(opt.accountant.history);
    again.trainer.run(again.totalSteps);
    expect(restored.steps).toBe(again.totalSteps);
    // Only the checkpoint's rows ever moved (the linear model's table is 500 × 2, then the bias).
    const init = createRun({ ...config, batchSize: 20, epochs: 1 }, small).model.params;
    const moved = [...Array(500).keys()].filter(
      (j) => again.model.params[2 * j] !== init[2 * j] || again.model.params[2 * j + 1] !== init[2 * j + 1],
    );
    expect(moved.every((j) => rows.includes(j))).toBe(true);
  });
});
