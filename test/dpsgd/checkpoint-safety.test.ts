// Checkpoints restore the ledger and derive every counter from it (an edited step is refused, even
// with a valid digest), are durable (fsync of the file before the rename and of the directory
// after), clean up after killed saves, and `dpfl train --save` fails before the first step when the
// checkpoint could not be written.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { PrivacyAccountant } from '../../src/accounting/index.js';
import type { Run } from '../../src/dpsgd/index.js';

const calls: string[] = [];
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return {
    ...real,
    fsyncSync: vi.fn((fd: number) => {
      calls.push('fsync');
      real.fsyncSync(fd);
    }),
    renameSync: vi.fn((a: fs.PathLike, b: fs.PathLike) => {
      calls.push('rename');
      real.renameSync(a, b);
    }),
  };
});

const { assertCheckpointWritable } = await import('../../src/dpsgd/checkpoint.js');
const dpsgd = await import('../../src/dpsgd/index.js');
const { createRun, DpOptimizer, loadCheckpoint, NonPrivateOptimizer, restoreRun, saveCheckpoint, saveRun } = dpsgd;
/** The ledger of a private run (a non-private run has none). */
function ledger(run: Run): PrivacyAccountant {
  if (!(run.optimizer instanceof DpOptimizer)) throw new Error('expected a private run');
  return run.optimizer.accountant;
}

type RunConfig = import('../../src/dpsgd/index.js').RunConfig;

const MAGIC = 'DPFL-CHECKPOINT 1\n';
const config: RunConfig = {
  dataset: 'synthetic',
  model: 'linear',
  epsilon: 1,
  delta: 1e-5,
  epochs: 1,
  batchSize: 64,
  clipping: 'flat',
  maxGradNorm: 1,
  nonPrivate: false,
  seed: 4,
  optimizer: 'sgd',
  lr: 0.5,
  momentum: 0.9,
  maxPhysicalBatch: 64,
};

/** Rewrites a checkpoint's JSON state as an attacker with the file would: the SHA-256 is recomputed. */
function editState(file: string, edit: (state: Record<string, unknown>) => void): void {
  const data = fs.readFileSync(file);
  const body = data.subarray(MAGIC.length + 65);
  const n = body.readUInt32LE(0);
  const header = JSON.parse(body.subarray(4, 4 + n).toString()) as { state: Record<string, unknown> };
  edit(header.state);
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(h.length, 0);
  const newBody = Buffer.concat([len, h, body.subarray(4 + n)]);
  const digest = createHash('sha256').update(newBody).digest('hex');
  fs.writeFileSync(file, Buffer.concat([Buffer.from(MAGIC), Buffer.from(`${digest}\n`), newBody]));
}

function tempDir(): string {
  return fs.mkdtempSync(join(tmpdir(), 'dpfl-cks-'));
}

describe('a restored checkpoint: the ledger is the truth', () => {
  it('an edited state.step (ledger intact, digest recomputed) is refused and nothing changes', () => {
    const dir = tempDir();
    const a = createRun(config);
    a.trainer.run(20);
    const file = join(dir, 'ck');
    saveRun(a, file);
    // Before: step 0 was accepted and each resume re-ran the calibrated steps unchecked (ε 1.34, 1.62,
    // 1.86 over three resumes on a budget of 1, each with stoppedByBudget: false).
    for (const bad of [0, 19, 21, 1.5, -1, null]) {
      const copy = join(dir, `ck-${String(bad)}`);
      fs.copyFileSync(file, copy);
      editState(copy, (s) => {
        s.step = bad;
      });
      const b = createRun(config);
      const params = b.model.params.slice();
      const sampler = JSON.stringify(b.sampler.getState());
      expect(() => restoreRun(b, copy)).toThrow(/state\.step must be/);
      expect(b.optimizer.steps).toBe(0);
      expect(ledger(b).history).toHaveLength(0);
      expect(Array.from(b.model.params)).toEqual(Array.from(params));
      expect(JSON.stringify(b.sampler.getState())).toBe(sampler);
    }
  });

  it('a faithful resume continues from the ledger, and the run stops at the budget across resumes', () => {
    const dir = tempDir();
    const file = join(dir, 'ck');
    let run = createRun(config);
    const total = run.totalSteps;
    run.trainer.run(Math.floor(total / 2));
    saveRun(run, file);
    for (let i = 0; i < 3; i++) {
      run = createRun(config);
      restoreRun(run, file);
      expect(run.optimizer.steps).toBe(ledger(run).releases);
      run.trainer.run(total);
      saveRun(run, file);
    }
    expect(run.optimizer.steps).toBe(total);
    expect(ledger(run).epsilon(config.delta)).toBeLessThanOrEqual(config.epsilon);
    // A trainer asked for more than the plan is stopped by the guard, not by a counter.
    expect(run.trainer.run(total + 5).stoppedByBudget).toBe(true);
  });

  it('a non-private run saves and resumes its plain steps (they release nothing: not in the ledger)', () => {
    const dir = tempDir();
    const file = join(dir, 'ck');
    const plain = { ...config, nonPrivate: true };
    const a = createRun(plain);
    a.trainer.run(7);
    saveRun(a, file);
    const b = createRun(plain);
    restoreRun(b, file);
    expect(b.optimizer).toBeInstanceOf(NonPrivateOptimizer);
    expect(b.optimizer.steps).toBe(7);
    expect(b.optimizer.getState().step).toBe(7);
    expect(b.model.params).toEqual(a.model.params);
    expect('accountant' in b.optimizer).toBe(false); // no ledger: nothing it releases is covered
  });

  it('a header that is not JSON (digest recomputed) is a typed checkpoint error', () => {
    const dir = tempDir();
    const file = join(dir, 'ck');
    saveCheckpoint(file, { config: 1, state: {}, buffers: {} });
    const body = Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('{{{')]);
    const digest = createHash('sha256').update(body).digest('hex');
    fs.writeFileSync(file, Buffer.concat([Buffer.from(MAGIC), Buffer.from(`${digest}\n`), body]));
    expect(() => loadCheckpoint(file)).toThrow(
      expect.objectContaining({ code: 'ERR_DPFL_BAD_CHECKPOINT', message: expect.stringMatching(/not JSON/) }),
    );
  });
});

describe('saving', () => {
  it('fsyncs the file before the rename and the directory after it', () => {
    const dir = tempDir();
    calls.length = 0;
    saveCheckpoint(join(dir, 'ck'), { config: 1, state: { a: 1 }, buffers: { x: new Float32Array([1, 2]) } });
    expect(calls).toEqual(['fsync', 'rename', 'fsync']);
    expect(loadCheckpoint(join(dir, 'ck')).buffers.x).toEqual(new Float32Array([1, 2]));
  });

  it('removes temporaries of killed saves, keeps those of live processes, reuses its own', () => {
    const dir = tempDir();
    const file = join(dir, 'ck');
    // A pid that is certainly gone: a child that has exited and been reaped.
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const dead = child.stdout;
    fs.writeFileSync(`${file}.tmp-${dead}`, 'torn');
    fs.writeFileSync(`${file}.tmp-${process.ppid}`, 'a live save');
    fs.writeFileSync(`${file}.tmp-${process.pid}`, 'our own earlier failed save');
    fs.writeFileSync(`${file}.tmp-notapid`, 'not ours to judge');
    saveCheckpoint(file, { config: 1, state: {}, buffers: {} });
    expect(fs.readdirSync(dir).sort()).toEqual(['ck', `ck.tmp-${process.ppid}`, 'ck.tmp-notapid'].sort());
    expect(loadCheckpoint(file).config).toBe(1);
  });

  it('assertCheckpointWritable: a missing, read-only directory or a directory path fail with a typed error', () => {
    const dir = tempDir();
    expect(() => assertCheckpointWritable(join(dir, 'missing', 'ck'))).toThrow(
      expect.objectContaining({
        code: 'ERR_DPFL_INVALID_ARGUMENT',
        message: expect.stringMatching(/checkpoint path must be writable, received .*does not exist/),
      }),
    );
    expect(() => assertCheckpointWritable(dir)).toThrow(/it is a directory/);
    assertCheckpointWritable(join(dir, 'ck'));
    expect(fs.readdirSync(dir)).toEqual([]);
    if (process.getuid?.() !== 0) {
      const ro = join(dir, 'ro');
      fs.mkdirSync(ro, 0o500);
      expect(() => assertCheckpointWritable(join(ro, 'ck'))).toThrow(/cannot create a file/);
    }
  });
});

const main = join(process.cwd(), 'dist', 'cli', 'main.js');
const hasDist = fs.existsSync(main);

describe.skipIf(!hasDist)('dpfl train --save (built CLI)', () => {
  it('into a missing directory fails before the first step, spending nothing', () => {
    const dir = tempDir();
    const target = join(dir, 'no-such-dir', 'ck');
    const args = ['train', '--dataset', 'synthetic', '--model', 'linear', '--epochs', '1', '--batch-size', '64'];
    args.push('--seed', '3', '--json', '--save', target);
    const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
    // Before: the whole run trained (and spent its ε), then the save failed with ENOENT.
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /dpfl train: --save: checkpoint path must be writable, received .*no-such-dir.*does not exist/,
    );
    expect(r.stdout).toBe('');
  });
});
