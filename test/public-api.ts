// The package's public API as users import it: every entry point of package.json "exports",
// mapped to its source module, and all their exports merged (a name belongs to one entry only).
import { readFileSync } from 'node:fs';
import * as root from '../src/index.js';
import * as accounting from '../src/accounting/index.js';
import * as audit from '../src/audit/index.js';
import * as data from '../src/data/index.js';
import * as dpsgd from '../src/dpsgd/index.js';
import * as fairness from '../src/fairness/index.js';
import * as fl from '../src/fl/index.js';
import * as flClient from '../src/fl/client/index.js';
import * as models from '../src/models/index.js';
import * as tfjs from '../src/tfjs/index.js';

/** Subpath → the source module's namespace (the same keys as package.json "exports", less ./package.json). */
export const entries = {
  '.': root,
  './accounting': accounting,
  './audit': audit,
  './data': data,
  './dpsgd': dpsgd,
  './fairness': fairness,
  './fl': fl,
  './fl/client': flClient,
  './models': models,
  './tfjs': tfjs,
} as const;

export type Entry = keyof typeof entries;

/** Subpaths package.json exports (other than ./package.json). */
export function packageSubpaths(): string[] {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: object };
  return Object.keys(pkg.exports).filter((k) => k !== './package.json');
}

/** Every export of every entry, by name (checked unique across entries by test/package/entries.test.ts). */
export const api = Object.assign(
  {},
  root,
  accounting,
  audit,
  data,
  dpsgd,
  fairness,
  fl,
  flClient,
  models,
  tfjs,
) as typeof root &
  typeof accounting &
  typeof audit &
  typeof data &
  typeof dpsgd &
  typeof fairness &
  typeof fl &
  typeof flClient &
  typeof models &
  typeof tfjs;
