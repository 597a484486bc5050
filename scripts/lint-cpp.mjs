// clang-format over the tracked C++/CUDA sources (native/, bench/cpp/) with the repository's .clang-format.
// `node scripts/lint-cpp.mjs` fails on any file that is not formatted; `--fix` rewrites them in place.
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

// The binary bundled by clang-format-node: CI and contributors get the same version without a system install.
const { clangFormatPath } = createRequire(import.meta.url)('clang-format-node');
const fix = process.argv.includes('--fix');
const exts = ['h', 'cc', 'cpp', 'inl', 'cu', 'cuh'];
const patterns = exts.flatMap((e) => [`native/*.${e}`, `bench/cpp/*.${e}`]);
const files = execFileSync('git', ['ls-files', '--', ...patterns], { encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);
const args = fix ? ['-i', ...files] : ['--dry-run', '-Werror', ...files];
const r = spawnSync(clangFormatPath, args, { stdio: 'inherit' });
if (r.error) throw r.error;
if (r.status !== 0) {
  console.error(`clang-format: ${fix ? 'failed' : 'unformatted C++/CUDA sources (npm run format fixes them)'}`);
  process.exit(r.status ?? 1);
}
console.log(`clang-format: ${files.length} C++/CUDA files ${fix ? 'formatted' : 'checked'}`);
