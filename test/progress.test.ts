// The CLI progress line: the bar, throttling (the last unit always printed), the status text
// computed only for lines actually written, and the terminal / plain-line forms.
import { describe, expect, it } from 'vitest';
import { bar, ProgressLine } from '../src/cli/progress.js';

function fakeStream(tty: boolean) {
  const writes: string[] = [];
  return {
    writes,
    stream: { isTTY: tty, columns: 200, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream,
  };
}

describe('progress line', () => {
  it('draws a bar for a fraction, clamped to [0, 1]', () => {
    expect(bar(0, 10)).toBe('[..........]');
    expect(bar(0.5, 10)).toBe('[#####.....]');
    expect(bar(1, 10)).toBe('[##########]');
    expect(bar(2, 4)).toBe('[####]');
    expect(bar(-1, 4)).toBe('[....]');
  });

  it('plain lines when not a terminal: the first, then throttled, the last always; text only when written', () => {
    const { writes, stream } = fakeStream(false);
    const p = new ProgressLine({ stream });
    let calls = 0;
    for (let i = 1; i <= 50; i++) p.update(i, 50, () => `step ${i} (${++calls})`);
    p.finish();
    expect(writes).toHaveLength(2);
    expect(writes[0]).toMatch(/^\[\.{20}\]\s+2% step 1 \(1\) {2}ETA \d+s\n$/);
    expect(writes[1]).toMatch(/^\[#{20}\] 100% step 50 \(2\) {2}\d+s\n$/);
    expect(calls).toBe(2);
  });

  it('one line rewritten in place on a terminal, ended by finish()', () => {
    const { writes, stream } = fakeStream(true);
    const p = new ProgressLine({ stream });
    p.update(1, 4, 'a');
    p.update(4, 4, 'b');
    p.finish();
    expect(writes[0]!.startsWith('\r\x1b[2K[#####...............]  25% a')).toBe(true);
    expect(writes[1]!.startsWith('\r\x1b[2K[####################] 100% b')).toBe(true);
    expect(writes[2]).toBe('\n');
  });

  it('status lines carry the label and the seconds elapsed, unthrottled', () => {
    const { writes, stream } = fakeStream(false);
    const p = new ProgressLine({ stream, label: 'dpfl bench' });
    p.status('probe');
    p.status('clip');
    expect(writes).toEqual(['dpfl bench [0 s] probe\n', 'dpfl bench [0 s] clip\n']);
  });
});
