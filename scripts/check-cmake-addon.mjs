// Both build files compile the same sources: the cmake-js addon must behave exactly like the
// node-gyp one. Loads both and compares a clipping sum and a reproducible noise stream bit for bit.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const gyp = require('../build/Release/dpfl.node');
const cmake = require('../build-cmakejs/Release/dpfl.node');

const grads = Float32Array.from({ length: 8 * 333 }, (_, i) => Math.sin(i * 0.37));
function run(b) {
  const sum = new Float32Array(333);
  const stats = b.clipAndSum(grads, 8, null, new Float64Array([0.5]), sum, new Float32Array(8), null);
  const noise = b.addGaussianNoise(new Float32Array(1001), 1, 7n, 3n, 11);
  return { sum: Buffer.from(sum.buffer), noise: Buffer.from(noise.buffer), stats };
}
const a = run(gyp);
const c = run(cmake);
assert.ok(a.sum.equals(c.sum), 'clipAndSum differs between the node-gyp and cmake-js addons');
assert.ok(a.noise.equals(c.noise), 'noise differs between the node-gyp and cmake-js addons');
assert.deepEqual(a.stats, c.stats);
console.log('cmake-js addon matches the node-gyp addon');
