import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ProbeSample } from '../src/bench/harness.js';
import { describeMemoryMode, memoryModeOf, runMemoryMode } from '../src/bench/memory-mode.js';
import { renderMarkdown, renderText } from '../src/bench/render.js';
import type { BenchDocument } from '../src/bench/report.js';

const sample = (bestGBps: number): ProbeSample => ({
  label: 'x',
  bytes: 1,
  threads: 2,
  reps: 1,
  bestGBps,
  medianGBps: bestGBps,
});

describe('bench memory mode', () => {
  it('names the slow and fast levels and reports anything else with its bandwidth', () => {
    expect(memoryModeOf(33.4)).toBe('slow');
    expect(memoryModeOf(35)).toBe('slow');
    expect(memoryModeOf(47.6)).toBe('fast');
    expect(memoryModeOf(60)).toBe('fast');
    expect(memoryModeOf(27.6)).toBe('other (28 GB/s)');
    expect(memoryModeOf(42.5)).toBe('other (43 GB/s)'); // between the bands: no mode forced on it
    expect(memoryModeOf(90)).toBe('other (90 GB/s)');
  });

  it('labels a run by its median probe sample and says when the mode switched', () => {
    expect(runMemoryMode([])).toBeNull();
    const steady = runMemoryMode([sample(33), sample(34), sample(35)])!;
    expect(steady).toEqual({ label: 'slow', medianGBps: 34, samples: { slow: 3 } });
    expect(describeMemoryMode(steady)).not.toMatch(/switched/);
    const mixed = runMemoryMode([sample(33), sample(48), sample(47), sample(46), sample(28)])!;
    expect(mixed.label).toBe('fast'); // median 46
    expect(mixed.samples).toEqual({ slow: 1, fast: 3, other: 1 });
    expect(describeMemoryMode(mixed)).toMatch(/switched during the run/);
  });

  it('renders results saved before cold calls and memory modes were recorded', () => {
    const url = new URL('../bench/results/2026-11-24.json', import.meta.url);
    const old = JSON.parse(readFileSync(url, 'utf8')) as BenchDocument;
    expect(old.memoryMode).toBeUndefined();
    const text = renderText(old);
    expect(text).toMatch(/memory mode: slow \(median probe sample 3\d\.\d GB\/s\)/);
    expect(text).toMatch(/cold\/warm/);
    expect(text).not.toMatch(/cold = the first call/); // no cold calls in that document
    const md = renderMarkdown(old);
    expect(md.split('\n')[0]).toMatch(/^memory mode: slow/);
    expect(md).toMatch(/\| API cold\/warm \|/);
  });
});
