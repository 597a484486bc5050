// Checkpoints: model parameters, optimizer buffers and step, accountant ledger, sampler state
// and the run's configuration, in one file: a magic line, a SHA-256 of the rest, a JSON header and
// the float32 buffers. Written to a temporary file and renamed, so a crash never leaves a torn
// checkpoint; a corrupted file or one from a different configuration is refused.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { invalidArgument, invalidType } from '../errors.js';

/** A path: a number would be taken by node:fs as an open file descriptor (a read could block forever). */
function checkPath(file: unknown): string {
  if (typeof file !== 'string') throw invalidType('file', 'a path (string)', file);
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
  const names = Object.keys(contents.buffers).sort();
  const header = Buffer.from(
    JSON.stringify({ config: contents.config, state: contents.state, buffers: names.map((n) => ({ name: n, length: contents.buffers[n]!.length })) }),
  );
  const parts: Buffer[] = [Buffer.alloc(4), header];
  parts[0]!.writeUInt32LE(header.length, 0);
  for (const n of names) {
    const b = contents.buffers[n]!;
    parts.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  const body = Buffer.concat(parts);
  const digest = createHash('sha256').update(body).digest('hex');
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, Buffer.concat([Buffer.from(MAGIC), Buffer.from(`${digest}\n`), body]));
  renameSync(tmp, file);
}

function corrupt(file: string, why: string): Error {
  return Object.assign(new Error(`checkpoint ${file} is not usable: ${why}`), { code: 'ERR_DPFL_BAD_CHECKPOINT' });
}

/** Reads and verifies a checkpoint; with expectedConfig, refuses one saved under another configuration. */
export function loadCheckpoint(file: string, expectedConfig?: unknown): CheckpointContents {
  checkPath(file);
  const data = readFileSync(file);
  if (data.subarray(0, MAGIC.length).toString() !== MAGIC) throw corrupt(file, 'not a dpfl checkpoint (bad magic)');
  const digest = data.subarray(MAGIC.length, MAGIC.length + 64).toString();
  const body = data.subarray(MAGIC.length + 65);
  if (createHash('sha256').update(body).digest('hex') !== digest) throw corrupt(file, 'checksum mismatch (the file is corrupted or truncated)');
  const headerLength = body.readUInt32LE(0);
  const header = JSON.parse(body.subarray(4, 4 + headerLength).toString()) as {
    config: unknown;
    state: unknown;
    buffers: Array<{ name: string; length: number }>;
  };
  if (expectedConfig !== undefined && JSON.stringify(header.config) !== JSON.stringify(expectedConfig)) {
    throw invalidArgument('checkpoint configuration', `the run's configuration ${JSON.stringify(expectedConfig)}`, JSON.stringify(header.config));
  }
  const buffers: Record<string, Float32Array> = {};
  let at = 4 + headerLength;
  for (const { name, length } of header.buffers) {
    const bytes = body.subarray(at, at + length * 4);
    if (bytes.length !== length * 4) throw corrupt(file, `buffer ${name} is truncated`);
    buffers[name] = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    at += length * 4;
  }
  return { config: header.config, state: header.state, buffers };
}
