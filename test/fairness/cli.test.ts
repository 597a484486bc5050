// `dpfl fairness`: bad flags are typed errors naming the flag; the plot is well-formed SVG with one series per
// group; a tiny run of the built CLI (a 300-message subsample of spam, one epoch, one seed) prints one JSON
// object whose every metric carries an interval.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFairnessArgs } from '../../src/cli/commands/fairness.js';
import { fairnessSvg } from '../../src/cli/commands/fairness-svg.js';

const main = join(process.cwd(), 'dist', 'cli', 'main.js');
const hasDist = existsSync(join(process.cwd(), 'dist', 'cli', 'commands', 'fairness.js'));
const hasSpam = existsSync(join(process.cwd(), 'node_modules', '@stdlib', 'datasets-spam-assassin'));

/** Every tag closed in order (a stack over the tags; self-closing ones pop themselves), one root <svg>. */
function wellFormed(svg: string): boolean {
  const stack: string[] = [];
  let roots = 0;
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (close) {
      if (stack.pop() !== name) return false;
    } else if (!self) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    }
  }
  // No stray '<' outside the tags matched above, and nothing left open.
  const tags = svg.match(/</g)?.length ?? 0;
  const matched = [...svg.matchAll(/<\/?[a-zA-Z][\w-]*(?:\s+[\w:-]+="[^"<>]*")*\s*\/?>/g)].length;
  return stack.length === 0 && roots === 1 && tags === matched;
}

describe('dpfl fairness arguments', () => {
  const bad: Array<[string[], RegExp]> = [
    [['--dataset', 'cifar'], /--dataset must be one of spam, mnist, received "cifar"/],
    [['--epsilon', '1,x'], /--epsilon must be a comma-separated list of positive numbers, received "1,x"/],
    [['--epsilon', '0'], /--epsilon must be a comma-separated list of positive numbers/],
    [['--epsilon', ''], /--epsilon must be a comma-separated list/],
    [['--seeds', '0'], /--seeds must be a positive integer, received "0"/],
    [['--augment', 'mixup'], /--augment must be one of gender-swap, received "mixup"/],
    [['--dataset', 'mnist', '--augment', 'gender-swap'], /--augment must be used with --dataset spam/],
    [['--dataset', 'mnist', '--fl'], /--fl must be used with --dataset spam/],
    [['--dataset', 'mnist', '--names'], /--names must be used with --dataset spam/],
    [['--rounds', '5'], /--rounds must be given only with --fl/],
    [['--plot', 'out.png'], /--plot must be a file name ending in .svg/],
    [['--examples', '5'], /--examples must be an integer >= 20/],
    [['--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${argv.join(' ')}`, () => {
      expect(() => parseFairnessArgs(argv)).toThrow(message);
      if (argv[0] !== '--bogus') {
        try {
          parseFairnessArgs(argv);
        } catch (e) {
          expect((e as { code?: string }).code).toBe('ERR_DPFL_INVALID_ARGUMENT');
        }
      }
    });
  }

  it('defaults: spam, ε 1, 3, 8, three seeds, 1000 bootstrap resamples', () => {
    expect(parseFairnessArgs([])).toMatchObject({
      dataset: 'spam',
      epsilons: [1, 3, 8],
      seeds: 3,
      bootstrap: 1000,
      augment: false,
      names: false,
      fl: false,
    });
    expect(parseFairnessArgs(['--names']).names).toBe(true);
    expect(parseFairnessArgs(['--epsilon', '8, 1,3,1']).epsilons).toEqual([1, 3, 8]);
  });
});

describe('fairnessSvg', () => {
  it('is well-formed and draws one series per group in each panel, escaping labels', () => {
    const point = (v: number) => ({ value: v, lower: v - 0.02, upper: v + 0.02 });
    const nan = { value: Number.NaN, lower: 0, upper: 0 };
    const svg = fairnessSvg([
      {
        title: 'accuracy by class',
        yLabel: 'accuracy',
        xLabels: ['ε = 1', 'ε = 3', 'no DP'],
        series: Array.from({ length: 12 }, (_, c) => ({
          label: `digit ${c} <&>`,
          points: [point(0.5 + c / 40), c === 3 ? null : point(0.6), point(0.9)],
        })),
      },
      {
        title: 'gap',
        yLabel: '|Δp|',
        xLabels: ['ε = 1', 'ε = 3', 'no DP'],
        series: [{ label: 'mean |Δp|', points: [point(0.01), point(0.02), nan] }],
      },
    ]);
    expect(wellFormed(svg)).toBe(true);
    expect(wellFormed('<svg><g></svg></g>')).toBe(false); // the checker itself rejects a misnested document
    const series = [...svg.matchAll(/<g class="series" data-label="([^"]*)">/g)].map((m) => m[1]);
    expect(series).toHaveLength(13);
    expect(series[0]).toBe('digit 0 &lt;&amp;&gt;');
    expect(svg.match(/<g class="panel"/g)).toHaveLength(2);
    // The series with a missing point draws two; the gap series skips its NaN point.
    const polylines = [...svg.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(' ').length);
    expect(polylines[3]).toBe(2);
    expect(polylines[12]).toBe(2);
  });
});

describe.skipIf(!hasDist || !hasSpam)('dpfl fairness (built CLI, spam subsample)', () => {
  it('prints one JSON object with intervals and writes a plot with one series per group', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpfl-fairness-'));
    const plot = join(dir, 'fairness.svg');
    const args = ['fairness', '--examples', '300', '--epochs', '1', '--seeds', '1', '--epsilon', '3'];
    const r = spawnSync(process.execPath, [main, ...args, '--bootstrap', '50', '--json', '--plot', plot], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/spam ε = 3 seed 1: training/);
    const report = JSON.parse(r.stdout);
    expect(report.dataset).toBe('spam');
    expect(report.examples).toBe(300);
    expect(report.summary.settings).toEqual(['ε = 3', 'no DP']);
    const [dp, plain] = report.runs;
    expect(dp.epsilon).toBe(3);
    expect(dp.seeds[0].epsilon).toBeLessThanOrEqual(3 + 1e-9);
    expect(plain.seeds[0].epsilon).toBeNull();
    const corpus = dp.seeds[0].groups.corpus;
    expect(corpus.groups.map((g: { name: string }) => g.name)).toEqual(['easy ham', 'hard ham', 'spam']);
    for (const g of corpus.groups) {
      expect(g.accuracy.lower).toBeLessThanOrEqual(g.accuracy.value);
      expect(g.accuracy.upper).toBeGreaterThanOrEqual(g.accuracy.value);
      expect(g.accuracy.resamples).toBeGreaterThan(0);
    }
    expect(corpus.worstGroupAccuracy.lower).toBeLessThanOrEqual(corpus.worstGroupAccuracy.value);
    const cf = dp.seeds[0].counterfactual;
    expect(cf.examples).toBeGreaterThan(0);
    expect(cf.meanAbsDelta.lower).toBeLessThanOrEqual(cf.meanAbsDelta.value);
    expect(Number.isFinite(dp.seeds[0].weat.effectSize)).toBe(true);
    const svg = readFileSync(plot, 'utf8');
    expect(wellFormed(svg)).toBe(true);
    const groups = corpus.groups.length + dp.seeds[0].groups['sender activity'].groups.length + 2; // + the gap's 2
    expect(svg.match(/<g class="series"/g)).toHaveLength(groups);
  }, 150_000);

  it('exits 2 with the message on a bad flag, and --help describes the command', () => {
    const bad = spawnSync(process.execPath, [main, 'fairness', '--seeds', 'x'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/dpfl fairness: --seeds must be a finite number, received "x"/);
    const help = spawnSync(process.execPath, [main, 'fairness', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/usage: dpfl fairness/);
    expect(help.stdout).toMatch(/Bagdasaryan/);
  });
});
