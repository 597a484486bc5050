import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accumulatorBytes, clipBytes, noiseBytes, weightedSumBytes, type ByteModel } from '../src/bench/bytes.js';

// The bench plumbing on the three tiny shapes, with tiny time budgets: the shape of the JSON
// document and the agreement of the two sides. Never a timing assertion (the machine is shared).
const main = new URL('../dist/cli/main.js', import.meta.url).pathname;
const harness = new URL('../build-cmake/bench/dpfl_bench', import.meta.url).pathname;
const TINY = '^(clip_flat 32x1000|noise_philox 1000|weighted_sum 10x1000)$';
/** The part of a byte model the C++ harness reports too. */
const traffic = ({ bytes, minBytes }: ByteModel) => ({ bytes, minBytes });

describe('dpfl bench', () => {
  it('--json prints one document of the documented shape and writes the same to --out', () => {
    const out = mkdtempSync(join(tmpdir(), 'dpfl-bench-'));
    const args = [
      main,
      'bench',
      '--quick',
      '--json',
      '--filter',
      TINY,
      '--time-ms',
      '5',
      '--probe-mib',
      '16',
      '--cold',
      '2',
      '--cold-idle-ms',
      '20',
      '--out',
      out,
    ];
    const withCpp = existsSync(harness); // npm test builds it (test:cpp) before the vitest suites
    args.push(withCpp ? '--no-build' : '--no-cpp');
    const doc = JSON.parse(execFileSync('node', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));

    const files = readdirSync(out);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{4}-\d{2}-\d{2}\.json$/);
    expect(JSON.parse(readFileSync(join(out, files[0]!), 'utf8'))).toEqual(doc);

    expect(doc.schema).toBe(1);
    expect(doc.options).toMatchObject({ quick: true, filter: TINY, baselines: true });
    expect(doc.machine).toMatchObject({ node: process.version, backend: expect.any(String), isa: expect.any(String) });
    expect(doc.machine.threads).toBeGreaterThan(0);
    expect(doc.machine.cpuModel).toEqual(expect.any(String));
    expect(doc.sections).toEqual({}); // accounting, dpsgd and fl filtered out
    expect(doc.isaSweep).toEqual([]); // only with --isa-sweep
    expect(doc.raw.ts.length).toBeGreaterThanOrEqual(6); // api and ts for each shape, plus api-alloc and api-async

    const byId = new Map(doc.results.map((r: { kernel: string; shape: string }) => [`${r.kernel} ${r.shape}`, r]));
    expect([...byId.keys()].sort()).toEqual(['clip_flat 32x1000', 'noise_philox 1000', 'weighted_sum 10x1000']);
    expect(byId.get('clip_flat 32x1000')).toMatchObject(clipBytes(32, 1000, null));
    expect(byId.get('noise_philox 1000')).toMatchObject({ ...noiseBytes(1000), items: 1000 });
    expect(byId.get('weighted_sum 10x1000')).toMatchObject(weightedSumBytes(10, 1000));
    for (const r of doc.results) {
      expect(r.apiMs).toBeGreaterThan(0);
      expect(r.tsMs).toBeGreaterThan(0);
      expect(r.apiGBps).toBeCloseTo(r.bytes / (r.apiMs * 1e-3) / 1e9, 6);
      expect(r.speedupVsTs).toBeCloseTo(r.tsMs / r.apiMs, 6);
    }
    expect(byId.get('noise_philox 1000')).toMatchObject({ samplesPerSec: expect.any(Number) });
    expect(doc.options.cold).toEqual({ samples: 2, idleMs: 20 });
    for (const r of doc.results) expect(r.apiColdRatio).toBeCloseTo(r.apiColdMs / r.apiMs, 6);
    const coldRows = doc.raw.ts.filter((r: { cold?: unknown }) => r.cold !== undefined);
    expect(coldRows.map((r: { impl: string }) => r.impl)).toEqual(['api', 'api', 'api']); // cold calls: API only
    for (const r of coldRows) expect(r.cold).toMatchObject({ reps: 2, idleMs: 20, medianMs: expect.any(Number) });

    if (withCpp) {
      expect(doc.probe.bestGBps).toBeGreaterThan(0);
      expect(doc.probe.samples.length).toBeGreaterThanOrEqual(2); // start and end, plus one per shape
      for (const r of doc.results) {
        expect(r.cppMs).toBeGreaterThan(0);
        expect(r.scalarCppMs).toBeGreaterThan(0);
        expect(r.cppPctProbe).toBeCloseTo((100 * r.cppGBps) / doc.probe.bestGBps, 6);
        expect(r.cppColdRatio).toBeCloseTo(r.cppColdMs / r.cppMs, 6);
        expect(r.memoryMode).toEqual(expect.any(String));
        const pool = {
          regions: expect.any(Number),
          workerJoinMaxUs: expect.any(Number),
          callerShare: expect.any(Number),
        };
        expect(r.cppPool).toEqual({ warm: pool, cold: pool });
      }
      expect(doc.memoryMode.medianGBps).toBeGreaterThan(0);
      expect(doc.callOverhead.map((o: { kernel: string }) => o.kernel).sort()).toEqual([
        'clip_flat',
        'noise_philox',
        'weighted_sum',
      ]);
      for (const o of doc.callOverhead) {
        expect(o.overheadUs).toBeCloseTo(o.apiUs - o.cppUs, 6);
        expect(o.apiAsyncUs).toBeGreaterThan(0);
      }
    } else {
      expect(doc.probe).toBeNull();
    }
  });

  it.runIf(existsSync(harness))(
    'the C++ harness uses the same byte model as the TypeScript side, and sweeps ISAs',
    () => {
      const filter = '^(clip_grouped 32x1000|noise_secure 1000|accumulator_add 10x1000)$';
      const args = [
        '--json',
        '--quick',
        '--no-baseline',
        '--isa-sweep',
        '--filter',
        filter,
        '--min-time',
        '0',
        '--probe-mib',
        '16',
      ];
      const report = JSON.parse(execFileSync(harness, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
      const active = new Map(
        report.results.filter((r: { impl: string }) => r.impl === 'dpfl').map((r: { kernel: string }) => [r.kernel, r]),
      );
      expect(active.get('clip_grouped')).toMatchObject(traffic(clipBytes(32, 1000, 6)));
      expect(active.get('noise_secure')).toMatchObject(traffic(noiseBytes(1000)));
      expect(active.get('accumulator_add')).toMatchObject(traffic(accumulatorBytes(10, 1000)));
      // Every kernel also ran under the scalar variant (always supported) unless scalar is the active one.
      if (report.machine.isa !== 'scalar') {
        const scalar = report.results
          .filter((r: { impl: string }) => r.impl === 'dpfl-scalar')
          .map((r: { kernel: string }) => r.kernel);
        expect(scalar.sort()).toEqual(['accumulator_add', 'clip_grouped', 'noise_secure']);
      }
    },
  );

  it('refuses a bad --filter before doing any work', () => {
    expect(() => execFileSync('node', [main, 'bench', '--filter', '(', '--no-cpp'], { stdio: 'pipe' })).toThrow(
      /regular expression/i,
    );
  });
  it('bench dpsgd --json reports private and non-private step times and their ratio', () => {
    const r = JSON.parse(
      execFileSync('node', [main, 'bench', 'dpsgd', '--model', 'mlp', '--batch-size', '8', '--steps', '2', '--json'], {
        encoding: 'utf8',
      }),
    );
    expect(r.msPerStepPrivate).toBeGreaterThan(0);
    expect(r.msPerStepNonPrivate).toBeGreaterThan(0);
    expect(r.ratio).toBeCloseTo(r.msPerStepPrivate / r.msPerStepNonPrivate, 6);
    expect(() => execFileSync('node', [main, 'bench', 'dpsgd', '--model', 'cnn'], { stdio: 'pipe' })).toThrow(
      /--model must be linear, mlp, text or embedding-bag/,
    );
  });
  it('bench utility refuses bad --seeds and --dataset before training anything', () => {
    expect(() => execFileSync('node', [main, 'bench', 'utility', '--seeds', '1,x'], { stdio: 'pipe' })).toThrow(
      /--seeds must be comma-separated non-negative integers, received "1,x"/,
    );
    expect(() => execFileSync('node', [main, 'bench', 'utility', '--dataset', 'cifar'], { stdio: 'pipe' })).toThrow(
      /--dataset must be one of spam, mnist, received "cifar"/,
    );
  });
});
