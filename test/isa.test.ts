import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// Each (ISA, thread count) runs in its own process, forced through DPFL_ISA and DPFL_THREADS,
// and must give the same bits as scalar on one thread.
const script = new URL('./fixtures/isa-run.mjs', import.meta.url).pathname;

function run(isa: string, threads: number): { isa: string; threads: number; hash: string } {
  const out = execFileSync('node', [script], {
    env: { ...process.env, DPFL_ISA: isa, DPFL_THREADS: String(threads) },
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

describe('every ISA variant and thread count matches scalar bit for bit', () => {
  const reference = run('scalar', 1);
  it('the reference ran on the scalar variant', () => {
    expect(reference.isa).toBe('scalar');
    expect(reference.threads).toBe(1);
  });
  for (const isa of ['scalar', 'avx2', 'avx512']) {
    for (const threads of [1, 2, 3]) {
      it(`${isa} with ${threads} thread(s)`, (ctx) => {
        const r = run(isa, threads);
        if (r.isa !== isa) {
          console.warn(`skipped: this CPU cannot run ${isa} (fell back to ${r.isa})`);
          ctx.skip();
        }
        expect(r.threads).toBe(threads);
        expect(r.hash).toBe(reference.hash);
      });
    }
  }
});
