// Token administration (`dpfl serve token`): issue, re-issue and revoke client tokens in the
// server's database. The token is shown once; only the SHA-256 of its secret is stored.
import { invalidArgument } from '../../errors.js';
import type { FlStore } from './store.js';
import { issueToken } from './tokens.js';

/** Issues a fresh token for each client id (0..population−1); a client's earlier token stops working. */
export function issueTokens(
  store: FlStore,
  population: number,
  clients: number[],
): { client: number; token: string }[] {
  for (const k of clients)
    if (!Number.isSafeInteger(k) || k < 0 || k >= population)
      throw invalidArgument('client', `an integer in [0, ${population - 1}]`, k);
  const issued = clients.map((k) => issueToken(k));
  store.transaction(() => {
    for (const t of issued) store.setSecret(t.client, t.hash);
  });
  return issued.map(({ client, token }) => ({ client, token }));
}

/** Parses a client list: "3", "0-19", "1,4,7-9". */
export function parseClientList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d{1,9})(?:-(\d{1,9}))?$/.exec(part.trim());
    if (!m) throw invalidArgument('--clients', 'ids or ranges like 0-19,25', text);
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (b < a || b - a > 1_000_000) throw invalidArgument('--clients', 'ranges low-high with low <= high', part);
    for (let k = a; k <= b; k++) out.push(k);
  }
  return [...new Set(out)];
}
