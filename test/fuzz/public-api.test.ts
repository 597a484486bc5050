// A property fuzzer over every function and class that the package exports, from every entry point
// (test/public-api.ts; issue 12, section 6; entry points by layer since issue 13).
// The exports are enumerated at run time, so a new export is fuzzed without touching this file:
// with its shape from shapes.ts when it has one, else with `anything` for each argument.
// Property: every call returns, or throws an Error whose `code` is a string starting ERR_DPFL_
// (an argument error also names the argument: "<argument> must be ..."). The one exception is the
// fuzzer's own CallerError, thrown by its hostile getters: dpfl may let a caller's exception through.
// CI runs DPFL_FUZZ_RUNS (default 40) seeded runs per export; `DPFL_FUZZ_RUNS=5000 npx vitest run
// test/fuzz` runs longer, DPFL_FUZZ_SEED picks another seed, DPFL_FUZZ_COLLECT=1 lists every
// distinct finding instead of stopping at the first, DPFL_FUZZ_TRACE=file names the call in flight.
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { api } from '../public-api.js';
import { anything, CallerError } from './hostile.js';
import { shapes, type Shape } from './shapes.js';

const RUNS = Number(process.env.DPFL_FUZZ_RUNS ?? 40);
const SEED = Number(process.env.DPFL_FUZZ_SEED ?? 20261201);
/** With DPFL_FUZZ_COLLECT=1 failures are listed at the end instead of failing the test (a survey). */
const COLLECT = process.env.DPFL_FUZZ_COLLECT === '1';
const findings = new Map<string, string>();
/** DPFL_FUZZ_TRACE=file: the call in progress is written there (to find a call that hangs). */
const TRACE = process.env.DPFL_FUZZ_TRACE;

/**
 * Exports not fuzzed, each with its reason. Keep this list short: an entry is a promise that the
 * export is safe for another reason, or a known defect listed in the issue-12 report.
 */
const SKIP: Record<string, string> = {};

/**
 * Exports allowed to throw an untyped error (still fuzzed for crashes and hangs). Empty since issue
 * 12: every public export throws only typed errors; an entry here needs an owner and a reason.
 */
const UNTYPED_KNOWN: Record<string, string> = {};

type Callable = (...args: unknown[]) => unknown;

function isClass(f: Callable): boolean {
  return /^class\b/.test(Function.prototype.toString.call(f));
}

/** Every callable export, namespaces (nn) flattened as "nn.name". */
function callableExports(): [string, Callable][] {
  const out: [string, Callable][] = [];
  for (const [name, value] of Object.entries(api)) {
    if (typeof value === 'function') out.push([name, value as Callable]);
    else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === null) {
      for (const [inner, f] of Object.entries(value))
        if (typeof f === 'function') out.push([`${name}.${inner}`, f as Callable]);
    }
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

function makeDataset(spec: unknown): unknown {
  const s = spec as { kind: string } & Record<string, number>;
  return s.kind === 'dense'
    ? api.syntheticDense({ size: s.size!, dim: s.dim!, classes: s.classes! })
    : api.syntheticBags({ size: s.size!, rows: s.rows!, classes: s.classes!, tokensPerExample: s.tokensPerExample! });
}

const SHAPES = shapes(makeDataset);

/** Methods of a constructed object, for exports without a shape: every prototype method. */
function genericMethods(obj: unknown): Record<string, fc.Arbitrary<unknown[]>> {
  const out: Record<string, fc.Arbitrary<unknown[]>> = {};
  let proto = obj === null || typeof obj !== 'object' ? null : Object.getPrototypeOf(obj);
  while (proto !== null && proto !== Object.prototype) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, key);
      if (key !== 'constructor' && typeof d?.value === 'function' && !(key in out))
        out[key] = fc.array(anything, { maxLength: 3 });
    }
    proto = Object.getPrototypeOf(proto);
  }
  return out;
}

function genericShape(f: Callable): Shape {
  return {
    args: fc.array(anything, { maxLength: Math.max(1, Math.min(f.length + 1, 4)) }),
    ...(isClass(f) ? { methods: genericMethods } : {}),
  };
}

/** Why an error breaks the property, or null when it is a typed dpfl error (or the caller's own). */
function untyped(e: unknown): string | null {
  if (e instanceof CallerError) return null;
  if (!(e instanceof Error)) return `threw a non-Error: ${String(e)}`;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_DPFL_'))
    return `threw ${e.constructor.name} without a dpfl code: ${e.message}`;
  if ((code === 'ERR_DPFL_INVALID_TYPE' || code === 'ERR_DPFL_INVALID_ARGUMENT') && !/ must /.test(e.message)) {
    return `threw ${code} whose message names no argument: ${e.message}`;
  }
  return null;
}

async function settle(call: () => unknown): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error };
  }
}

const stats = { calls: 0, typed: 0, returned: 0, tolerated: 0 };
const perExport = new Map<string, number>();

function describeArgs(args: unknown[]): string {
  return args
    .map((a) => {
      if (ArrayBuffer.isView(a))
        return `${a.constructor.name}(${(a as unknown as { length?: number }).length ?? a.byteLength})`;
      try {
        return (
          JSON.stringify(a, (_k, v: unknown) =>
            typeof v === 'bigint' ? `${v}n` : ArrayBuffer.isView(v) ? `${v.constructor.name}(...)` : v,
          ) ?? String(a)
        );
      } catch {
        return typeof a;
      }
    })
    .join(', ');
}

async function checkedCall(label: string, args: unknown[], call: () => unknown): Promise<{ value: unknown } | null> {
  stats.calls++;
  if (TRACE !== undefined) writeFileSync(TRACE, `${label}(${describeArgs(args)})\n`);
  perExport.set(label.split('#')[0]!, (perExport.get(label.split('#')[0]!) ?? 0) + 1);
  const r = await settle(call);
  if (r.ok) {
    stats.returned++;
    return { value: r.value };
  }
  stats.typed++;
  let why = untyped(r.error);
  const code: unknown = (r.error as { code?: unknown } | null)?.code;
  const coded = typeof code === 'string' && code.startsWith('ERR_DPFL_');
  if (why !== null && !COLLECT && !coded && label.split('#')[0]! in UNTYPED_KNOWN) {
    stats.tolerated++;
    why = null;
  }
  if (why !== null) {
    const message = `${label}(${describeArgs(args)}) ${why}`;
    if (!COLLECT) throw new Error(message);
    const key = `${label} ${why.replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/g, 'N')}`;
    if (!findings.has(key)) findings.set(key, message);
  }
  return null;
}

describe('fuzz: every public export returns or throws a typed dpfl error', () => {
  const exports = callableExports();

  it('the skip and known lists name only real exports', () => {
    const names = new Set(exports.map(([n]) => n));
    for (const name of [...Object.keys(SKIP), ...Object.keys(UNTYPED_KNOWN)])
      expect(names.has(name), `entry ${name}`).toBe(true);
  });

  for (const [name, f] of exports) {
    if (name in SKIP) continue;
    const shape = SHAPES[name] ?? genericShape(f);
    const construct = isClass(f);
    it(`${name} (${name in SHAPES ? 'shaped' : 'generic'})`, async () => {
      await fc.assert(
        fc.asyncProperty(shape.args, fc.gen(), async (args, g) => {
          const first = await checkedCall(name, args, () => (construct ? Reflect.construct(f, args) : f(...args)));
          if (first === null) return;
          shape.check?.(args, first.value);
          const methods = shape.methods?.(first.value) ?? {};
          const names = Object.keys(methods);
          if (names.length === 0) return;
          const count = g(fc.integer, { min: 0, max: 3 });
          for (let i = 0; i < count; i++) {
            const method = g(fc.constantFrom, ...names);
            const margs = g(() => methods[method]!);
            const target = first.value as Record<string, Callable>;
            await checkedCall(`${name}#${method}`, margs, () => target[method]!(...margs));
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    });
  }

  afterAll(() => {
    const shaped = [...perExport.keys()].filter((n) => n in SHAPES).length;
    console.log(
      `fuzz: ${stats.calls} calls over ${perExport.size} exports (${shaped} shaped), ` +
        `${stats.returned} returned, ${stats.typed - stats.tolerated} typed errors, ` +
        `${stats.tolerated} untyped tolerated (UNTYPED_KNOWN); seed ${SEED}, ${RUNS} runs each`,
    );
    if (COLLECT) for (const message of findings.values()) console.log(`finding: ${message.slice(0, 400)}`);
  });
});
