// The upload frame of wire.ts: round trips of both kinds, the CRC-32 check value, every FrameError a
// receiver answers, and the encoder's argument errors.
import { describe, expect, it } from 'vitest';
import { isDpflError } from '../../../src/errors.js';
import { crc32, decodeFrame, encodeFrame, FRAME_HEADER_BYTES, type Frame } from '../../../src/fl/client/wire.js';

const update: Frame = { kind: 'float32', round: 7, samples: 123, payload: Float32Array.from([1.5, -2, 0, 3e-8, 1e30]) };

function patched(bytes: Uint8Array, at: number, write: (v: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  write(new DataView(copy.buffer, at));
  return copy;
}

describe('wire frame', () => {
  it('crc32 is CRC-32/IEEE (check value of "123456789", empty input)', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('round-trips a float32 update and a masked vector, from a view with an offset', () => {
    const bytes = encodeFrame(update);
    expect(bytes.length).toBe(FRAME_HEADER_BYTES + 4 * 5);
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x44, 0x50, 0x46, 0x4c]);
    expect(decodeFrame(bytes, 5)).toEqual(update);
    const masked: Frame = {
      kind: 'masked',
      round: 2 ** 32 - 1,
      samples: 2 ** 53 - 1,
      payload: Uint32Array.from([0, 1, 2 ** 32 - 1]),
    };
    expect(decodeFrame(encodeFrame(masked), 3)).toEqual(masked);
    // A payload that is a view into a larger buffer, and a frame read at an odd byte offset.
    const big = new Float32Array(10).map((_, i) => i);
    const view = big.subarray(3, 6);
    const framed = encodeFrame({ kind: 'float32', round: 0, samples: 0, payload: view });
    const shifted = new Uint8Array(framed.length + 1);
    shifted.set(framed, 1);
    const back = decodeFrame(shifted.subarray(1), 3);
    expect('error' in back ? back : Array.from(back.payload)).toEqual([3, 4, 5]);
    // The decoded payload owns its bytes.
    shifted.fill(0);
    expect('error' in back ? back : Array.from(back.payload)).toEqual([3, 4, 5]);
    expect(decodeFrame(encodeFrame({ ...update, payload: new Float32Array(0) }), 0)).toMatchObject({ samples: 123 });
  });

  it('answers every FrameError', () => {
    const good = encodeFrame(update);
    const cases: Array<[Uint8Array, string]> = [
      [good.subarray(0, 31), 'length'],
      [patched(good, 0, (v) => v.setUint8(0, 0x45)), 'magic'],
      [patched(good, 4, (v) => v.setUint16(0, 2, true)), 'version'],
      [patched(good, 6, (v) => v.setUint16(0, 3, true)), 'kind'],
      [patched(good, 12, (v) => v.setUint32(0, 6, true)), 'dim'],
      [good.subarray(0, good.length - 1), 'length'],
      [Uint8Array.from([...good, 0, 0, 0, 0]), 'length'],
      [patched(good, 16, (v) => v.setFloat64(0, -1, true)), 'samples'],
      [patched(good, 16, (v) => v.setFloat64(0, 0.5, true)), 'samples'],
      [patched(good, 16, (v) => v.setFloat64(0, Number.NaN, true)), 'samples'],
      [patched(good, 24, (v) => v.setUint32(0, v.getUint32(0, true) ^ 1, true)), 'checksum'],
      [patched(good, FRAME_HEADER_BYTES + 5, (v) => v.setUint8(0, v.getUint8(0) ^ 0x10)), 'checksum'],
    ];
    for (const [bytes, error] of cases) expect(decodeFrame(bytes, 5)).toEqual({ error });
    // The receiver's dim decides: the same good frame read for another model is refused by dim.
    expect(decodeFrame(good, 4)).toEqual({ error: 'dim' });
  });

  it('refuses to encode a frame that would not decode', () => {
    const bad: Array<[Partial<Frame>, RegExp]> = [
      [{ kind: 'int8' as never }, /^frame.kind must be 'float32' or 'masked'/],
      [{ kind: 'masked' }, /^frame.payload must be a Uint32Array, received Float32Array\(5\)/],
      [{ payload: new Float64Array(2) as never }, /^frame.payload must be a Float32Array/],
      [{ round: -1 }, /^frame.round must be an integer in \[0, 2\^32\)/],
      [{ round: 2 ** 32 }, /^frame.round/],
      [{ samples: 1.5 }, /^frame.samples must be a non-negative safe integer/],
      [{ samples: -1 }, /^frame.samples/],
    ];
    for (const [patch, message] of bad) {
      let thrown: unknown;
      try {
        encodeFrame({ ...update, ...patch });
      } catch (e) {
        thrown = e;
      }
      expect(isDpflError(thrown, 'ERR_DPFL_INVALID_ARGUMENT')).toBe(true);
      expect((thrown as Error).message).toMatch(message);
    }
  });
});
