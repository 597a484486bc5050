// The methods of the DP-SGD and FL building blocks (optimizer, samplers, trainer, aggregators,
// client store, built-in FL model) on hostile arguments: a typed dpfl error or a return, never an
// uncoded TypeError. Internal steps are ES private (#) methods, so no caller can reach them.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { api } from '../public-api.js';
import { Random } from '../../src/data/random.js';
import { anything, CallerError } from '../fuzz/hostile.js';

function typed(e: unknown): boolean {
  if (e instanceof CallerError) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_DPFL_');
}

const ds = api.syntheticDense({ size: 50, dim: 3, classes: 2, seed: 1 });

function objects(): [string, object][] {
  const model = api.createModel({ kind: 'linear', inputDim: 3, input: 'dense', classes: 2 }, 1);
  const sampler = new api.PoissonSampler({ datasetSize: 50, sampleRate: 0.2, seed: 1 });
  const fixed = new api.FixedSizeSampler({ datasetSize: 50, batchSize: 5, seed: 1 });
  const optimizer = new api.DpOptimizer({
    params: model.params,
    maxGradNorm: 1,
    noiseMultiplier: 1,
    expectedBatchSize: 10,
    event: (s: number) => sampler.event(s),
    update: { kind: 'sgd', lr: 0.1 },
  });
  return [
    ['BuiltinModel', new api.BuiltinModel({ kind: 'linear', inputDim: 3, input: 'dense', classes: 2 })],
    ['ClientStore', new api.ClientStore(3, 'reservoir', new Random(1))],
    ['trimmed-mean', api.createRoundAggregator('trimmed-mean', 4)],
    ['mean', api.createRoundAggregator('mean', 4)],
    ['PoissonSampler', sampler],
    ['FixedSizeSampler', fixed],
    ['DpOptimizer', optimizer],
    ['Trainer', new api.Trainer({ model, data: ds, sampler, optimizer, private: true })],
  ];
}

it('methods of valid objects throw only typed errors on hostile arguments', async () => {
  const findings = new Set<string>();
  await fc.assert(
    fc.asyncProperty(fc.nat(7), fc.nat(20), fc.array(anything, { maxLength: 6 }), async (o, m, args) => {
      const [name, obj] = objects()[o]!;
      const proto = Object.getPrototypeOf(obj) as object;
      const methods = Object.getOwnPropertyNames(proto).filter(
        (k) => k !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, k)?.value === 'function',
      );
      const method = methods[m % methods.length]!;
      if (name === 'Trainer' && method.startsWith('run')) return; // run(2^31) trains for as long as asked
      try {
        await (obj as Record<string, (...a: unknown[]) => unknown>)[method]!(...args);
      } catch (e) {
        if (!typed(e)) findings.add(`${name}#${method}: ${String(e).slice(0, 150)}`);
      }
    }),
    { numRuns: 1500, seed: 20261201 },
  );
  expect([...findings]).toEqual([]);
}, 120_000);
