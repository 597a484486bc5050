// Client tokens: `<client id>.<secret>`, the secret 32 random bytes from the OS CSPRNG in base64url
// (43 characters). The database keeps only SHA-256 of the secret: a stolen database file does not
// let anyone talk as a client. The comparison is constant-time (timingSafeEqual) so response times
// do not reveal how much of a guessed hash matched.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const TOKEN = /^(0|[1-9]\d{0,8})\.([A-Za-z0-9_-]{43})$/;

export interface IssuedToken {
  client: number;
  token: string;
  /** SHA-256 of the secret (what the database stores). */
  hash: Uint8Array;
}

export function hashSecret(secret: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(secret, 'utf8').digest());
}

export function issueToken(client: number): IssuedToken {
  const secret = randomBytes(32).toString('base64url');
  return { client, token: `${client}.${secret}`, hash: hashSecret(secret) };
}

/** Splits `Authorization: Bearer <client>.<secret>`; undefined when the header is malformed. */
export function parseBearer(header: string | undefined): { client: number; secret: string } | undefined {
  if (typeof header !== 'string' || header.length > 80) return undefined;
  const m = /^Bearer (.+)$/.exec(header);
  const t = m ? TOKEN.exec(m[1]!) : null;
  return t ? { client: Number(t[1]), secret: t[2]! } : undefined;
}

/** Whether the secret's hash equals the stored one, in time independent of where they differ. */
export function secretMatches(secret: string, stored: Uint8Array): boolean {
  const h = hashSecret(secret);
  return stored.length === h.length && timingSafeEqual(h, stored);
}
