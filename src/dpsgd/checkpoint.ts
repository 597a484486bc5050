// Checkpoints: model parameters, optimizer buffers and step, accountant ledger, sampler state
// and the run's configuration, in one file: a magic line, a SHA-256 of the rest, a JSON header and
// the float32 buffers. Written to a temporary file and renamed, so a crash never leaves a torn
// checkpoint; a corrupted file or one from a different configuration is refused. The file and its
// directory are fsync'ed around the rename, so a power loss cannot leave an empty or missing file.
import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { invalidArgument, invalidType, withCode } from '../errors.js';
import { float32Array, requiredObject } from '../validate.js';

/** A path: a number would be taken by node:fs as an open file descriptor (a read could block forever). */
function checkPath(file: unknown): string {
  if (typeof file !== 'string') throw invalidType('file', 'a path (string)', file);
  if (file.length === 0 || file.includes('\0')) {
    throw invalidArgument('file', 'a non-empty path without NUL bytes', file);
  }
  return file;
}

const MAGIC = 'DPFL-CHECKPOINT 1\n';

export interface CheckpointContents {
  /** What must match on resume (model spec, hyper-parameters, dataset): compared as JSON. */
  config: unknown;
  /** Small JSON state (optimizer step, sampler state, accountant ledger, ...). */
  state: unknown;
  /** Named float32 buffers (parameters, momentum, Adam moments). */
  buffers: Record<string, Float32Array>;
}

export function saveCheckpoint(file: string, contents: CheckpointContents): void {
  checkPath(file);
  requiredObject('contents', contents);
  requiredObject('contents.buffers', contents.buffers);
  const names = Object.keys(contents.buffers).sort();
  for (const n of names) float32Array(`contents.buffers.${n}`, contents.buffers[n], false);
  let json: string | undefined;
  try {
    const buffers = names.map((n) => ({ name: n, length: contents.buffers[n]!.length }));
    json = JSON.stringify({ config: contents.config, state: contents.state, buffers });
  } catch (e) {
    // A BigInt or a cycle in config/state: refused before any file is touched.
    const why = e instanceof Error ? e.message : String(e);
    throw invalidArgument('contents', `JSON-serialisable config and state (${why})`, contents);
  }
  const header = Buffer.from(json);
  const parts: Buffer[] = [Buffer.alloc(4), header];
  parts[0]!.writeUInt32LE(header.length, 0);
  for (const n of names) {
    const b = contents.buffers[n]!;
    parts.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  const body = Buffer.concat(parts);
  const digest = createHash('sha256').update(body).digest('hex');
  removeStaleTemporaries(file);
  // This process's temporary name: a leftover of an earlier failed save of ours is truncated and reused.
  const tmp = `${file}.tmp-${process.pid}`;
  let fd: number;
  try {
    fd = openSync(tmp, 'w', 0o600);
  } catch (e) {
    throw unwritable(file, `cannot create ${tmp}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    for (const part of [Buffer.from(MAGIC), Buffer.from(`${digest}\n`), body]) {
      for (let at = 0; at < part.length; ) at += writeSync(fd, part, at, part.length - at);
    }
    fsyncSync(fd); // the bytes are on disk before the rename makes them the checkpoint
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone: nothing to clean
    }
    throw unwritable(file, `cannot replace it: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  syncDirectory(dirname(file)); // the rename itself is durable
}

/** fsync of a directory (its entries); platforms that cannot open a directory (Windows) skip it. */
function syncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch (e) {
    // EINVAL/EISDIR/EPERM: the file system does not sync directories; the rename is still atomic.
    if (!['EINVAL', 'EISDIR', 'EPERM', 'EBADF'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    closeSync(fd);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}

/**
 * Deletes `<file>.tmp-<pid>` files left by saves that were killed: only those whose process is
 * gone (a live process may be writing its own), never this process's (reused by the caller).
 */
function removeStaleTemporaries(file: string): void {
  const dir = dirname(file);
  const prefix = `${basename(file)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pidText = name.slice(prefix.length);
    if (!/^[0-9]{1,10}$/.test(pidText)) continue;
    const pid = Number(pidText);
    if (pid === process.pid || processAlive(pid)) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // Already removed by another process cleaning up: nothing to do.
    }
  }
}

function unwritable(file: string, why: string): Error {
  return withCode(
    new RangeError(`checkpoint path must be writable, received ${JSON.stringify(file)} (${why})`),
    'ERR_DPFL_INVALID_ARGUMENT',
  );
}

/**
 * Checks, before a run spends any privacy budget, that a checkpoint can be saved at `file`: its
 * directory exists and accepts a new file, and `file` is not a directory. Throws a typed error
 * (code ERR_DPFL_INVALID_ARGUMENT) naming the path and the reason.
 */
export function assertCheckpointWritable(file: string): void {
  if (typeof file !== 'string' || file.length === 0) {
    throw invalidArgument('checkpoint path', 'a non-empty string', file);
  }
  const dir = dirname(file);
  const fail = (why: string) => unwritable(file, why);
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw fail(`directory ${dir} does not exist`);
  }
  if (!isDir) throw fail(`${dir} is not a directory`);
  try {
    if (statSync(file).isDirectory()) throw fail('it is a directory');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // Probe with the same temporary name and mode a save uses: what works now works at the end.
  const probe = `${file}.tmp-${process.pid}`;
  try {
    closeSync(openSync(probe, 'w', 0o600));
    unlinkSync(probe);
  } catch (e) {
    throw fail(`cannot create a file in ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

function corrupt(file: string, why: string): Error {
  return withCode(new Error(`checkpoint ${file} is not usable: ${why}`), 'ERR_DPFL_BAD_CHECKPOINT');
}

/** Reads and verifies a checkpoint; with expectedConfig, refuses one saved under another configuration. */
export function loadCheckpoint(file: string, expectedConfig?: unknown): CheckpointContents {
  checkPath(file);
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    // A missing, unreadable or directory path: the same typed error as a damaged file, naming it.
    const code = (e as NodeJS.ErrnoException).code;
    throw corrupt(file, `it cannot be read (${code ?? (e instanceof Error ? e.message : String(e))})`);
  }
  if (data.subarray(0, MAGIC.length).toString() !== MAGIC) throw corrupt(file, 'not a dpfl checkpoint (bad magic)');
  const digest = data.subarray(MAGIC.length, MAGIC.length + 64).toString();
  const body = data.subarray(MAGIC.length + 65);
  if (createHash('sha256').update(body).digest('hex') !== digest)
    throw corrupt(file, 'checksum mismatch (the file is corrupted or truncated)');
  if (body.length < 4 || body.readUInt32LE(0) > body.length - 4) throw corrupt(file, 'the header is truncated');
  const headerLength = body.readUInt32LE(0);
  let header: { config: unknown; state: unknown; buffers: Array<{ name: string; length: number }> };
  try {
    header = JSON.parse(body.subarray(4, 4 + headerLength).toString()) as typeof header;
  } catch {
    throw corrupt(file, 'the header is not JSON');
  }
  if (typeof header !== 'object' || header === null || !Array.isArray(header.buffers)) {
    throw corrupt(file, 'the header has no buffer list');
  }
  if (expectedConfig !== undefined && JSON.stringify(header.config) !== JSON.stringify(expectedConfig)) {
    throw invalidArgument(
      'checkpoint configuration',
      `the run's configuration ${JSON.stringify(expectedConfig)}`,
      JSON.stringify(header.config),
    );
  }
  const buffers: Record<string, Float32Array> = {};
  let at = 4 + headerLength;
  for (const { name, length } of header.buffers) {
    if (typeof name !== 'string' || !Number.isSafeInteger(length) || length < 0) {
      throw corrupt(file, 'a buffer entry is malformed');
    }
    const bytes = body.subarray(at, at + length * 4);
    if (bytes.length !== length * 4) throw corrupt(file, `buffer ${name} is truncated`);
    buffers[name] = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    at += length * 4;
  }
  return { config: header.config, state: header.state, buffers };
}
