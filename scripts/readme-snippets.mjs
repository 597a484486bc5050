// Runs the code blocks of README.md as a user would: every ```ts or ```js block that imports from
// 'dpfl' is stripped of its types (esbuild) and run with node inside a project that installed dpfl.
// Usage: node scripts/readme-snippets.mjs README.md APP_DIR   (exits 1 on the first failing block)
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { transformSync } from 'esbuild';

const [readme, app] = process.argv.slice(2);
if (!readme || !app) {
  console.error('usage: node scripts/readme-snippets.mjs README.md APP_DIR');
  process.exit(2);
}
const text = readFileSync(readme, 'utf8');
const blocks = [...text.matchAll(/^```(ts|js)\n([\s\S]*?)^```$/gm)]
  .map((m) => ({ code: m[2], line: text.slice(0, m.index).split('\n').length }))
  .filter((b) => /from 'dpfl(\/[a-z]+)?'/.test(b.code));
if (blocks.length === 0) {
  console.error(`${readme}: no code block imports dpfl`);
  process.exit(1);
}
for (const [i, block] of blocks.entries()) {
  const { code } = transformSync(block.code, { loader: 'ts', format: 'esm' });
  const file = join(app, `readme-snippet-${i + 1}.mjs`);
  writeFileSync(file, code);
  const started = performance.now();
  const run = spawnSync(process.execPath, [file], { cwd: app, encoding: 'utf8', timeout: 120_000 });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (run.status !== 0) {
    console.error(`${readme}:${block.line}: the block failed (exit ${run.status ?? run.signal}, ${seconds} s)`);
    console.error(run.stdout.slice(-2000), run.stderr.slice(-4000));
    process.exit(1);
  }
  console.log(`${readme}:${block.line}: ran (${seconds} s)`);
}
console.log(`readme snippets: ${blocks.length} blocks ran against the installed package`);
