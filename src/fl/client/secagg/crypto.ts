// The key agreement and encryption of SecAgg (Bonawitz et al., CCS 2017, §4 and Fig. 4) over
// WebCrypto, so the same code runs in browsers and Node ≥ 20: X25519 (RFC 7748) for the two key
// pairs of each client, HKDF-SHA256 (RFC 5869) to derive from a shared secret either the AES-GCM
// key that carries shares between two clients or the 256-bit seed of their pairwise mask.
// The coordinator uses the same functions to recompute the pairwise seeds of dropped clients.
import { SecAggError } from './errors.js';

const subtle = () => globalThis.crypto.subtle;
// WebCrypto's key types, named from the global (no DOM lib, no node:crypto import).
type Subtle = typeof globalThis.crypto.subtle;
export type CryptoKey = Awaited<ReturnType<Subtle['importKey']>>;
type CryptoKeyPair = { publicKey: CryptoKey; privateKey: CryptoKey };
const X25519 = { name: 'X25519' } as const;
const utf8 = new TextEncoder();

// PKCS #8 wrapping of a raw 32-byte X25519 private key (RFC 8410): WebCrypto imports no raw
// private key, and exports the scalar only inside this structure.
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);

export interface KeyPair {
  publicKey: Uint8Array;
  privateKey: CryptoKey;
}

/** A fresh X25519 key pair; extractable only when its private key must be secret-shared. */
export async function generateKeyPair(extractable: boolean): Promise<KeyPair> {
  const kp = (await subtle().generateKey(X25519, extractable, ['deriveBits'])) as CryptoKeyPair;
  return { publicKey: new Uint8Array(await subtle().exportKey('raw', kp.publicKey)), privateKey: kp.privateKey };
}

/** The raw 32-byte scalar of an extractable X25519 private key. */
export async function exportPrivateKey(key: CryptoKey): Promise<Uint8Array> {
  const p8 = new Uint8Array(await subtle().exportKey('pkcs8', key));
  return p8.slice(PKCS8_PREFIX.length);
}

/** Imports a raw 32-byte X25519 scalar; returns the key and its public key (to check it against). */
export async function importPrivateKey(raw: Uint8Array): Promise<KeyPair> {
  const p8 = new Uint8Array(PKCS8_PREFIX.length + 32);
  p8.set(PKCS8_PREFIX);
  p8.set(raw, PKCS8_PREFIX.length);
  const privateKey = await subtle().importKey('pkcs8', p8, X25519, true, ['deriveBits']);
  const jwk = await subtle().exportKey('jwk', privateKey);
  const x = (jwk.x ?? '').replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(x + '='.repeat((4 - (x.length % 4)) % 4));
  return { privateKey, publicKey: Uint8Array.from(bin, (c) => c.charCodeAt(0)) };
}

async function agree(privateKey: CryptoKey, publicKey: Uint8Array): Promise<CryptoKey> {
  let peer: CryptoKey;
  try {
    peer = await subtle().importKey('raw', publicKey, X25519, false, []);
  } catch {
    throw new SecAggError('badKey', 'a public key is not a valid X25519 key');
  }
  let bits: Uint8Array;
  try {
    bits = new Uint8Array(await subtle().deriveBits({ name: 'X25519', public: peer }, privateKey, 256));
  } catch {
    throw new SecAggError('badKey', 'X25519 refused a public key (low order)');
  }
  // RFC 7748 §6.1: an all-zero output means a low-order public key; refuse it.
  if (bits.every((b) => b === 0)) throw new SecAggError('badKey', 'X25519 gave an all-zero shared secret');
  return subtle().importKey('raw', bits, 'HKDF', false, ['deriveKey', 'deriveBits']);
}

/** The HKDF info of a pair: the purpose, the round and the two ids in increasing order (symmetric). */
function info(purpose: string, round: number, u: number, v: number): Uint8Array {
  return utf8.encode(`dpfl secagg+ v1 ${purpose} round ${round} pair ${Math.min(u, v)} ${Math.max(u, v)}`);
}

const HKDF = (purpose: string, round: number, u: number, v: number) => ({
  name: 'HKDF',
  hash: 'SHA-256',
  salt: new Uint8Array(32),
  info: info(purpose, round, u, v),
});

/** The AES-256-GCM key of the pair (u, v) this round, from u's c_sk and v's c_pk (or the reverse). */
export async function pairEncryptionKey(
  privateKey: CryptoKey,
  peerPublic: Uint8Array,
  round: number,
  u: number,
  v: number,
): Promise<CryptoKey> {
  const ikm = await agree(privateKey, peerPublic);
  return subtle().deriveKey(HKDF('enc', round, u, v), ikm, { name: 'AES-GCM', length: 256 }, false, [
    'encrypt',
    'decrypt',
  ]);
}

/** The 256-bit pairwise mask seed s_uv = s_vu this round, from u's s_sk and v's s_pk (or the reverse). */
export async function pairMaskSeed(
  privateKey: CryptoKey,
  peerPublic: Uint8Array,
  round: number,
  u: number,
  v: number,
): Promise<Uint8Array> {
  const ikm = await agree(privateKey, peerPublic);
  return new Uint8Array(await subtle().deriveBits(HKDF('mask', round, u, v), ikm, 256));
}

/** The associated data of a share ciphertext: it binds the round, the sender and the receiver. */
function shareAad(round: number, from: number, to: number): Uint8Array {
  return utf8.encode(`dpfl secagg+ v1 shares round ${round} from ${from} to ${to}`);
}

/** iv (12 bytes) ‖ AES-GCM(key, iv, plaintext, aad) with its 16-byte tag. */
export async function encryptShares(
  key: CryptoKey,
  plaintext: Uint8Array,
  round: number,
  from: number,
  to: number,
): Promise<Uint8Array> {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(
    await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: shareAad(round, from, to) }, key, plaintext),
  );
  const out = new Uint8Array(12 + ct.length);
  out.set(iv);
  out.set(ct, 12);
  return out;
}

/** The plaintext of encryptShares, or SecAggError 'decryption' when the tag does not verify. */
export async function decryptShares(
  key: CryptoKey,
  ciphertext: Uint8Array,
  round: number,
  from: number,
  to: number,
): Promise<Uint8Array> {
  if (ciphertext.length < 28) throw new SecAggError('decryption', `the shares of client ${from} are truncated`);
  try {
    return new Uint8Array(
      await subtle().decrypt(
        { name: 'AES-GCM', iv: ciphertext.subarray(0, 12), additionalData: shareAad(round, from, to) },
        key,
        ciphertext.subarray(12),
      ),
    );
  } catch {
    throw new SecAggError('decryption', `the shares of client ${from} for client ${to} do not authenticate`);
  }
}

/** 32 bytes from the CSPRNG (WebCrypto). */
export function randomSeed(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(32));
}
