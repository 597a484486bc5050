// `dpfl epsilon`: ε of DP-SGD with Poisson sampling, by the RDP or PLD accountant.
import { computeEpsilon, poissonSampledGaussian, type AccountantKind } from '../../accounting/index.js';
import { parseCommandArgs, stringOptions, type Command } from '../command.js';
import { invalidOption, optionParser } from '../options.js';

const HELP = `usage: dpfl epsilon --sample-rate Q --noise SIGMA --steps T --delta D [--accountant rdp|pld] [--json]
       dpfl epsilon --epochs E --dataset-size N --batch-size B --noise SIGMA --delta D [...]

Prints ε such that T steps of the Poisson-subsampled Gaussian mechanism (sampling rate Q, noise
multiplier SIGMA = noise std / clipping norm) are (ε, δ)-DP under add/remove-one neighbours.
  --accountant rdp   Rényi DP, tightest conversion, reports the optimal order (default)
  --accountant pld   privacy loss distribution; reports the interval [lower, upper] containing the
                     true ε and prints upper as ε; --discretization sets the finest grid (default
                     1e-4; coarsened so the grid keeps ≤ 2^20 points). Q = 1 is answered in closed
                     form; where the RDP bound is smaller, or PLD cannot bound ε, ε is the RDP
                     bound and the output says so ("method": "rdp", "fallback": reason)
  --epochs E --dataset-size N --batch-size B   instead of Q and T: Q = B/N, T = ceil(E·N/B)
  --json             one JSON object: { epsilon, accountant, method, fallback?, delta, sampleRate,
                     noiseMultiplier, steps, optimalOrder | epsilonLower, epsilonUpper, discretization }
                     (epsilon is null only when no finite bound is known; fallback then says why)`;

/** Options shared by `dpfl epsilon` and `dpfl calibrate`. */
export const DPSGD_OPTIONS = stringOptions(
  'sample-rate',
  'steps',
  'epochs',
  'dataset-size',
  'batch-size',
  'delta',
  'accountant',
  'discretization',
);

const { fail, where, positive, integer, openUnit } = optionParser('math');

/** δ as people write it: 1e-5 rather than 0.00001. */
export function formatDelta(delta: number): string {
  return delta < 1e-3 ? delta.toExponential() : String(delta);
}

export interface DpsgdArgs {
  sampleRate: number;
  steps: number;
  delta: number;
  accountant: AccountantKind;
  discretization: number | undefined;
}

/** Reads q and T (directly, or from epochs, dataset size and batch size), δ and the accountant. */
export function dpsgdArgs(values: Record<string, string | boolean | undefined>): DpsgdArgs {
  const str = (k: string) => {
    const v = values[k];
    return typeof v === 'string' ? v : undefined;
  };
  const delta = openUnit('delta', str('delta'));
  const accountant = str('accountant') ?? 'rdp';
  if (accountant !== 'rdp' && accountant !== 'pld') {
    throw invalidOption('accountant', '"rdp" or "pld"', accountant, 'math');
  }
  const discretization =
    str('discretization') === undefined
      ? undefined
      : where('discretization', str('discretization'), undefined, (d) => d > 0 && d <= 0.1, 'in (0, 0.1]');
  const byEpochs = str('epochs') !== undefined || str('dataset-size') !== undefined || str('batch-size') !== undefined;
  let sampleRate: number;
  let steps: number;
  if (byEpochs) {
    if (str('sample-rate') !== undefined || str('steps') !== undefined) {
      fail(
        'epochs',
        'used without --sample-rate and --steps (give either Q and T, or epochs, dataset size and batch size)',
        str('epochs'),
      );
    }
    const epochs = positive('epochs', str('epochs'));
    const n = integer('dataset-size', str('dataset-size'), undefined, 1);
    const b = integer('batch-size', str('batch-size'), undefined, 1);
    if (b > n) fail('batch-size', `at most --dataset-size (${n})`, b);
    sampleRate = b / n;
    // TF Privacy's convention (compute_dp_sgd_privacy): T = ceil(epochs · N / B).
    steps = Math.ceil(epochs * (n / b) - 1e-9);
  } else {
    sampleRate = where('sample-rate', str('sample-rate'), undefined, (q) => q > 0 && q <= 1, 'in (0, 1]');
    steps = integer('steps', str('steps'), undefined, 1);
  }
  return { sampleRate, steps, delta, accountant, discretization };
}

export const epsilon: Command = {
  async run(argv) {
    const { values } = parseCommandArgs(argv, { ...DPSGD_OPTIONS, noise: { type: 'string' } });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const noiseMultiplier = positive('noise', values.noise);
    const a = dpsgdArgs(values);
    const event = poissonSampledGaussian({ noiseMultiplier, sampleRate: a.sampleRate });
    const r = computeEpsilon([{ event, count: a.steps }], a.delta, {
      accountant: a.accountant,
      ...(a.discretization !== undefined ? { discretization: a.discretization } : {}),
    });
    const out = {
      epsilon: r.epsilon,
      accountant: r.accountant,
      method: r.method,
      ...(r.fallback !== undefined ? { fallback: r.fallback } : {}),
      delta: a.delta,
      sampleRate: a.sampleRate,
      noiseMultiplier,
      steps: a.steps,
      ...(r.optimalOrder !== undefined ? { optimalOrder: r.optimalOrder } : {}),
      ...(r.accountant === 'pld'
        ? {
            epsilonLower: r.epsilonLower,
            epsilonUpper: r.epsilonUpper,
            ...(r.discretization !== undefined ? { discretization: r.discretization } : {}),
          }
        : {}),
    };
    if (values.json) {
      console.log(JSON.stringify(out));
      return 0;
    }
    const head = `ε = ${r.epsilon.toPrecision(6)} at δ = ${formatDelta(a.delta)}`;
    const what = `${a.steps} steps of the Poisson-subsampled Gaussian (q = ${a.sampleRate.toPrecision(6)}, σ = ${noiseMultiplier})`;
    const fallback = r.fallback !== undefined ? `; ${r.accountant.toUpperCase()} fell back: ${r.fallback}` : '';
    const order = r.optimalOrder?.toPrecision(6);
    if (r.method === 'rdp') console.log(`${head} (RDP, optimal order ${order}${fallback}) for ${what}`);
    else if (r.method === 'closed-form') {
      console.log(`${head} (exact, closed form of the composed Gaussian) for ${what}`);
    } else
      console.log(
        `${head} (PLD upper bound; ` +
          `true ε in [${r.epsilonLower?.toPrecision(6)}, ${r.epsilonUpper?.toPrecision(6)}], ` +
          `discretization ${r.discretization?.toPrecision(4)}${fallback}) for ${what}`,
      );
    return 0;
  },
};
