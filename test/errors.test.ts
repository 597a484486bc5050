// ERROR_CODES lists every code dpfl throws (the TypeScript layers and the addon), and isDpflError
// recognises exactly those.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clipAndSum, ERROR_CODES, isDpflError } from '../src/index.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('error codes', () => {
  it('every ERR_DPFL_ code in src/ and native/ is listed in ERROR_CODES', () => {
    const root = new URL('..', import.meta.url).pathname;
    const used = new Set<string>();
    for (const file of [...files(join(root, 'src')), ...files(join(root, 'native'))]) {
      for (const m of readFileSync(file, 'utf8').matchAll(/ERR_DPFL_[A-Z_]+/g)) used.add(m[0]);
    }
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((code) => !(ERROR_CODES as readonly string[]).includes(code))).toEqual([]);
  });

  it('isDpflError recognises dpfl errors, optionally by code, and nothing else', () => {
    let thrown: unknown;
    try {
      clipAndSum(new Float32Array(3), 2, 1);
    } catch (e) {
      thrown = e;
    }
    expect(isDpflError(thrown)).toBe(true);
    expect(isDpflError(thrown, 'ERR_DPFL_INVALID_ARGUMENT')).toBe(true);
    expect(isDpflError(thrown, 'ERR_DPFL_NON_FINITE')).toBe(false);
    expect(isDpflError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
    expect(isDpflError({ code: 'ERR_DPFL_INVALID_ARGUMENT', message: 'not an Error' })).toBe(false);
    expect(isDpflError(undefined)).toBe(false);
  });
});
