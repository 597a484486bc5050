// Run inside a project that installed the packed dpfl tarball: imports dpfl as a user would, calls
// every kernel once, checking each result, then imports and requires every entry point.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as dpfl from 'dpfl';

const info = dpfl.info();
assert.equal(info.backend, 'cpu');

const grads = new Float32Array([3, 4, 0, 0, 0, 1]);
const clip = dpfl.clipAndSum(grads, 2, 1);
assert.deepEqual(Array.from(clip.norms), [5, 1]);
assert.ok(Math.abs(clip.sum[0] - 0.6) < 1e-5 && Math.abs(clip.sum[1] - 0.8) < 1e-5);
const asyncClip = await dpfl.clipAndSumAsync(grads, 2, 1);
assert.deepEqual(asyncClip.sum, clip.sum);
assert.equal(dpfl.perSampleNorms(grads, 2, { groups: [2, 3] }).length, 4);

const x = dpfl.addGaussianNoise(new Float32Array(1000), 1, { seed: 1 });
const y = await dpfl.addGaussianNoiseAsync(new Float32Array(1000), 1, { seed: 1 });
assert.deepEqual(x, y);
const secure = dpfl.addGaussianNoise(new Float32Array(1000), 1);
assert.notDeepEqual(secure, x);

const mean = dpfl.weightedSum([new Float32Array([1, 2]), new Float32Array([3, 4])], [1, 3], { normalize: true });
assert.deepEqual(Array.from(mean), [2.5, 3.5]);
assert.deepEqual(await dpfl.weightedSumAsync([new Float32Array([1, 2])], [2]), new Float32Array([2, 4]));
const agg = new dpfl.Aggregator(2);
agg.add(new Float32Array([1, 2]), 1).add(new Float32Array([3, 4]), 3);
assert.deepEqual(agg.result({ normalize: true }), mean);
assert.equal(dpfl.clipByNorm(new Float32Array([3, 4]), 1).norm, 5);
assert.throws(() => dpfl.clipAndSum(grads, 4, 1), RangeError);

console.log(`pack smoke: every kernel ran from the installed tarball (${JSON.stringify(info)})`);

// Every entry point of the exports map, imported and required (require(esm): Node >= 20.19) as users do.
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('./node_modules/dpfl/package.json', import.meta.url), 'utf8'));
const counts = {};
// dpfl/tfjs needs tfjs, an optional peer dependency: where the project has none, importing it must
// fail by naming the missing tfjs package (and no other entry may need it).
const hasTfjs = (() => {
  try {
    require.resolve('@tensorflow/tfjs-core');
    return true;
  } catch {
    return false;
  }
})();
for (const subpath of Object.keys(pkg.exports).filter((k) => k !== './package.json')) {
  const specifier = subpath === '.' ? 'dpfl' : `dpfl/${subpath.slice(2)}`;
  if (subpath === './tfjs' && !hasTfjs) {
    await assert.rejects(
      import(specifier),
      (e) => e.code === 'ERR_MODULE_NOT_FOUND' && /@tensorflow\/tfjs-/.test(e.message),
    );
    counts[specifier] = 'needs @tensorflow/tfjs';
    continue;
  }
  const imported = await import(specifier);
  const required = require(specifier);
  assert.deepEqual(Object.keys(required).sort(), Object.keys(imported).sort(), specifier);
  assert.ok(Object.keys(imported).length > 0, specifier);
  counts[specifier] = Object.keys(imported).length;
}
const { Accountant, poissonSampledGaussian } = await import('dpfl/accounting');
const accountant = new Accountant();
accountant.step(poissonSampledGaussian({ noiseMultiplier: 1.1, sampleRate: 256 / 60000 }), 1000);
assert.ok(accountant.epsilon(1e-5) > 0.3 && accountant.epsilon(1e-5) < 1);
// The README's entry-point table states each entry's export count: it must be the shipped one.
const readme = readFileSync(new URL('./node_modules/dpfl/README.md', import.meta.url), 'utf8');
const table = Object.fromEntries(
  [...readme.matchAll(/^\| `(dpfl[a-z/]*)` \|.*\| (\d+) \|[^|]*\|$/gm)].map((m) => [m[1], Number(m[2])]),
);
for (const [k, v] of Object.entries(counts)) {
  if (typeof v !== 'string') continue;
  delete table[k]; // not importable here (no tfjs): the count is checked where tfjs is installed
  delete counts[k];
}
assert.deepEqual(table, counts, "README's entry-point table against the installed package's exports");
console.log(`pack smoke: every entry point imports and requires; exports per entry ${JSON.stringify(counts)}`);
