// The SecAgg+ section of `npm run bench`: whole rounds in one process (src/fl/net/secagg-local.ts,
// every message through JSON) for K = 100, 1000, 10000 clients, D = 1000 (a small model: the
// protocol's fixed costs — key agreement, shares — dominate; masking costs O(k·D) ChaCha20 words
// per client on top), 10% of clients dropping before masking. Per client: milliseconds and bytes
// sent and received per stage; the coordinator's milliseconds; k and t.
// A client's cost depends only on (k, t, D), not on K, but a full round of K = 10000 takes minutes
// on two cores (≈ 25 ms of WebCrypto per client). So for K above `fullUpTo` the per-client costs
// are measured on a full round of `sample` clients run with K's own k and t, and the server time
// is that round's, scaled by K / sample (its work is O(K·k) shares and O(K·D) sums): the row says
// 'sampled' and 'server extrapolated'.
import { SecAggCoordinator } from '../fl/net/secagg-coordinator.js';
import { graphParameters } from '../fl/net/secagg-graph.js';
import { runLocalRound, type StageCost } from '../fl/net/secagg-local.js';
import { Random } from '../data/random.js';
import type { SectionRow } from './report.js';

const D = 1000;
const DROPOUT = 0.1;

function perClient(c: StageCost): { ms: number; sent: number; received: number } {
  const n = Math.max(1, c.clients);
  return { ms: c.ms / n, sent: c.sent / n, received: c.received / n };
}

export async function benchSecAgg(options: { quick?: boolean } = {}): Promise<SectionRow[]> {
  const quick = options.quick ?? false;
  const fullUpTo = quick ? 100 : 1000;
  const sample = quick ? 100 : 300;
  const rows: SectionRow[] = [];
  for (const K of [100, 1000, 10_000]) {
    const { neighbours: k, threshold: t } = graphParameters(K, { dropout: DROPOUT });
    const sampled = K > fullUpTo;
    const n = sampled ? sample : K;
    const clients = Array.from({ length: n }, (_, i) => i);
    const rng = new Random(K);
    const updates = new Map(clients.map((u) => [u, Float32Array.from({ length: D }, () => (rng.next() - 0.5) * 0.01)]));
    const drop = new Set(clients.filter(() => rng.next() < DROPOUT));
    const t0 = performance.now();
    const co = new SecAggCoordinator({ round: 0, clients, dim: D, clipNorm: 1, neighbours: k, threshold: t });
    const build = performance.now() - t0;
    const { result, stats } = await runLocalRound(co, { updates, dropBeforeMask: drop });
    const stages = {
      advertise: perClient(stats.advertise),
      share: perClient(stats.share),
      mask: perClient(stats.mask),
      unmask: perClient(stats.unmask),
    };
    const clientMs = Object.values(stages).reduce((s, c) => s + c.ms, 0);
    const serverMs = ((stats.serverMs + build) * K) / n;
    const fmt = (c: { ms: number; sent: number; received: number }) =>
      `${c.ms.toFixed(2)} ms, ${(c.sent / 1024).toFixed(1)}/${(c.received / 1024).toFixed(1)} KiB`;
    rows.push({
      name: `secagg+ K=${K} D=${D} 10% dropout: client ms per round`,
      medianMs: clientMs,
      detail:
        `k=${k} t=${t}; advertise ${fmt(stages.advertise)}; shares ${fmt(stages.share)}; ` +
        `masking ${fmt(stages.mask)}; unmask ${fmt(stages.unmask)} (sent/received); ` +
        `server ${(serverMs / 1000).toFixed(2)} s${sampled ? ' extrapolated' : ''} ` +
        `(finish ${(stats.finishMs * (K / n)).toFixed(0)} ms); ${result.survivors.length}/${n} survivors` +
        (sampled ? `; per-client costs sampled on a full ${n}-client round with K's k and t` : ''),
      values: {
        clients: K,
        dim: D,
        neighbours: k,
        threshold: t,
        sampled: sampled ? n : 0,
        serverMs,
        ...Object.fromEntries(
          Object.entries(stages).flatMap(([s, c]) => [
            [`${s}Ms`, c.ms],
            [`${s}BytesSent`, c.sent],
            [`${s}BytesReceived`, c.received],
          ]),
        ),
      },
    });
  }
  return rows;
}
