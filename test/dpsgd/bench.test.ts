// benchDpsgd measures both step kinds on the model's shape and refuses bad arguments.
import { describe, expect, it } from 'vitest';
import { benchDpsgd } from '../../src/bench/dpsgd.js';

describe('benchDpsgd', () => {
  it('returns positive private and non-private step times and their ratio', async () => {
    const r = await benchDpsgd({ model: 'linear', batchSize: 16, steps: 2 });
    expect(r.msPerStepPrivate).toBeGreaterThan(0);
    expect(r.msPerStepNonPrivate).toBeGreaterThan(0);
    expect(r.ratio).toBeCloseTo(r.msPerStepPrivate / r.msPerStepNonPrivate, 12);
    expect(r.params).toBe(2 ** 18 * 2 + 2);
    // The gap split: the secure noise draw alone, and the ratio of everything else.
    expect(r.msNoise).toBeGreaterThan(0);
    expect(r.ratioWithoutNoise).toBeCloseTo((r.msPerStepPrivate - r.msNoise) / r.msPerStepNonPrivate, 12);
    expect(r.msPerStepPrivateReproducible).toBeGreaterThan(0);
    expect(r.ratioReproducible).toBeCloseTo(r.msPerStepPrivateReproducible / r.msPerStepNonPrivate, 12);
    expect(r.msPerStepPrivatePrefetch).toBeGreaterThan(0);
    expect(r.ratioPrefetch).toBeCloseTo(r.msPerStepPrivatePrefetch / r.msPerStepNonPrivate, 12);
    // The naive baseline: per-example gradients materialised (16 × 524 290 floats fit).
    expect(r.msPerStepMaterialised!).toBeGreaterThan(0);
    expect(r.speedupVsMaterialised).toBeCloseTo(r.msPerStepMaterialised! / r.msPerStepPrivate, 12);
    expect(r.materialisedSkipped).toBeUndefined();
  });

  it('skips the naive baseline, saying why, when per-example gradients would not fit in 1 GiB', async () => {
    // 16 × 16 781 506 floats = 1.0002 GiB.
    const r = await benchDpsgd({ model: 'text', batchSize: 16, steps: 1 });
    expect(r.msPerStepMaterialised).toBeNull();
    expect(r.speedupVsMaterialised).toBeNull();
    expect(r.materialisedSkipped).toBe('per-example gradients would take 1.00 GiB (limit 1 GiB)');
    expect(r.msPerStepPrivate).toBeGreaterThan(0);
  });

  it('measures the peer shape EmbeddingBag(vocab, dim) + Linear(dim, 2) at the vocab and dim asked', async () => {
    const r = await benchDpsgd({ model: 'embedding-bag', batchSize: 8, steps: 1, vocab: 1000, dim: 8 });
    expect(r.params).toBe(1000 * 8 + 8 * 2 + 2);
    expect(r.msPerStepPrivate).toBeGreaterThan(0);
    expect(r.msPerStepMaterialised!).toBeGreaterThan(0);
  });

  it('times DP-AdaFEST at the σ, σ₁/σ₂ and τ asked and reports them', async () => {
    const args = {
      model: 'embedding-bag',
      batchSize: 8,
      steps: 1,
      vocab: 1000,
      dim: 8,
      sparseEmbeddings: true,
    } as const;
    const r = await benchDpsgd({ ...args, noiseMultiplier: 1.77, sparseRatio: 2, sparseThreshold: 1e30 });
    expect(r.sparse!.ratio1).toBe(2);
    expect(r.sparse!.threshold).toBe(1e30);
    expect(r.sparse!.selectedRowsPerStep).toBe(0);
    const all = await benchDpsgd({ ...args, sparseThreshold: -1e30 });
    expect(all.sparse!.selectedRowsPerStep).toBe(1000);
  });

  it('times DP-FEST steps on the fixed rows asked (capped at the table)', async () => {
    const args = { model: 'embedding-bag', batchSize: 8, steps: 1, vocab: 1000, dim: 8 } as const;
    const r = await benchDpsgd({ ...args, frequentRows: 50 });
    expect(r.fest!.rows).toBe(50);
    expect(r.fest!.tableRows).toBe(1000);
    expect(r.fest!.ratio).toBeCloseTo(r.fest!.msPerStepPrivate / r.msPerStepNonPrivate, 12);
    expect((await benchDpsgd({ ...args, frequentRows: 5000 })).fest!.rows).toBe(1000);
    await expect(benchDpsgd({ ...args, frequentRows: 0 })).rejects.toThrow('frequentRows must be a positive integer');
  });

  it('refuses bad arguments', async () => {
    await expect(benchDpsgd({ model: 'mlp', batchSize: 4, steps: 1, noiseMultiplier: 0 })).rejects.toThrow(
      'noiseMultiplier must be a positive finite number, received 0',
    );
    await expect(benchDpsgd({ model: 'cnn' as never, batchSize: 4, steps: 1 })).rejects.toThrow(
      'model must be "linear", "mlp", "text" or "embedding-bag", received "cnn"',
    );
    await expect(benchDpsgd({ model: 'embedding-bag', batchSize: 4, steps: 1, vocab: 0 })).rejects.toThrow(
      'vocab must be a positive integer, received 0',
    );
    await expect(benchDpsgd({ model: 'mlp', batchSize: 0, steps: 1 })).rejects.toThrow(
      'batchSize must be a positive integer, received 0',
    );
    await expect(benchDpsgd({ model: 'mlp', batchSize: 4, steps: 1.5 })).rejects.toThrow(
      'steps must be a positive integer, received 1.5',
    );
  });
});
