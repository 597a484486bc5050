// The accounting rows of the bench, from src/accounting/bench.ts when that module exists. The
// import is dynamic and its specifier a variable, so neither the compiler nor the bench depends
// on the module being there.
import type { AccountingRow } from './report.js';

type BenchAccounting = (options?: { quick?: boolean }) => Promise<AccountingRow[]>;

/** The rows; null when the module is absent; { error } when it is present but failed. */
export async function accountingRows(quick: boolean): Promise<AccountingRow[] | { error: string } | null> {
  const specifier = '../accounting/bench.js';
  let mod: { benchAccounting?: BenchAccounting };
  try {
    mod = (await import(specifier)) as typeof mod;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('accounting/bench.js')) return null;
    return { error: e.message ?? String(err) };
  }
  if (typeof mod.benchAccounting !== 'function') return null;
  try {
    return await mod.benchAccounting({ quick });
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}
