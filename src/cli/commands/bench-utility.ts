// `dpfl bench utility`: the privacy–utility table (test accuracy at ε = 1, 3, 8 and without
// privacy), every cell trained once per seed with the settings in src/bench/utility.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderUtilityMarkdown, runUtilityTable, UTILITY_ROWS } from '../../bench/utility.js';
import { parseCommandArgs } from '../command.js';
import { optionParser } from '../options.js';
import { ProgressLine } from '../progress.js';

const HELP = `usage: dpfl bench utility [--seeds 1,2,3] [--dataset spam|mnist] [--out DIR] [--json]

Trains the built-in models of the privacy–utility table (SpamAssassin / text and softmax
regression, MNIST / MLP) at
ε = 1, 3 and 8 (δ = 1e-5, Poisson sampling, calibrated σ) and without privacy, once per seed, and
prints test accuracy as mean ± standard deviation over the seeds (a Markdown table). The settings
of every cell are in src/bench/utility.ts. Needs the dataset packages (dev dependencies).
About 2.5 minutes per seed on 2 cores.
  --seeds     comma-separated seeds (default 1,2,3); a seed fixes initialisation, sampling and noise
  --dataset   only one row
  --out DIR   with --json, also write DIR/utility-<YYYY-MM-DD>.json (default bench/results)
  --json      one JSON object on stdout: every run and every cell`;

const { choice, integerList } = optionParser('prose');

export async function runBenchUtility(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    seeds: { type: 'string', default: '1,2,3' },
    dataset: { type: 'string' },
    out: { type: 'string' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const seeds = integerList('seeds', values.seeds ?? '1,2,3', 0, 'comma-separated non-negative integers');
  const names = [...new Set(UTILITY_ROWS.map((r) => r.dataset))];
  const dataset = values.dataset === undefined ? undefined : choice('dataset', values.dataset, names, names[0]!);
  const progress = new ProgressLine();
  const table = runUtilityTable({
    seeds,
    ...(dataset !== undefined ? { datasets: [dataset] } : {}),
    onRun: (r, done, total) =>
      progress.update(
        done,
        total,
        `${done}/${total} ${r.dataset}/${r.model} ${r.column === 'non-private' ? 'non-private' : `ε=${r.column}`} seed ${r.seed}: ` +
          `${(r.accuracy * 100).toFixed(2)} % (${r.seconds.toFixed(1)} s)`,
      ),
  });
  progress.finish();
  if (values.json) {
    const doc = { date: new Date().toISOString(), ...table };
    console.log(JSON.stringify(doc));
    const dir = values.out ?? join('bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `utility-${doc.date.slice(0, 10)}.json`), `${JSON.stringify(doc, null, 1)}\n`);
  } else {
    console.log(`test accuracy, mean ± sd over seeds ${seeds.join(', ')} (δ = ${table.delta})\n`);
    console.log(renderUtilityMarkdown(table));
  }
  return 0;
}
