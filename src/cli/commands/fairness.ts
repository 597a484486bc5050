// `dpfl fairness`: DP's disparate impact, the counterfactual gap and (with --fl) client selection's, measured on
// dpfl train's models with every metric's bootstrap interval (issue 17 items 5, 6 and 8; docs/fairness.md).
import { writeFileSync } from 'node:fs';
import { flagOptions, parseCommandArgs, stringOptions, type Command, usageError } from '../command.js';
import { type AgreementResult, metricAgreement } from '../../fairness/agreement.js';
import { loadFirstNamePairs } from '../../fairness/first-names.js';
import { optionParser } from '../options.js';
import { ProgressLine } from '../progress.js';
import {
  dpExperiment,
  type FairnessDataset,
  flExperiment,
  type FlSelectionResult,
  loadFairnessData,
  type SettingResult,
} from './fairness-experiment.js';
import { fairnessSvg, type PlotPanel, type PlotPoint } from './fairness-svg.js';

const HELP = `usage: dpfl fairness [--dataset spam|mnist] [--epsilon 1,3,8] [--seeds 3] [--epochs N] [--examples N]
                     [--augment gender-swap] [--names] [--fl [--rounds 20] [--per-round 10]]
                     [--bootstrap 1000] [--plot FILE.svg] [--json]

Measures DP's disparate impact (Bagdasaryan, Poursaeed and Shmatikov, NeurIPS 2019): trains dpfl train's
default model of the dataset (spam: the text model; mnist: the mlp) at each --epsilon and without DP, --seeds
seeds each (seeds 1..S), and reports per-group test accuracy, TPR, FPR, the demographic-parity and
equalised-odds differences and the worst group's accuracy, each with a 95% percentile bootstrap interval
(--bootstrap resamples, stratified by group; docs/fairness.md). Groups: spam — easy ham / hard ham / spam and
the sender domain's activity (messages per domain: 1, 2–9, 10–99, ≥100); mnist — the ten classes.
spam also reports the counterfactual gender-swap gap (mean |Δp| and flip rate over test messages with a
gendered word, bootstrap intervals), WEAT of the model's embedding (male vs female terms against spam vs ham
words) and their agreement over the runs (Pearson r, Spearman ρ, permutation p-values; Cao et al., ACL 2022).
--names (spam) swaps first names too in the counterfactual gap (the optional @stdlib first-name packages).
--augment gender-swap trains with gender-swap augmentation (one example per original message: ε unchanged).
--fl (spam) adds non-private FedAvg over the sender domains with uniform and activity-based selection, test
accuracy per activity bucket of the message's sender. --epochs and --examples (a seeded subsample) make runs
shorter. Progress on stderr; --json prints one JSON object; --plot writes an SVG of per-group accuracy (and the
counterfactual gap) against ε. Runs are seeded: experiments, not deployments.`;

const { fail, integer, positive, choice } = optionParser('prose');

export interface FairnessArgs {
  dataset: FairnessDataset;
  epsilons: number[];
  seeds: number;
  epochs?: number;
  examples?: number;
  augment: boolean;
  names: boolean;
  fl: boolean;
  rounds: number;
  perRound: number;
  bootstrap: number;
  plot?: string;
  json: boolean;
  help: boolean;
}

export function parseFairnessArgs(argv: string[]): FairnessArgs {
  const { values } = parseCommandArgs(argv, {
    ...stringOptions('dataset', 'epsilon', 'seeds', 'epochs', 'examples', 'augment', 'rounds', 'per-round'),
    ...stringOptions('bootstrap', 'plot'),
    ...flagOptions('fl', 'names'),
  });
  const dataset = choice<FairnessDataset>('dataset', values.dataset, ['spam', 'mnist'], 'spam');
  const raw = values.epsilon ?? '1,3,8';
  const epsilons = raw.split(',').map((s) => Number(s.trim()));
  if (raw.trim() === '' || epsilons.some((e) => !(Number.isFinite(e) && e > 0))) {
    fail('epsilon', 'a comma-separated list of positive numbers', raw);
  }
  if (values.augment !== undefined) {
    choice('augment', values.augment, ['gender-swap'] as const, 'gender-swap');
    if (dataset !== 'spam') fail('augment', 'used with --dataset spam (a text dataset)', dataset);
  }
  if (values.names && dataset !== 'spam') fail('names', 'used with --dataset spam (a text dataset)', dataset);
  if (values.fl && dataset !== 'spam') fail('fl', 'used with --dataset spam (sender domains are its clients)', dataset);
  for (const flag of ['rounds', 'per-round'] as const) {
    if (!values.fl && values[flag] !== undefined) fail(flag, 'given only with --fl', values[flag]);
  }
  if (values.plot !== undefined && !values.plot.endsWith('.svg'))
    fail('plot', 'a file name ending in .svg', values.plot);
  return {
    dataset,
    epsilons: [...new Set(epsilons)].sort((a, b) => a - b),
    seeds: integer('seeds', values.seeds, 3, 1),
    ...(values.epochs !== undefined ? { epochs: positive('epochs', values.epochs) } : {}),
    ...(values.examples !== undefined ? { examples: integer('examples', values.examples, undefined, 20) } : {}),
    augment: values.augment !== undefined,
    names: values.names === true,
    fl: values.fl === true,
    rounds: integer('rounds', values.rounds, 20, 1),
    perRound: integer('per-round', values['per-round'], 10, 1),
    bootstrap: integer('bootstrap', values.bootstrap, 1000, 0),
    ...(values.plot !== undefined ? { plot: values.plot } : {}),
    json: values.json,
    help: values.help,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const settingName = (e: number | null) => (e === null ? 'no DP' : `ε = ${e}`);

/** Seed means of a group's accuracy and of its bootstrap bounds, per grouping, group and setting. */
function accuracySummary(settings: SettingResult[], grouping: string): { group: string; points: PlotPoint[] }[] {
  const first = settings[0]!.seeds[0]!.groups[grouping]!;
  return first.groups.map((g, k) => ({
    group: g.name,
    points: settings.map((s) => {
      const acc = s.seeds.map((r) => r.groups[grouping]!.groups[k]!.accuracy);
      return {
        value: mean(acc.map((a) => a.value)),
        lower: mean(acc.map((a) => a.lower)),
        upper: mean(acc.map((a) => a.upper)),
      };
    }),
  }));
}

function gapSummary(settings: SettingResult[], key: 'meanAbsDelta' | 'flipRate'): PlotPoint[] {
  return settings.map((s) => {
    const c = s.seeds.map((r) => r.counterfactual![key]);
    return {
      value: mean(c.map((a) => a.value)),
      lower: mean(c.map((a) => a.lower)),
      upper: mean(c.map((a) => a.upper)),
    };
  });
}

function flSummary(fl: FlSelectionResult[]) {
  return fl.map((f) => ({
    selection: f.selection,
    accuracy: mean(f.seeds.map((s) => s.accuracy)),
    groups: f.seeds[0]!.groups.groups.map((g, k) => {
      const acc = f.seeds.map((s) => s.groups.groups[k]!.accuracy);
      return {
        group: g.name,
        n: g.n,
        value: mean(acc.map((a) => a.value)),
        lower: mean(acc.map((a) => a.lower)),
        upper: mean(acc.map((a) => a.upper)),
      };
    }),
  }));
}

/**
 * Agreement of WEAT (intrinsic: the embedding) and the counterfactual mean |Δp| (extrinsic: the classifier)
 * over every run (ε × seed), as Cao et al. (ACL 2022) report it; undefined with fewer than 3 runs measured.
 */
export function intrinsicExtrinsicAgreement(settings: SettingResult[]): AgreementResult | undefined {
  const runs = settings.flatMap((s) => s.seeds).filter((r) => r.weat !== undefined && r.counterfactual !== undefined);
  const pairs = runs.filter((r) => Number.isFinite(r.weat!.effectSize));
  if (pairs.length < 3) return undefined;
  return metricAgreement(
    pairs.map((r) => r.weat!.effectSize),
    pairs.map((r) => r.counterfactual!.meanAbsDelta.value),
    { permutations: 10_000, seed: 0 },
  );
}

const pct = (v: number) => (Number.isFinite(v) ? (100 * v).toFixed(1) : '-');
const cell = (p: PlotPoint) => `${pct(p.value)} [${pct(p.lower)}, ${pct(p.upper)}]`;

export const fairness: Command = {
  async run(argv) {
    let args: FairnessArgs;
    try {
      args = parseFairnessArgs(argv);
    } catch (e) {
      return usageError('fairness', e);
    }
    if (args.help) {
      console.log(HELP);
      return 0;
    }
    const progress = new ProgressLine({ label: 'dpfl fairness' });
    progress.status(`loading ${args.dataset}`);
    const fd = loadFairnessData(args.dataset, args.examples);
    const names = args.names ? loadFirstNamePairs() : undefined;
    const settings = await dpExperiment(fd, {
      epsilons: args.epsilons,
      seeds: args.seeds,
      augment: args.augment,
      bootstrap: args.bootstrap,
      progress,
      ...(names !== undefined ? { names } : {}),
      ...(args.epochs !== undefined ? { epochs: args.epochs } : {}),
    });
    const fl = args.fl
      ? await flExperiment(
          { seeds: args.seeds, rounds: args.rounds, perRound: args.perRound, bootstrap: args.bootstrap },
          progress,
        )
      : undefined;
    progress.finish();
    const groupings = fd.groupings.map((g) => g.name);
    const agreement = intrinsicExtrinsicAgreement(settings);
    const summary = {
      settings: settings.map((s) => settingName(s.epsilon)),
      accuracy: settings.map((s) => mean(s.seeds.map((r) => r.accuracy))),
      groups: Object.fromEntries(groupings.map((g) => [g, accuracySummary(settings, g)])),
      ...(fd.texts !== undefined
        ? {
            counterfactual: {
              meanAbsDelta: gapSummary(settings, 'meanAbsDelta'),
              flipRate: gapSummary(settings, 'flipRate'),
            },
          }
        : {}),
      ...(agreement !== undefined ? { agreement } : {}),
      ...(fl ? { fl: flSummary(fl) } : {}),
    };
    if (args.plot !== undefined) {
      const xLabels = summary.settings;
      const panels: PlotPanel[] = groupings.map((g) => ({
        title: `${fd.name}: accuracy by ${g}`,
        yLabel: 'test accuracy',
        xLabels,
        series: summary.groups[g]!.map((s) => ({ label: s.group, points: s.points })),
      }));
      if (summary.counterfactual) {
        panels.push({
          title: `${fd.name}: counterfactual gender-swap gap`,
          yLabel: 'mean |Δp| / flip rate',
          xLabels,
          series: [
            { label: 'mean |Δp|', points: summary.counterfactual.meanAbsDelta },
            { label: 'flip rate', points: summary.counterfactual.flipRate },
          ],
        });
      }
      writeFileSync(args.plot, fairnessSvg(panels));
    }
    const report = {
      dataset: fd.name,
      examples: fd.data.size,
      seeds: args.seeds,
      epochs: args.epochs ?? null,
      augment: args.augment ? 'gender-swap' : null,
      names: names === undefined ? null : { pairs: names.pairs.length },
      bootstrap: { resamples: args.bootstrap, confidence: 0.95 },
      summary,
      runs: settings,
      ...(fl ? { fl } : {}),
    };
    if (args.json) {
      console.log(JSON.stringify(report));
      return 0;
    }
    console.log(
      `${fd.name}: ${fd.data.size} examples, ${args.seeds} seeds${args.augment ? ', gender-swap augmentation' : ''}` +
        `${names ? `, first names swapped (${names.pairs.length} pairs)` : ''}`,
    );
    console.log('test accuracy (%), seed means of the value and of the 95% bootstrap bounds');
    console.log(`${'group'.padEnd(24)}${summary.settings.map((s) => s.padEnd(22)).join('')}`);
    console.log(`${'all'.padEnd(24)}${summary.accuracy.map((a) => pct(a).padEnd(22)).join('')}`);
    for (const g of groupings) {
      for (const s of summary.groups[g]!)
        console.log(`${s.group.padEnd(24)}${s.points.map((p) => cell(p).padEnd(22)).join('')}`);
    }
    if (summary.counterfactual) {
      const c = summary.counterfactual;
      console.log(`${'cf mean |Δp| (×100)'.padEnd(24)}${c.meanAbsDelta.map((p) => cell(p).padEnd(22)).join('')}`);
      console.log(`${'cf flip rate (%)'.padEnd(24)}${c.flipRate.map((p) => cell(p).padEnd(22)).join('')}`);
    }
    if (agreement !== undefined) {
      const a = agreement;
      const p = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-');
      console.log(
        `WEAT d vs cf mean |Δp| over ${a.runs} runs (ε × seed): ` +
          `Pearson r ${p(a.pearson)} (p ${p(a.pValue.pearson)}), ` +
          `Spearman ρ ${p(a.spearman)} (p ${p(a.pValue.spearman)}; ${a.pValueMethod} permutation test)`,
      );
    }
    for (const f of summary.fl ?? []) {
      console.log(`FL ${f.selection} selection: accuracy ${pct(f.accuracy)}%`);
      for (const g of f.groups) console.log(`  ${g.group.padEnd(12)} n ${String(g.n).padEnd(5)} ${cell(g)}`);
    }
    if (args.plot !== undefined) console.log(`plot written to ${args.plot}`);
    return 0;
  },
};
