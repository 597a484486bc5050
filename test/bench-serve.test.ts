import { describe, expect, it } from 'vitest';
import { runServeCase, serveValues } from '../src/bench/serve.js';

// The serve section's plumbing on a tiny federation (K = 6, D = 50): a server child, two client
// processes, two rounds. The children run from dist/ (npm test builds it first). Never a timing
// assertion (the machine is shared): the fields exist, are positive, and add up.
describe('dpfl bench serve', () => {
  it('runs rounds against a server child and reports time, throughput, memory and database size', async () => {
    const r = await runServeCase({
      clients: 6,
      dim: 50,
      rounds: 2,
      database: 'file',
      processes: 2,
      concurrency: 2,
      timeoutMs: 60_000,
    });
    expect(r.stats.map((s) => s.round)).toEqual([0, 1]);
    for (const s of r.stats) {
      expect(s.uploads).toBe(6);
      expect(s.firstUploadAt).toBeGreaterThanOrEqual(s.openedAt);
      expect(s.lastUploadAt).toBeGreaterThanOrEqual(s.firstUploadAt);
      expect(s.closedAt).toBeGreaterThanOrEqual(s.lastUploadAt);
      // submit and the SQLite insert are parts of Coordinator.upload
      expect(s.submitMs + s.recordMs).toBeLessThanOrEqual(s.uploadMs);
      expect(s.peakRss).toBeGreaterThanOrEqual(s.rssAtOpen);
      // the open round's 6 updates of 50 floats are in the file until the round closes
      expect(s.dbBytesOpen).toBeGreaterThan(6 * 4 * 50);
    }
    const v = serveValues(r, 30);
    expect(v.uploadBytes).toBe(6 * 4 * 50);
    for (const key of [
      'setupMs',
      'registerMs',
      'openToClosedMs',
      'firstUploadToClosedMs',
      'clientRoundMs',
      'ingestMBps',
      'submitMs',
      'recordMs',
      'queryMs',
      'activeMs',
      'aggregateGBps',
      'sqliteGBps',
      'serverGBps',
      'aggregatePctProbe',
      'peakRssMB',
      'peakHeapUsedMB',
      'dbBytesOpenMB',
    ])
      expect(v[key], key).toBeGreaterThan(0);
    expect(v.aggregatePctProbe).toBeCloseTo((100 * v.aggregateGBps!) / 30, 9);
  }, 90_000);

  it("runs on ':memory:' (no database file) and fails loudly, not silently, on a bad case", async () => {
    const r = await runServeCase({ clients: 3, dim: 10, rounds: 1, database: 'memory', processes: 1, concurrency: 3 });
    const v = serveValues(r, null);
    expect(v.dbBytesOpenMB).toBe(0);
    expect(v.openToClosedMs).toBeGreaterThan(0);
    expect(v.probeGBps).toBeUndefined();
    // dim 0 is refused by the server's config check: the case rejects with the child's message
    await expect(
      runServeCase({ clients: 2, dim: 0, rounds: 1, database: 'memory', processes: 1, concurrency: 1 }),
    ).rejects.toThrow(/config\.model\.dim/);
  }, 90_000);
});
