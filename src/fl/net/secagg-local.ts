// A whole SecAgg+ round in one process, every message passed by value through JSON (as a transport
// would), with dropouts injected between stages: for the tests and the bench. It measures each
// client's time and bytes per stage and the coordinator's time.
import { FRAME_HEADER_BYTES } from '../client/wire.js';
import { SecAggClient } from '../client/secagg/client.js';
import type { SecAggCoordinator, SecAggResult } from './secagg-coordinator.js';

export interface LocalRoundOptions {
  /** Each participant's update (clients without one are treated as never showing up). */
  updates: Map<number, Float32Array>;
  /** Clients that leave after sharing keys, before sending their masked vector. */
  dropBeforeMask?: Set<number>;
  /** Clients that send their masked vector, then leave before unmasking. */
  dropBeforeUnmask?: Set<number>;
}

export interface StageCost {
  /** Client milliseconds summed over the clients that ran the stage, and their number. */
  ms: number;
  clients: number;
  /** Bytes sent (JSON text, or the masked frame) and received, summed. */
  sent: number;
  received: number;
}

export interface LocalRoundStats {
  advertise: StageCost;
  share: StageCost;
  mask: StageCost;
  unmask: StageCost;
  /** Coordinator milliseconds, all stages (the finish step alone in finishMs). */
  serverMs: number;
  finishMs: number;
}

const wire = <T>(m: T): { value: T; bytes: number } => {
  const text = JSON.stringify(m);
  return { value: JSON.parse(text) as T, bytes: text.length };
};

const cost = (): StageCost => ({ ms: 0, clients: 0, sent: 0, received: 0 });

/** Runs a round through `coordinator` (fresh, stage 'advertise'); returns its result and costs. */
export async function runLocalRound(
  coordinator: SecAggCoordinator,
  options: LocalRoundOptions,
): Promise<{ result: SecAggResult; stats: LocalRoundStats }> {
  const stats: LocalRoundStats = {
    advertise: cost(),
    share: cost(),
    mask: cost(),
    unmask: cost(),
    serverMs: 0,
    finishMs: 0,
  };
  const server = async <T>(f: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await f();
    stats.serverMs += performance.now() - t0;
    return r;
  };
  const client = async <T>(c: StageCost, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await f();
    c.ms += performance.now() - t0;
    return r;
  };
  const clients = new Map<number, SecAggClient>();
  for (const u of options.updates.keys()) {
    if (!coordinator.graph.has(u)) continue;
    const c = new SecAggClient(coordinator.config(u));
    clients.set(u, c);
    const m = wire(await client(stats.advertise, () => c.advertise()));
    stats.advertise.clients += 1;
    stats.advertise.sent += m.bytes;
    await server(() => coordinator.receiveKeys(m.value));
  }
  const u1 = await server(() => coordinator.closeAdvertise());
  for (const u of u1) {
    const r = wire(await server(() => coordinator.roster(u)));
    const m = wire(await client(stats.share, () => clients.get(u)!.shareKeys(r.value)));
    stats.share.clients += 1;
    stats.share.received += r.bytes;
    stats.share.sent += m.bytes;
    await server(() => coordinator.receiveShares(m.value));
  }
  const u2 = await server(() => coordinator.closeSharing());
  for (const u of u2) {
    if (options.dropBeforeMask?.has(u)) continue;
    const c = clients.get(u)!;
    const inbox = wire(await server(() => coordinator.inbox(u)));
    const y = await client(stats.mask, async () => {
      await c.receiveShares(inbox.value);
      return c.mask(options.updates.get(u)!);
    });
    stats.mask.clients += 1;
    stats.mask.received += inbox.bytes;
    stats.mask.sent += FRAME_HEADER_BYTES + y.byteLength;
    await server(() => coordinator.receiveMasked(u, y));
  }
  const u3 = await server(() => coordinator.closeMasking());
  for (const u of u3) {
    if (options.dropBeforeUnmask?.has(u)) continue;
    const req = wire(await server(() => coordinator.unmaskRequest(u)));
    const m = wire(await client(stats.unmask, () => clients.get(u)!.unmask(req.value)));
    stats.unmask.clients += 1;
    stats.unmask.received += req.bytes;
    stats.unmask.sent += m.bytes;
    await server(() => coordinator.receiveUnmask(m.value));
  }
  const t0 = performance.now();
  const result = await server(() => coordinator.finish());
  stats.finishMs = performance.now() - t0;
  return { result, stats };
}
