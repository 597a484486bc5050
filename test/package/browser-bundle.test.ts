// dpfl/accounting runs in a browser: bundled by esbuild for --platform=browser (no Node built-in may
// be reached), then run in a bare V8 context (no process, Buffer, require or module globals), where it
// must compute the same ε as in Node.
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { Accountant, poissonSampledGaussian } from '../../src/accounting/index.js';

describe('dpfl/accounting in a browser bundle', () => {
  it('bundles for the browser and computes ε in a context without Node globals', async () => {
    const out = await build({
      entryPoints: [new URL('../../src/accounting/index.ts', import.meta.url).pathname],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'dpflAccounting',
      write: false,
      logLevel: 'silent',
    });
    const code = out.outputFiles[0]!.text;
    const event = { noiseMultiplier: 1.1, sampleRate: 256 / 60000 };
    const sandbox: Record<string, unknown> = {};
    runInNewContext(
      `${code}
       const a = dpflAccounting;
       for (const kind of ['rdp', 'pld']) {
         const acc = new a.Accountant({ accountant: kind });
         acc.step(a.poissonSampledGaussian(${JSON.stringify(event)}), 1000);
         globalThis[kind] = acc.report(1e-5);
       }`,
      sandbox,
    );
    for (const name of ['process', 'Buffer', 'require', 'module']) expect(name in sandbox).toBe(false);
    for (const kind of ['rdp', 'pld'] as const) {
      const acc = new Accountant({ accountant: kind });
      acc.step(poissonSampledGaussian(event), 1000);
      const inBrowser = JSON.parse(JSON.stringify(sandbox[kind])) as { epsilon: number };
      expect(inBrowser.epsilon, kind).toBeGreaterThan(0.3);
      expect(inBrowser, kind).toEqual(JSON.parse(JSON.stringify(acc.report(1e-5))));
    }
  }, 30_000);
});
