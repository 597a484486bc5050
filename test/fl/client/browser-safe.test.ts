// dpfl/fl/client runs in browsers: the import graph of the compiled entry (dist/fl/client/index.js,
// built by `npm run build:ts`) reaches no Node built-in and neither the addon's loader (dist/native)
// nor its wrappers (dist/kernels); its bare imports are packages that ship browser builds.
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const entry = join(root, 'dist/fl/client/index.js');
/** Bare imports the client may use (the browser test's import map serves them from node_modules). */
const BROWSER_PACKAGES = ['@noble/ciphers', 'shamir-secret-sharing'];

/** Every module a compiled file reaches through static and dynamic imports (re-exports included). */
function graph(start: string): { files: string[]; bare: string[] } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const todo = [start];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    const specifiers = [
      ...text.matchAll(/^\s*(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]/gm),
      ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
      ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
      ...text.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g),
    ].map((m) => m[1]!);
    for (const s of specifiers) {
      if (s.startsWith('.')) todo.push(resolve(dirname(file), s));
      else bare.add(s);
    }
  }
  return { files: [...files].map((f) => relative(root, f)).sort(), bare: [...bare].sort() };
}

describe('dpfl/fl/client in browsers', () => {
  it('its compiled import graph has no node: import, no Node built-in, no addon', () => {
    expect(existsSync(entry), 'dist/fl/client/index.js is missing: run `npm run build:ts` first').toBe(true);
    const { files, bare } = graph(entry);
    // The graph is the client and the pure modules it builds on, nothing else.
    expect(files).toContain('dist/fl/client/join.js');
    expect(files).toContain('dist/fl/client.js');
    expect(files).toContain('dist/data/random.js');
    expect(files.filter((f) => f.startsWith('dist/kernels/') || f.startsWith('dist/native/'))).toEqual([]);
    expect(files.filter((f) => !existsSync(join(root, f)))).toEqual([]);
    const builtins = new Set(builtinModules);
    expect(bare.filter((s) => s.startsWith('node:') || builtins.has(s) || builtins.has(s.split('/')[0]!))).toEqual([]);
    expect(bare.filter((s) => !BROWSER_PACKAGES.some((p) => s === p || s.startsWith(`${p}/`)))).toEqual([]);
    // Nor does any file of the graph read Node globals.
    const nodeGlobals = files.filter((f) =>
      /\b(process|Buffer|__dirname|require)\b[.(]/.test(readFileSync(join(root, f), 'utf8')),
    );
    expect(nodeGlobals).toEqual([]);
  });
});
