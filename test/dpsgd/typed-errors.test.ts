// Issue 12 §6 for src/dpsgd: checkpoints, runs, the Trainer, accuracy and splitThreshold throw only
// typed dpfl errors; a missing checkpoint is ERR_DPFL_BAD_CHECKPOINT naming the file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Trainer,
  accuracy,
  createRun,
  loadCheckpoint,
  restoreRun,
  saveCheckpoint,
  saveRun,
  splitThreshold,
  type RunConfig,
} from '../../src/dpsgd/index.js';
import { anything, CallerError } from '../fuzz/hostile.js';

const config: RunConfig = {
  dataset: 'synthetic',
  model: 'linear',
  epsilon: 5,
  delta: 1e-5,
  epochs: 1,
  batchSize: 64,
  clipping: 'flat',
  maxGradNorm: 1,
  nonPrivate: false,
  seed: 1,
  optimizer: 'sgd',
  lr: 0.5,
  momentum: 0,
  maxPhysicalBatch: 40,
};

function typed(e: unknown): boolean {
  if (e instanceof CallerError) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_DPFL_');
}

describe('dpsgd: typed errors from every entry', () => {
  it('loadCheckpoint of a missing file is ERR_DPFL_BAD_CHECKPOINT naming the file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dpfl-ck-')), 'missing');
    expect(() => loadCheckpoint(file)).toThrow(
      expect.objectContaining({ code: 'ERR_DPFL_BAD_CHECKPOINT', message: expect.stringContaining(file) }),
    );
    expect(() => loadCheckpoint(tmpdir())).toThrow(expect.objectContaining({ code: 'ERR_DPFL_BAD_CHECKPOINT' }));
    expect(() => loadCheckpoint('a\0b')).toThrow(/file must be a non-empty path/);
  });

  it('saveCheckpoint refuses bad contents and an unwritable path with typed errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpfl-ck-'));
    expect(() => saveCheckpoint(join(dir, 'a'), undefined as never)).toThrow(/contents must be an object/);
    expect(() => saveCheckpoint(join(dir, 'a'), { config: 1n, state: {}, buffers: {} })).toThrow(/JSON-serialisable/);
    expect(() => saveCheckpoint(join(dir, 'a'), { config: {}, state: {}, buffers: { p: [1] as never } })).toThrow(
      /contents.buffers.p must be a Float32Array/,
    );
    expect(() => saveCheckpoint(join(dir, 'no', 'such', 'dir'), { config: {}, state: {}, buffers: {} })).toThrow(
      expect.objectContaining({ code: 'ERR_DPFL_INVALID_ARGUMENT' }),
    );
    expect(() => saveCheckpoint(dir, { config: {}, state: {}, buffers: {} })).toThrow(
      expect.objectContaining({ code: 'ERR_DPFL_INVALID_ARGUMENT' }),
    );
  });

  it('createRun checks the whole configuration before loading anything', () => {
    expect(() => createRun(undefined as never)).toThrow(/config must be an object/);
    expect(() => createRun({ ...config, dataset: 'imagenet' as never })).toThrow(/config.dataset must be/);
    expect(() => createRun({ ...config, delta: 2 })).toThrow(/config.delta must be in \(0, 1\)/);
    const batchSize = { valueOf: () => 8 } as never;
    expect(() => createRun({ ...config, batchSize })).toThrow(/config.batchSize must be/);
  });

  it('saveRun and restoreRun take only a Run from createRun', () => {
    expect(() => saveRun({} as never, 'x')).toThrow(/run must be a Run from createRun/);
    expect(() => restoreRun(undefined as never, 'x')).toThrow(/run must be a Run from createRun/);
    const run = createRun(config);
    expect(() => restoreRun(run, join(tmpdir(), 'dpfl-no-such-checkpoint'))).toThrow(
      expect.objectContaining({ code: 'ERR_DPFL_BAD_CHECKPOINT' }),
    );
  });

  it('Trainer, accuracy and splitThreshold refuse hostile arguments with typed errors', () => {
    const run = createRun(config);
    expect(() => new Trainer(undefined as never)).toThrow(/options must be an object/);
    const unset = { ...run.trainer.options, private: undefined as never };
    expect(() => new Trainer(unset)).toThrow(/options.private must be/);
    expect(() => run.trainer.run({} as never)).toThrow(/steps must be/);
    expect(() => accuracy(run.model, undefined as never)).toThrow(/ds must be an object/);
    expect(accuracy(run.model, run.test)).toBeGreaterThanOrEqual(0);
    expect(splitThreshold(1, [1, 3])).toEqual([0.5, Math.sqrt(3) / 2]);
    fc.assert(
      fc.property(fc.array(anything, { maxLength: 3 }), (args) => {
        const entries = [splitThreshold, accuracy, saveRun, restoreRun, loadCheckpoint];
        for (const f of entries) {
          try {
            (f as (...a: unknown[]) => unknown)(...args);
          } catch (e) {
            expect(typed(e), `${f.name}: ${String(e)}`).toBe(true);
          }
        }
      }),
      { numRuns: 300, seed: 20261201 },
    );
  });
});
