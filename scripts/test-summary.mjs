// Prints one closing line for every test run of CI: the ctest programs (each junit file given)
// and the vitest files (its JSON report). Counts come from the runners' own reports, never typed in.
import { existsSync, readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node scripts/test-summary.mjs REPORT...  (ctest junit .xml or vitest .json)');
  process.exit(2);
}

function attr(xml, name) {
  const m = new RegExp(`<testsuite[^>]*\\s${name}="(\\d+)"`).exec(xml);
  return m ? Number(m[1]) : 0;
}

function counts(file) {
  if (!existsSync(file)) throw new Error(`${file}: no such report (did its test run happen?)`);
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.json')) {
    const r = JSON.parse(text);
    return { passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests + r.numTodoTests };
  }
  const tests = attr(text, 'tests');
  const failed = attr(text, 'failures');
  const skipped = attr(text, 'skipped') + attr(text, 'disabled');
  return { passed: tests - failed - skipped, failed, skipped };
}

const total = { passed: 0, failed: 0, skipped: 0 };
for (const f of files) {
  const c = counts(f);
  console.log(`${f}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
  for (const k of Object.keys(total)) total[k] += c[k];
}
console.log(`total: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 || total.passed === 0 ? 1 : 0);
