import { describe, expect, it } from 'vitest';
import { canaryText, exposure, makeCanaries } from '../../src/audit/canaries.js';

describe('exposure', () => {
  it('rank by loss, exposure = log2 |R| − log2 rank (hand-computed)', () => {
    // Secret at index 2 (loss 2): one candidate below it (1) → rank 2 of 4 → exposure 2 − 1 = 1.
    expect(exposure([3, 1, 2, 5], 2)).toEqual({ rank: 2, candidates: 4, exposure: 1 });
    // Lowest loss: rank 1, exposure log2 4 = 2 (extracted).
    expect(exposure([3, 1, 2, 5], 1).exposure).toBe(2);
  });

  it('a toy model that knows the secret ranks it first among 10^4 candidates', () => {
    const secret = 4821;
    const losses = Float64Array.from({ length: 10000 }, (_, s) => Math.abs(s - secret) / 100);
    const e = exposure(losses, secret);
    expect(e.rank).toBe(1);
    expect(e.exposure).toBeCloseTo(Math.log2(10000), 12);
  });

  it('a model that scores all candidates alike gives the middle rank (ties count one half)', () => {
    const e = exposure(new Float64Array(1000), 7);
    expect(e.rank).toBe(500.5);
    expect(e.exposure).toBeCloseTo(Math.log2(1000 / 500.5), 12);
  });

  it('other planted secrets are left out of the candidate space', () => {
    // Without exclusion the secret at 3 is beaten by the planted one at 0.
    expect(exposure([0, 5, 6, 1], 3).rank).toBe(2);
    expect(exposure([0, 5, 6, 1], 3, [0])).toEqual({ rank: 1, candidates: 3, exposure: Math.log2(3) });
  });

  it('rejects bad arguments', () => {
    expect(() => exposure([1, 2], 2)).toThrow('secretIndex must be an index in [0, 2), received 2');
    expect(() => exposure([1, 2], 0, [0])).toThrow('exclude must be a set without the secret itself');
  });
});

describe('makeCanaries', () => {
  it('distinct secrets, labels alternating within each repetition count, fixed format', () => {
    const c = makeCanaries({ perRepeat: 2, repeats: [1, 4, 16], seed: 3 });
    expect(c).toHaveLength(6);
    expect(new Set(c.map((x) => x.secret)).size).toBe(6);
    expect(c.map((x) => x.repeats)).toEqual([1, 1, 4, 4, 16, 16]);
    expect(c.map((x) => x.label)).toEqual([0, 1, 0, 1, 0, 1]);
    for (const x of c) expect(x.text).toMatch(/^my pin is \d{4}$/);
    expect(canaryText(42, 4)).toBe('my pin is 0042');
  });

  it('rejects bad arguments', () => {
    expect(() => makeCanaries({ perRepeat: 0, repeats: [1] })).toThrow(
      'perRepeat must be a positive integer, received 0',
    );
    expect(() => makeCanaries({ perRepeat: 1, repeats: [1, 0] })).toThrow(
      'repeats[1] must be a positive integer, received 0',
    );
    expect(() => makeCanaries({ perRepeat: 1, repeats: [1], digits: 9 })).toThrow(
      'digits must be an integer in [1, 8], received 9',
    );
  });
});
