// The row moves of sparsity-preserving DP-SGD (nn.gatherRows, nn.scatterRows, nn.zeroRows in the
// native core; the sparse-embeddings functions the optimizer calls, native above a size and a
// JavaScript loop below): the same bits as a plain loop, every sel checked before anything is
// written, typed errors naming the argument.
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/data/random.js';
import * as se from '../../src/dpsgd/sparse-embeddings.js';
import * as nn from '../../src/kernels/nn.js';

/**
 * Float32s with random bits: NaN payloads and -0 included, so a copy that rounds or canonicalises
 * shows. quiet: every NaN made quiet (a JavaScript element copy quiets a signalling NaN; arithmetic
 * never makes one).
 */
function randomBits(rng: Random, n: number, quiet = false): Float32Array {
  const u = new Uint32Array(n);
  for (let i = 0; i < n; i++) u[i] = Math.floor(rng.next() * 2 ** 32);
  if (quiet) for (let i = 0; i < n; i++) if ((u[i]! & 0x7f800000) === 0x7f800000) u[i]! |= 0x400000;
  return new Float32Array(u.buffer);
}

/** Rows of [0, rows) each kept with probability p, increasing. */
function someRows(rng: Random, rows: number, p: number): Int32Array {
  const sel: number[] = [];
  for (let j = 0; j < rows; j++) if (p >= 1 || rng.next() < p) sel.push(j);
  return Int32Array.from(sel);
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** The same bits (a byte compare; the element-wise diff only on a mismatch, which is slow on big arrays). */
function expectSame(got: Uint32Array, want: Uint32Array): void {
  const bytes = (a: Uint32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  if (got.length !== want.length || !bytes(got).equals(bytes(want))) expect(got).toEqual(want);
}

// The plain loops, on the bits (a Float32Array element copy may change a NaN's payload).
function refGather(table: Float32Array, dim: number, sel: Int32Array): Uint32Array {
  const t = bits(table);
  const out = new Uint32Array(sel.length * dim);
  sel.forEach((j, i) => out.set(t.subarray(j * dim, (j + 1) * dim), i * dim));
  return out;
}
function refScatter(src: Float32Array, dim: number, sel: Int32Array, table: Float32Array): Uint32Array {
  const t = bits(table).slice();
  sel.forEach((j, i) => t.set(bits(src).subarray(i * dim, (i + 1) * dim), j * dim));
  return t;
}

type Moves = Pick<typeof nn, 'gatherRows' | 'scatterRows' | 'zeroRows'>;
// sparse-embeddings moves small sizes in JavaScript (floats as numbers), so its data has quiet NaNs.
const impls: [string, Moves, boolean][] = [
  ['nn', nn, false],
  ['sparse-embeddings', se, true],
];

describe.each(impls)('%s row moves', (_, m, quiet) => {
  it('equal the plain loops bit for bit (k = 0, a few rows, most, all; narrow, odd and wide rows)', () => {
    const rng = new Random(17);
    for (const dim of [1, 3, 16, 64, 129]) {
      for (const p of [0, 0.002, 0.02, 0.6, 1]) {
        const rows = dim > 64 ? 300 : 2000;
        const sel = someRows(rng, rows, p);
        // The table is a view at an offset into a larger buffer, as the optimizer passes it.
        const whole = randomBits(rng, rows * dim + 5, quiet);
        const table = whole.subarray(3, 3 + rows * dim);
        const out = randomBits(rng, sel.length * dim, quiet);
        expect(m.gatherRows(table, dim, sel, out)).toBe(out);
        expectSame(bits(out), refGather(table, dim, sel));
        const src = randomBits(rng, sel.length * dim, quiet);
        const want = refScatter(src, dim, sel, table);
        const before = bits(whole).slice();
        m.scatterRows(src, dim, sel, table);
        expectSame(bits(table), want);
        expectSame(bits(whole).subarray(0, 3), before.subarray(0, 3));
        expectSame(bits(whole).subarray(3 + rows * dim), before.subarray(3 + rows * dim));
        m.zeroRows(table, dim, sel);
        const zeroed = refScatter(new Float32Array(sel.length * dim), dim, sel, table);
        expectSame(bits(table), zeroed);
        expect(sel.every((j) => zeroed.subarray(j * dim, (j + 1) * dim).every((x) => x === 0))).toBe(true);
      }
    }
  });

  it('refuses a sel out of range or not strictly increasing, naming sel[i], with nothing written', () => {
    const rng = new Random(3);
    // Small (the JavaScript loop of sparse-embeddings) and large (native everywhere) moves.
    for (const [rows, dim, k] of [
      [50, 2, 6],
      [3000, 8, 400],
    ] as const) {
      const table = randomBits(rng, rows * dim);
      const good = someRows(rng, rows, k / rows).subarray(0, k);
      expect(good.length).toBe(k);
      const last = k - 1;
      for (const [at, value] of [
        [last, rows],
        [0, -1],
        [last, 2 ** 31 - 1],
        [3, good[2]!],
        [4, good[2]!],
      ] as const) {
        const sel = good.slice();
        sel[at] = value;
        // A repeat of sel[2] at 3 is refused at 3; put at 4 it is below sel[3] (not increasing).
        const message = `sel[${at}] must be strictly increasing, in [0, ${rows}), received ${value}`;
        const refused = expect.objectContaining({ code: 'ERR_DPFL_INVALID_ARGUMENT', message });
        const t0 = bits(table).slice();
        const out = new Float32Array(k * dim).fill(5);
        expect(() => m.gatherRows(table, dim, sel, out)).toThrow(refused);
        expect(out.every((x) => x === 5)).toBe(true);
        expect(() => m.scatterRows(out, dim, sel, table)).toThrow(refused);
        expect(() => m.zeroRows(table, dim, sel)).toThrow(refused);
        expectSame(bits(table), t0);
      }
    }
  });
});

describe('nn row moves: arguments', () => {
  const code = { code: 'ERR_DPFL_INVALID_ARGUMENT' };
  const named = (re: RegExp) => expect.objectContaining({ message: expect.stringMatching(re) });
  const table = new Float32Array(40);
  const sel = Int32Array.of(1, 4, 7);
  it('names the argument of a bad type, size or length', () => {
    const out = new Float32Array(12);
    expect(() => nn.gatherRows(table, 4, new Float32Array([1, 4, 7]) as never, out)).toThrow(
      expect.objectContaining({ code: 'ERR_DPFL_INVALID_TYPE', message: expect.stringMatching(/^sel must be/) }),
    );
    expect(() => nn.gatherRows(table, 0, sel, out)).toThrow(named(/^dim must be/));
    expect(() => nn.gatherRows(table, 2.5, sel, out)).toThrow(named(/^dim must be/));
    expect(() => nn.gatherRows(table, 3, sel, new Float32Array(9))).toThrow(
      expect.objectContaining({ ...code, message: expect.stringMatching(/^table\.length must be a multiple of dim/) }),
    );
    expect(() => nn.gatherRows(table, 4, sel, new Float32Array(11))).toThrow(named(/^out\.length must be 12/));
    expect(() => nn.scatterRows(new Float32Array(13), 4, sel, table)).toThrow(named(/^src\.length must be 12/));
    expect(() => nn.scatterRows(out, 4, sel, [0, 1] as never)).toThrow(named(/^table must be a Float32Array/));
    expect(() => nn.zeroRows(new Float64Array(40) as never, 4, sel)).toThrow(named(/^table must be a Float32Array/));
  });

  it('refuses an output sharing memory with an input', () => {
    const buf = new Float32Array(52);
    const t = buf.subarray(0, 40);
    expect(() => nn.gatherRows(t, 4, sel, buf.subarray(36, 48))).toThrow(
      expect.objectContaining({ ...code, message: expect.stringMatching(/^out must be memory apart from table/) }),
    );
    expect(() => nn.scatterRows(buf.subarray(40, 52), 4, sel, t)).not.toThrow();
    expect(() => nn.scatterRows(buf.subarray(38, 50), 4, sel, t)).toThrow(
      named(/^table must be memory apart from src/),
    );
    const shared = new Int32Array(43);
    shared.set([1, 4, 7], 40);
    expect(() => nn.zeroRows(new Float32Array(shared.buffer, 0, 41), 1, shared.subarray(40))).toThrow(
      named(/^table must be memory apart from sel/),
    );
  });

  it('moves nothing for k = 0, on an empty table too', () => {
    const empty = new Int32Array(0);
    const t = Float32Array.of(1, 2, 3, 4);
    expect(nn.gatherRows(t, 2, empty, new Float32Array(0))).toHaveLength(0);
    nn.scatterRows(new Float32Array(0), 2, empty, t);
    nn.zeroRows(t, 2, empty);
    expect([...t]).toEqual([1, 2, 3, 4]);
    nn.zeroRows(new Float32Array(0), 2, empty);
    expect(() => nn.zeroRows(new Float32Array(0), 2, Int32Array.of(0))).toThrow(
      named(/^sel\[0\] must be strictly increasing, in \[0, 0\)/),
    );
  });
});
