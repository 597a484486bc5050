// Philox4x32-10 (Salmon et al., SC'11) and dpfl's Philox → normal transform, in TypeScript, to
// check the native values independently.

function mulhilo(a: number, b: number): [number, number] {
  const p = BigInt(a) * BigInt(b);
  return [Number(p >> 32n) >>> 0, Number(p & 0xffffffffn) >>> 0];
}

export function philox4x32_10(
  ctr: [number, number, number, number],
  k0: number,
  k1: number,
): [number, number, number, number] {
  let [c0, c1, c2, c3] = ctr;
  for (let r = 0; r < 10; r++) {
    const [hi0, lo0] = mulhilo(0xd2511f53, c0);
    const [hi1, lo1] = mulhilo(0xcd9e8d57, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return [c0, c1, c2, c3];
}

function uniform52(hi: number, lo: number): number {
  return (hi * 2 ** 20 + Math.floor(lo / 2 ** 12) + 0.5) * 2 ** -52;
}

/** Sample j of the (seed, stream) Philox stream, as dpfl defines it (float64). */
export function philoxNormal(seed: bigint, stream: bigint, j: number): number {
  const block = BigInt(Math.floor(j / 2));
  const ctr: [number, number, number, number] = [
    Number(block & 0xffffffffn),
    Number(block >> 32n),
    Number(stream & 0xffffffffn),
    Number((stream >> 32n) & 0xffffffffn),
  ];
  const w = philox4x32_10(ctr, Number(seed & 0xffffffffn), Number((seed >> 32n) & 0xffffffffn));
  const r = Math.sqrt(-2 * Math.log(uniform52(w[0], w[1])));
  const theta = 2 * Math.PI * uniform52(w[2], w[3]);
  return j % 2 === 0 ? r * Math.cos(theta) : r * Math.sin(theta);
}
