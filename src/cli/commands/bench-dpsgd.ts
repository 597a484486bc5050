// `dpfl bench dpsgd`: private vs non-private step time of a built-in model, in one process, on
// synthetic data of the model's shape.
import { benchDpsgd } from '../../bench/dpsgd.js';
import { parseCommandArgs } from '../command.js';
import { invalidOption, optionParser } from '../options.js';

const HELP = `usage: dpfl bench dpsgd [--model linear|mlp|text|embedding-bag] [--vocab 50000] [--dim 64]
                       [--batch-size 256] [--steps 20] [--noise-multiplier 1]
                       [--sparse-embeddings [--sparse-ratio 1] [--sparse-threshold 5]]
                       [--frequent-rows K] [--json]

Times private steps (ghost clipping, secure noise, accounting) and non-private steps of the same
model and batch size in this process and prints both and their ratio. --model embedding-bag is an
EmbeddingBag(vocab, dim, mean) + Linear(dim, 2) on bags of 256 tokens: the shape on which peers
(Opacus) are usually measured; --vocab and --dim size it. --sparse-embeddings (text, linear,
embedding-bag) also times DP-AdaFEST steps (noise only on the embedding rows a noisy contribution
map selects; σ₁/σ₂ = --sparse-ratio, τ = --sparse-threshold, C₁ = 1) and reports the rows selected
per step. --frequent-rows K also times DP-FEST steps: noise on K fixed rows (the most frequent of the
data, chosen once) and the dense layers. --noise-multiplier sets σ of every private step.`;

const { integer, positive, where } = optionParser('prose');

export async function runBenchDpsgd(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    model: { type: 'string', default: 'mlp' },
    'batch-size': { type: 'string' },
    steps: { type: 'string' },
    vocab: { type: 'string' },
    dim: { type: 'string' },
    'sparse-embeddings': { type: 'boolean' },
    'noise-multiplier': { type: 'string' },
    'sparse-ratio': { type: 'string' },
    'sparse-threshold': { type: 'string' },
    'frequent-rows': { type: 'string' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const model = values.model ?? 'mlp';
  if (model !== 'linear' && model !== 'mlp' && model !== 'text' && model !== 'embedding-bag') {
    throw invalidOption('model', 'linear, mlp, text or embedding-bag', model, 'prose');
  }
  if (model !== 'embedding-bag' && (values.vocab !== undefined || values.dim !== undefined)) {
    throw invalidOption('vocab', 'given only with --model embedding-bag', values.vocab ?? values.dim, 'prose');
  }
  const batchSize = integer('batch-size', values['batch-size'], 256, 1);
  const steps = integer('steps', values.steps, 20, 1);
  const vocab = integer('vocab', values.vocab, 50_000, 1);
  const dim = integer('dim', values.dim, 64, 1);
  const sparseEmbeddings = values['sparse-embeddings'] === true;
  if (sparseEmbeddings && model === 'mlp') {
    throw invalidOption('sparse-embeddings', 'given only with --model text, linear or embedding-bag', 'mlp', 'prose');
  }
  for (const name of ['sparse-ratio', 'sparse-threshold'] as const) {
    if (!sparseEmbeddings && values[name] !== undefined) {
      throw invalidOption(name, 'given only with --sparse-embeddings', values[name], 'prose');
    }
  }
  const noiseMultiplier = positive('noise-multiplier', values['noise-multiplier'], 1);
  const sparseRatio = positive('sparse-ratio', values['sparse-ratio'], 1);
  const sparseThreshold = where('sparse-threshold', values['sparse-threshold'], 5, Number.isFinite, 'a finite number');
  const frequentRows =
    values['frequent-rows'] === undefined ? undefined : integer('frequent-rows', values['frequent-rows'], 1, 1);
  if (frequentRows !== undefined && model === 'mlp') {
    throw invalidOption('frequent-rows', 'given only with --model text, linear or embedding-bag', 'mlp', 'prose');
  }
  const r = await benchDpsgd({
    ...(frequentRows !== undefined ? { frequentRows } : {}),
    noiseMultiplier,
    model,
    batchSize,
    steps,
    ...(model === 'embedding-bag' ? { vocab, dim } : {}),
    ...(sparseEmbeddings ? { sparseEmbeddings, sparseRatio, sparseThreshold } : {}),
  });
  if (values.json) {
    console.log(JSON.stringify(r));
  } else {
    console.log(`${model}, batch ${batchSize}, ${r.params} parameters, ${steps} steps each`);
    console.log(`  private     ${r.msPerStepPrivate.toFixed(2)} ms/step`);
    console.log(`  non-private ${r.msPerStepNonPrivate.toFixed(2)} ms/step`);
    console.log(`  ratio       ${r.ratio.toFixed(2)}`);
    console.log(
      `  of which secure noise ${r.msNoise.toFixed(2)} ms: ratio without it ${r.ratioWithoutNoise.toFixed(2)}`,
    );
    console.log(
      `  with reproducible (Philox) noise ${r.msPerStepPrivateReproducible.toFixed(2)} ms/step, ratio ${r.ratioReproducible.toFixed(2)}`,
    );
    console.log(
      `  with prefetched secure noise ${r.msPerStepPrivatePrefetch.toFixed(2)} ms/step, ratio ${r.ratioPrefetch.toFixed(2)}`,
    );
    console.log(
      r.msPerStepMaterialised === null
        ? `  naive (materialised per-example gradients): skipped, ${r.materialisedSkipped}`
        : `  naive (materialised per-example gradients) ${r.msPerStepMaterialised.toFixed(2)} ms/step: ghost clipping ${r.speedupVsMaterialised!.toFixed(1)}x faster`,
    );
    if (r.fest !== undefined) {
      const f = r.fest;
      console.log(
        `  DP-FEST on ${f.rows} of ${f.tableRows} rows ${f.msPerStepPrivate.toFixed(2)} ms/step, ratio ${f.ratio.toFixed(2)}`,
      );
    }
    if (r.sparse !== undefined) {
      const s = r.sparse;
      console.log(
        `  sparse embeddings (DP-AdaFEST, σ₁/σ₂ ${s.ratio1}, τ ${s.threshold}) ${s.msPerStepPrivate.toFixed(2)} ms/step, ratio ${s.ratio.toFixed(2)}; ${s.selectedRowsPerStep.toFixed(1)} of ${s.tableRows} rows noised per step`,
      );
    }
  }
  return 0;
}
