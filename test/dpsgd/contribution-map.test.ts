// DP-AdaFEST's contribution map in the native core (nn.contributionMapAdd, used by
// ContributionMap.add): the same float32 counts, bit for bit, and the same touched order as the
// plain JavaScript loop it replaced; all or nothing on a bad index; the example ids wrap.
import { describe, expect, it } from 'vitest';
import { ContributionMap } from '../../src/dpsgd/sparse-embeddings.js';
import { Random } from '../../src/data/random.js';
import { CONTRIBUTION_STAMP_LIMIT, contributionMapAdd, type ContributionMapState } from '../../src/kernels/nn.js';

function freshState(rows: number): ContributionMapState {
  return {
    counts: new Float32Array(rows),
    stamp: new Int32Array(rows),
    touched: new Int32Array(rows),
    example: 0,
    touchedCount: 0,
  };
}

/** The loop ContributionMap.add ran in JavaScript: distinct rows by stamps, counts[j] += w on a Float32Array. */
function referenceAdd(s: ContributionMapState, indices: Int32Array, offsets: Int32Array, batch: number, c1: number) {
  const { counts, stamp, touched } = s;
  for (let r = 0; r < batch; r++) {
    if (s.example === CONTRIBUTION_STAMP_LIMIT) [s.example] = [0, stamp.fill(0)];
    const id = ++s.example;
    const distinct: number[] = [];
    for (let t = offsets[r]!; t < offsets[r + 1]!; t++) {
      const j = indices[t]!;
      if (stamp[j] !== id) {
        stamp[j] = id;
        distinct.push(j);
      }
    }
    if (distinct.length === 0) continue;
    const w = Math.min(1, c1 / Math.sqrt(distinct.length));
    for (const j of distinct) {
      if (counts[j] === 0) touched[s.touchedCount++] = j;
      counts[j]! += w;
    }
  }
}

/** batch bags of 0..maxLen tokens over `span` rows (small spans: many duplicates); about one in six empty. */
function randomBags(rng: Random, batch: number, span: number, maxLen: number) {
  const idx: number[] = [];
  const offsets = [0];
  for (let r = 0; r < batch; r++) {
    const len = rng.below(6) === 0 ? 0 : rng.below(maxLen + 1);
    for (let t = 0; t < len; t++) idx.push(rng.below(span));
    offsets.push(idx.length);
  }
  return { indices: Int32Array.from(idx), offsets: Int32Array.from(offsets) };
}

function expectSameState(got: ContributionMapState, want: ContributionMapState): void {
  expect(new Uint32Array(got.counts.buffer)).toEqual(new Uint32Array(want.counts.buffer));
  expect(got.touchedCount).toBe(want.touchedCount);
  expect(got.touched.subarray(0, got.touchedCount)).toEqual(want.touched.subarray(0, want.touchedCount));
  expect(got.example).toBe(want.example);
}

function snapshot(s: ContributionMapState): ContributionMapState {
  return {
    counts: s.counts.slice(),
    stamp: s.stamp.slice(),
    touched: s.touched.slice(),
    example: s.example,
    touchedCount: s.touchedCount,
  };
}

describe('nn.contributionMapAdd', () => {
  it('gives the JavaScript loop its bits: counts, touched order and example ids, over several batches', () => {
    const rng = new Random(7);
    for (const [rows, clip] of [
      [61, 1],
      [1000, 2.5],
      [5, 0.3],
    ] as const) {
      const got = freshState(rows);
      const want = freshState(rows);
      for (let call = 0; call < 8; call++) {
        const span = call % 2 === 0 ? Math.min(rows, 12) : rows;
        const { indices, offsets } = randomBags(rng, 1 + rng.below(40), span, 50);
        const batch = offsets.length - 1;
        contributionMapAdd(got, { indices, offsets }, batch, clip);
        referenceAdd(want, indices, offsets, batch, clip);
        expectSameState(got, want);
      }
      expect(got.touchedCount).toBeGreaterThan(0);
    }
  });

  it('refuses a bad index anywhere in the batch with nothing changed, naming bags.indices[t]', () => {
    const rows = 40;
    const s = freshState(rows);
    const rng = new Random(3);
    const first = randomBags(rng, 10, rows, 20);
    contributionMapAdd(s, first, 10, 1);
    const before = snapshot(s);
    const { indices, offsets } = randomBags(rng, 12, rows, 20);
    for (const bad of [rows, -1, 2 ** 31 - 1]) {
      const t = offsets[9]! - 1; // in the ninth bag: the old loop had changed eight bags' rows by then
      expect(t).toBeGreaterThan(offsets[8]! - 1);
      const broken = indices.slice();
      broken[t] = bad;
      expect(() => contributionMapAdd(s, { indices: broken, offsets }, 12, 1)).toThrow(
        expect.objectContaining({
          code: 'ERR_DPFL_INVALID_ARGUMENT',
          message: `bags.indices[${t}] must be a row in [0, ${rows}), received ${bad}`,
        }),
      );
      expect(s.stamp).toEqual(before.stamp);
      expectSameState(s, before);
    }
    // The refused calls left no trace: the next batch continues from `before` exactly.
    contributionMapAdd(s, { indices, offsets }, 12, 1);
    referenceAdd(before, indices, offsets, 12, 1);
    expectSameState(s, before);
  });

  it('wraps example ids at 2^30, clearing the stamps', () => {
    const rows = 30;
    const got = freshState(rows);
    const want = freshState(rows);
    got.example = want.example = CONTRIBUTION_STAMP_LIMIT - 2;
    // Ids 2^30 − 1 and 2^30, then the wrap: the third bag is example 1, and row 7's stale stamp 1
    // would hide it from that example unless the stamps were cleared.
    got.stamp[7] = want.stamp[7] = 1;
    const { indices, offsets } = randomBags(new Random(9), 5, rows, 10);
    const head = [4, 4, 5, 7, 7, 3];
    const all = {
      indices: Int32Array.from([...head, ...indices]),
      offsets: Int32Array.from([0, 2, 3, ...offsets.map((o) => o + head.length)]),
    };
    contributionMapAdd(got, all, 8, 1);
    referenceAdd(want, all.indices, all.offsets, 8, 1);
    expectSameState(got, want);
    expect(got.example).toBe(6);
    expect(got.counts[7]).toBeGreaterThan(0);
    expect(got.stamp).toEqual(want.stamp);
  });

  it('refuses states it could not update and outputs sharing memory with the bags', () => {
    const rows = 8;
    const bags = { indices: Int32Array.of(1, 2, 3), offsets: Int32Array.of(0, 3) };
    const s = freshState(rows);
    const code = { code: 'ERR_DPFL_INVALID_ARGUMENT' };
    expect(() => contributionMapAdd({ ...s, stamp: new Int32Array(7) }, bags, 1, 1)).toThrow(
      expect.objectContaining({ ...code, message: expect.stringMatching(/^state\.stamp\.length/) }),
    );
    expect(() => contributionMapAdd({ ...s, example: CONTRIBUTION_STAMP_LIMIT + 1 }, bags, 1, 1)).toThrow(
      expect.objectContaining({ ...code, message: expect.stringMatching(/^state\.example/) }),
    );
    expect(() => contributionMapAdd({ ...s, touchedCount: 9 }, bags, 1, 1)).toThrow(
      expect.objectContaining({ ...code, message: expect.stringMatching(/^state\.touchedCount/) }),
    );
    expect(() => contributionMapAdd(s, bags, 1, 0)).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/^contributionClip/) }),
    );
    const shared = new Int32Array(rows + 3);
    shared.set([1, 2, 3], rows);
    const aliased = { ...s, stamp: shared.subarray(0, rows) };
    expect(() =>
      contributionMapAdd(aliased, { indices: shared.subarray(rows - 1), offsets: Int32Array.of(0, 4) }, 1, 1),
    ).toThrow(
      expect.objectContaining({ ...code, message: expect.stringMatching(/^state\.stamp must be memory apart/) }),
    );
    expect(() => contributionMapAdd({ ...s, touched: s.stamp }, bags, 1, 1)).toThrow(
      expect.objectContaining({ ...code, message: expect.stringMatching(/^state\.stamp must be memory apart/) }),
    );
    const frozen = Object.freeze(freshState(rows));
    expect(() => contributionMapAdd(frozen, bags, 1, 1)).toThrow(
      expect.objectContaining({ ...code, message: expect.stringMatching(/^state must be an object with writable/) }),
    );
    expect(frozen.counts.every((c) => c === 0)).toBe(true);
    // Bags that only read may share memory with each other.
    const both = Int32Array.of(0, 2, 5, 6);
    contributionMapAdd(s, { indices: both, offsets: both.subarray(0, 2) }, 1, 1);
    expect(s.touchedCount).toBe(2);
  });
});

describe('ContributionMap.add (native)', () => {
  it('sums what the JavaScript loop summed and refuses a bad index with the map unchanged', () => {
    const rows = 500;
    const map = new ContributionMap({
      table: { offset: 0, rows, dim: 4 },
      ratio: 1,
      threshold: 2,
      contributionClip: 1,
    });
    const state = (map as unknown as { state: ContributionMapState }).state;
    const want = freshState(rows);
    const rng = new Random(11);
    for (let call = 0; call < 3; call++) {
      const { indices, offsets } = randomBags(rng, 64, 200, 30);
      map.add(indices, offsets, 64);
      referenceAdd(want, indices, offsets, 64, 1);
    }
    expectSameState(state, want);
    expect(map.touchedRows).toBe(want.touchedCount);
    const { indices, offsets } = randomBags(rng, 64, 200, 30);
    const t = offsets[63]! - 1;
    indices[t] = rows;
    expect(() => map.add(indices, offsets, 64)).toThrow(
      expect.objectContaining({
        code: 'ERR_DPFL_INVALID_ARGUMENT',
        message: expect.stringContaining(`bags.indices[${t}]`),
      }),
    );
    expectSameState(state, want);
    map.discard();
    expect(map.touchedRows).toBe(0);
    expect(state.counts.every((c) => c === 0)).toBe(true);
  });
});
