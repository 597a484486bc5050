// The sections of the bench beyond the kernel grid: privacy accounting (issue 5), DP-SGD step
// times private vs non-private (issue 6), federated aggregation (issue 7) and clipping of
// per-variable blocks against an interleave copy (issue 15), SecAgg+ rounds and a load test of the network server (issue 16). Each section is
// timed by its own module; a failure is recorded in the document, not thrown.
import { benchAccounting } from './accounting.js';
import { benchBlocks } from './blocks.js';
import { benchDpsgd } from './dpsgd.js';
import { benchFl } from './fl.js';
import { benchSecAgg } from './secagg.js';
import { benchServe } from './serve.js';
import type { SectionRow } from './report.js';

export type SectionName = 'accounting' | 'dpsgd' | 'fl' | 'blocks' | 'secagg' | 'serve';
export const SECTIONS: readonly SectionName[] = ['accounting', 'dpsgd', 'fl', 'blocks', 'secagg', 'serve'];

/** The DP-FEST rows kept per model in the section (the settings of the spam utility table). */
const FEST_ROWS: Partial<Record<'linear' | 'mlp' | 'text', number>> = { linear: 5000, text: 2000 };

async function dpsgdRows(quick: boolean): Promise<SectionRow[]> {
  const rows: SectionRow[] = [];
  for (const model of ['linear', 'mlp', 'text'] as const) {
    // DP-FEST beside the dense step on the embedding models (issue 18's targets: text ≤ 1.2, linear ≤ 1.3).
    const frequentRows = FEST_ROWS[model];
    const r = await benchDpsgd({
      model,
      batchSize: 256,
      steps: quick ? 5 : 20,
      ...(frequentRows === undefined ? {} : { frequentRows }),
    });
    const fest = r.fest === undefined ? '' : `; DP-FEST on ${r.fest.rows} rows ratio ${r.fest.ratio.toFixed(2)}`;
    rows.push({
      name: `dpsgd ${model} batch 256 (${r.params} params) private step`,
      medianMs: r.msPerStepPrivate,
      detail:
        `non-private ${r.msPerStepNonPrivate.toFixed(2)} ms, ratio ${r.ratio.toFixed(2)}; ` +
        `secure noise ${r.msNoise.toFixed(2)} ms (ratio without it ${r.ratioWithoutNoise.toFixed(2)}); ` +
        `Philox noise ratio ${r.ratioReproducible.toFixed(2)}; ` +
        `prefetched noise ${r.msPerStepPrivatePrefetch.toFixed(2)} ms (ratio ${r.ratioPrefetch.toFixed(2)}); ` +
        (r.speedupVsMaterialised === null
          ? 'naive baseline skipped (memory)'
          : `${r.speedupVsMaterialised.toFixed(1)}x faster than materialised per-example gradients`) +
        fest,
      values: {
        msPerStepNonPrivate: r.msPerStepNonPrivate,
        ratio: r.ratio,
        msNoise: r.msNoise,
        ratioWithoutNoise: r.ratioWithoutNoise,
        msPerStepPrivateReproducible: r.msPerStepPrivateReproducible,
        ratioReproducible: r.ratioReproducible,
        msPerStepPrivatePrefetch: r.msPerStepPrivatePrefetch,
        ratioPrefetch: r.ratioPrefetch,
        ...(r.msPerStepMaterialised === null
          ? {}
          : { msPerStepMaterialised: r.msPerStepMaterialised, speedupVsMaterialised: r.speedupVsMaterialised! }),
        ...(r.fest === undefined
          ? {}
          : { festRows: r.fest.rows, msPerStepFest: r.fest.msPerStepPrivate, ratioFest: r.fest.ratio }),
      },
    });
  }
  return rows;
}

/** The rows of one section, or { error } when its measurement failed. */
export async function sectionRows(name: SectionName, quick: boolean): Promise<SectionRow[] | { error: string }> {
  try {
    if (name === 'accounting') return await benchAccounting({ quick });
    if (name === 'dpsgd') return await dpsgdRows(quick);
    if (name === 'blocks') return await benchBlocks({ quick });
    if (name === 'secagg') return await benchSecAgg({ quick });
    if (name === 'serve') return await benchServe({ quick });
    return await benchFl({ quick });
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}
