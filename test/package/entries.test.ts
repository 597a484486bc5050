// Entry points by layer (issue 13): package.json maps each subpath; a name belongs to one entry;
// dpfl/accounting reaches no addon and no Node built-in (it bundles for browsers); no entry reaches
// src/bench, src/cli or a package that users do not install (devDependencies).
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { entries, packageSubpaths } from '../public-api.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, { types: string; import: string; default: string }>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

/** Every module a source file reaches through static and dynamic imports (re-exports included). */
/** The package a bare specifier names: '@noble/ciphers/chacha.js' → '@noble/ciphers', 'a/b' → 'a'. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function moduleGraph(entry: string): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    // `import type` / `export type` vanish at compile time: they load nothing.
    const specifiers = [
      ...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^'";]*?from\s+'([^']+)'/gm),
      ...text.matchAll(/^\s*import\s+'([^']+)'/gm),
      ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
    ].map((m) => m[1]!);
    for (const s of specifiers) {
      if (s.startsWith('.')) todo.push(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
      else bare.add(s);
    }
  }
  return { files, bare };
}

const sourceOf = (subpath: string): string =>
  join(root, 'src', `${subpath === '.' ? 'index' : `${subpath.slice(2)}/index`}.ts`);

describe('entry points', () => {
  it('package.json exports exactly the tested entries, each with types, import and default', () => {
    expect(packageSubpaths().sort()).toEqual(Object.keys(entries).sort());
    for (const subpath of packageSubpaths()) {
      const stem = subpath === '.' ? 'index' : `${subpath.slice(2)}/index`;
      expect(pkg.exports[subpath]).toEqual({
        types: `./dist/${stem}.d.ts`,
        import: `./dist/${stem}.js`,
        default: `./dist/${stem}.js`,
      });
    }
  });

  it('gives every exported name to one entry only', () => {
    const owner = new Map<string, string>();
    const twice: string[] = [];
    for (const [subpath, ns] of Object.entries(entries)) {
      for (const name of Object.keys(ns)) {
        if (owner.has(name)) twice.push(`${name} (${owner.get(name)} and ${subpath})`);
        owner.set(name, subpath);
      }
    }
    expect(twice).toEqual([]);
  });

  it('keeps internals internal', () => {
    const internals = [
      'fft',
      'erfc',
      'logAddExp',
      'betaCdf',
      'logGamma',
      'benchAccounting',
      'benchFl',
      'Rng',
      'senderDomain',
      'createAccountant',
      'syntheticData',
      'trainTestSplit',
      'loadSpamForFl',
      'loadSpamBagsForFl',
      'SoftmaxRegression',
      'gaussianSigma',
      'clipScales',
      'fnv1a',
    ];
    for (const ns of Object.values(entries)) for (const name of internals) expect(ns).not.toHaveProperty(name);
  });

  it('dpfl/accounting reaches neither the addon nor a Node built-in', () => {
    const { files, bare } = moduleGraph(sourceOf('./accounting'));
    expect([...bare]).toEqual([]);
    const reached = [...files].map((f) => relative(join(root, 'src'), f));
    expect(reached).toContain('accounting/pld.ts'); // the walk follows re-exports
    // Its argument checks come from src/validate.ts (pure), not from the kernels layer.
    expect(reached).toContain('validate.ts');
    expect(reached.filter((f) => f.startsWith('native/') || f.startsWith('kernels/'))).toEqual([]);
  });

  it('dpfl/data reaches no addon (README: it needs only Node built-ins)', () => {
    const reached = [...moduleGraph(sourceOf('./data')).files].map((f) => relative(join(root, 'src'), f));
    expect(reached.filter((f) => f.startsWith('native/'))).toEqual([]);
  });

  it('dpfl/fairness reaches no addon (prediction sensitivity calls the models it is given; WEAT reads params)', () => {
    const reached = [...moduleGraph(sourceOf('./fairness')).files].map((f) => relative(join(root, 'src'), f));
    expect(reached).toContain('fairness/prediction-sensitivity.ts');
    expect(reached.filter((f) => /^(native|kernels|models|dpsgd)\//.test(f))).toEqual([]);
  });

  it('no entry reaches src/bench, src/cli or a package outside dependencies', () => {
    for (const subpath of packageSubpaths()) {
      const { files, bare } = moduleGraph(sourceOf(subpath));
      const reached = [...files].map((f) => relative(join(root, 'src'), f));
      expect(
        reached.filter((f) => f.startsWith('bench/') || f.startsWith('cli/')),
        subpath,
      ).toEqual([]);
      // dpfl/tfjs alone reaches tfjs, its optional peer dependencies (the user installs tfjs).
      const peers = subpath === './tfjs' ? Object.keys(pkg.peerDependencies) : [];
      const outside = [...bare]
        .map(packageName)
        .filter((s) => !s.startsWith('node:') && !(s in pkg.dependencies) && !peers.includes(s));
      expect(outside, subpath).toEqual([]);
    }
  });

  it('the dpfl command, every sub-command included, imports only dependencies (users install with --omit=dev)', () => {
    const { files, bare } = moduleGraph(join(root, 'src/cli/main.ts'));
    expect([...files].some((f) => f.endsWith('cli/commands/bench.ts'))).toBe(true); // dynamic imports followed
    expect([...bare].map(packageName).filter((s) => !s.startsWith('node:') && !(s in pkg.dependencies))).toEqual([]);
  });
});
