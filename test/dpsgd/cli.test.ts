// `dpfl train`: bad flags fail with a clear message and a non-zero exit code, writing nothing;
// a small synthetic run prints one JSON object with the required fields; save/resume works.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTrainArgs } from '../../src/cli/commands/train.js';

const main = join(process.cwd(), 'dist', 'cli', 'main.js');
const hasDist = existsSync(main) && existsSync(join(process.cwd(), 'dist', 'cli', 'commands', 'train.js'));

describe('dpfl train arguments', () => {
  const bad: Array<[string[], RegExp]> = [
    [['--epsilon=-1'], /--epsilon must be a positive number, received "-1"/],
    [['--epsilon', 'abc'], /--epsilon must be a finite number, received "abc"/],
    [['--delta', '1'], /--delta must be in \(0, 1\), received "1"/],
    [['--dataset', 'cifar'], /--dataset must be one of spam, mnist, synthetic, received "cifar"/],
    [['--model', 'cnn'], /--model must be one of linear, mlp, text, received "cnn"/],
    [['--clipping', 'soft'], /--clipping must be one of flat, per-layer, adaptive, automatic/],
    [['--batch-size', '2.5'], /--batch-size must be a positive integer, received "2.5"/],
    [['--epochs', '0'], /--epochs must be a positive number/],
    [['--max-grad-norm', '0'], /--max-grad-norm must be a positive number/],
    [['--momentum', '1'], /--momentum must be in \[0, 1\)/],
    [['--seed=-3'], /--seed must be a non-negative integer/],
    [['--optimizer', 'lion'], /--optimizer must be one of sgd, adam/],
    [['--resume', '/nonexistent/ck'], /--resume must name an existing checkpoint/],
    [['--activation', 'gelu'], /--activation must be one of relu, tanh, received "gelu"/],
    [['--combiner', 'max'], /--combiner must be one of mean, sqrtn, sum, received "max"/],
    [['--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${argv.join(' ')}`, () => expect(() => parseTrainArgs(argv)).toThrow(message));
  }

  it('defaults: the text classifier on spam at ε = 3, δ = 1e-5', () => {
    const { config } = parseTrainArgs([]);
    expect(config).toMatchObject({
      dataset: 'spam',
      model: 'text',
      epsilon: 3,
      delta: 1e-5,
      clipping: 'flat',
      nonPrivate: false,
    });
    expect(parseTrainArgs(['--dataset', 'mnist']).config.model).toBe('mlp');
    expect(parseTrainArgs(['--activation', 'tanh']).config.activation).toBe('tanh');
  });
});

describe.skipIf(!hasDist)('dpfl train (built CLI)', () => {
  it('exits non-zero on a bad flag and writes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpfl-cli-'));
    const r = spawnSync(process.execPath, [main, 'train', '--epsilon', '0', '--save', join(dir, 'ck')], {
      encoding: 'utf8',
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--epsilon must be a positive number/);
    expect(existsSync(join(dir, 'ck'))).toBe(false);
  });

  it('--json prints one object with accuracy, epsilon, delta, steps and msPerStep; save then resume', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpfl-cli-'));
    const args = [
      'train',
      '--dataset',
      'synthetic',
      '--model',
      'linear',
      '--epochs',
      '1',
      '--batch-size',
      '64',
      '--seed',
      '3',
      '--json',
    ];
    const out = JSON.parse(
      execFileSync(process.execPath, [main, ...args, '--save', join(dir, 'ck')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    expect(out.accuracy).toBeGreaterThan(0.5);
    expect(out.epsilon).toBeLessThanOrEqual(3);
    expect(out.delta).toBe(1e-5);
    expect(out.steps).toBe(50);
    expect(out.msPerStep).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'ck'))).toBe(true);
    // Resuming a finished run takes no more steps and reports the same state.
    const again = JSON.parse(
      execFileSync(process.execPath, [main, ...args, '--resume', join(dir, 'ck')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    expect(again.steps).toBe(50);
    expect(again.accuracy).toBe(out.accuracy);
    expect(again.epsilon).toBe(out.epsilon);
  });
});
