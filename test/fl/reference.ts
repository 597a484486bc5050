// Plain float64 references for the federated-learning kernels, written for clarity, not speed.

function column(rows: ArrayLike<number>[], d: number): number[] {
  return rows.map((r) => r[d]!).sort((a, b) => a - b);
}

export function medianRef(rows: ArrayLike<number>[]): Float64Array {
  const dim = rows[0]!.length;
  const out = new Float64Array(dim);
  for (let d = 0; d < dim; d++) {
    const c = column(rows, d);
    const k = c.length;
    out[d] = k % 2 ? c[(k - 1) / 2]! : (c[k / 2 - 1]! + c[k / 2]!) / 2;
  }
  return out;
}

export function trimmedMeanRef(rows: ArrayLike<number>[], trim: number): Float64Array {
  const dim = rows[0]!.length;
  const out = new Float64Array(dim);
  for (let d = 0; d < dim; d++) {
    const c = column(rows, d).slice(trim, rows.length - trim);
    out[d] = c.reduce((s, v) => s + v, 0) / c.length;
  }
  return out;
}

/** Word i of ChaCha20 block i/16 under dpfl's layout (block index in counter and nonce word 0, stream in nonce words 1-2). */
export function chachaWord(key: Uint32Array, stream: bigint, i: number): number {
  const block = BigInt(Math.floor(i / 16));
  const rotl = (x: number, n: number) => ((x << n) | (x >>> (32 - n))) >>> 0;
  const init = [
    0x61707865,
    0x3320646e,
    0x79622d32,
    0x6b206574,
    ...key,
    Number(block & 0xffffffffn),
    Number(block >> 32n),
    Number(stream & 0xffffffffn),
    Number((stream >> 32n) & 0xffffffffn),
  ];
  const s = [...init];
  const q = (a: number, b: number, c: number, d: number) => {
    s[a] = (s[a]! + s[b]!) >>> 0;
    s[d] = rotl(s[d]! ^ s[a]!, 16);
    s[c] = (s[c]! + s[d]!) >>> 0;
    s[b] = rotl(s[b]! ^ s[c]!, 12);
    s[a] = (s[a]! + s[b]!) >>> 0;
    s[d] = rotl(s[d]! ^ s[a]!, 8);
    s[c] = (s[c]! + s[d]!) >>> 0;
    s[b] = rotl(s[b]! ^ s[c]!, 7);
  };
  for (let r = 0; r < 10; r++) {
    q(0, 4, 8, 12);
    q(1, 5, 9, 13);
    q(2, 6, 10, 14);
    q(3, 7, 11, 15);
    q(0, 5, 10, 15);
    q(1, 6, 11, 12);
    q(2, 7, 8, 13);
    q(3, 4, 9, 14);
  }
  return (s[i % 16]! + init[i % 16]!) >>> 0;
}
