// The restore hooks the network server's crash recovery needs: FederatedServer.snapshot / restore,
// beginRound with a stored selection, the server optimizers' getState / setState, DpFedAvg's state.
import { describe, expect, it } from 'vitest';
import { createServerOptimizer, type ServerOptimizerName } from '../../src/fl/optimizers.js';
import { FederatedServer, type ServerOptions } from '../../src/fl/server.js';
import { randomFloats } from '../reference/kernels.js';

const D = 19;
const M = 8;
const activity = Array.from({ length: M }, (_, k) => 10 + 3 * k);
const update = (seed: number) => randomFloats(D, seed);

async function playRound(s: FederatedServer, seed: number, skip: number[] = []) {
  const plan = s.beginRound(0);
  for (const k of plan.clients) {
    if (!skip.includes(k))
      s.submit({ client: k, round: plan.round, update: update(seed + k), samples: activity[k]! }, 0);
  }
  return s.endRound();
}

describe('server optimizer state', () => {
  for (const name of ['fedavg', 'fedavgm', 'fedadam', 'fedadagrad', 'fedyogi'] as ServerOptimizerName[]) {
    it(`${name}: getState / setState resume bit-identically`, () => {
      const a = createServerOptimizer(name);
      const pa = new Float32Array(D);
      a.step(pa, update(1));
      a.step(pa, update(2));
      const b = createServerOptimizer(name);
      const pb = Float32Array.from(pa);
      b.setState(a.getState(), D);
      a.step(pa, update(3));
      b.step(pb, update(3));
      expect(pb).toEqual(pa);
    });
  }
  it('refuses another optimizer state or a wrong length', () => {
    const adam = createServerOptimizer('fedadam');
    adam.step(new Float32Array(D), update(1));
    expect(() => createServerOptimizer('fedyogi').setState(adam.getState(), D)).toThrow(/state of fedyogi/);
    expect(() => createServerOptimizer('fedadam').setState(adam.getState(), D + 1)).toThrow(/length 20/);
  });
});

describe('FederatedServer snapshot / restore', () => {
  const options = (o: Partial<ServerOptions> = {}): ServerOptions => ({
    params: new Float32Array(D),
    activity,
    selection: { method: 'uniform', perRound: 3 },
    seed: 7,
    optimizer: 'fedadam',
    ...o,
  });

  it('a restored server continues exactly as the original (seeded selection, optimizer moments)', async () => {
    const a = new FederatedServer(options());
    await playRound(a, 10);
    await playRound(a, 20);
    const b = new FederatedServer(options());
    b.restore(a.snapshot());
    expect(b.round).toBe(2);
    const [ra, rb] = [await playRound(a, 30), await playRound(b, 30)];
    expect(rb).toEqual(ra);
    expect(b.params).toEqual(a.params);
  });

  it('with DP-FedAvg (adaptive clipping, seeded noise) ε and S resume: nothing spent twice or forgotten', async () => {
    const dp = { noiseMultiplier: 1.1, clipNorm: 0.5, adaptiveClip: { countNoise: 1 }, delta: 1e-5, noiseSeed: 3n };
    const o = options({ dp, optimizer: 'fedavg' });
    const a = new FederatedServer(o);
    await playRound(a, 1);
    const snap = a.snapshot();
    const b = new FederatedServer(o);
    b.restore(snap);
    expect(b.dp!.accountant.history).toEqual(a.dp!.accountant.history);
    expect(b.dp!.clipNorm).toBe(a.dp!.clipNorm);
    const [ra, rb] = [await playRound(a, 2), await playRound(b, 2)];
    expect(rb.epsilon).toBe(ra.epsilon);
    expect(b.params).toEqual(a.params);
    expect(() => new FederatedServer(options()).restore(snap)).toThrow(/snapshot.dp/);
  });

  it('reopens a round from its stored selection without drawing', async () => {
    const a = new FederatedServer(options());
    const before = a.snapshot();
    const plan = a.beginRound(0);
    const b = new FederatedServer(options());
    b.restore(before);
    const reopened = b.beginRound(0, JSON.parse(JSON.stringify(plan.selection)));
    expect(reopened.clients).toEqual(plan.clients);
    for (const k of plan.clients) {
      a.submit({ client: k, round: 0, update: update(k), samples: activity[k]! }, 0);
      b.submit({ client: k, round: 0, update: update(k), samples: activity[k]! }, 0);
    }
    expect(await b.endRound()).toEqual(await a.endRound());
    expect(b.params).toEqual(a.params);
    expect(() => new FederatedServer(options()).beginRound(0, { ...plan.selection, clients: [9, 1, 2] })).toThrow(
      /selection.clients/,
    );
  });

  it('restores only between rounds, a snapshot or of another dimension', () => {
    const a = new FederatedServer(options());
    const snap = a.snapshot();
    const plan = a.beginRound(0);
    expect(a.snapshot().round).toBe(0); // the state the open round started from
    expect(a.snapshot().params).toEqual(plan.params);
    expect(() => a.restore(snap)).toThrow(/closed/);
    expect(() => new FederatedServer(options()).restore({ ...snap, params: new Float32Array(3) })).toThrow(/length/);
  });
});
