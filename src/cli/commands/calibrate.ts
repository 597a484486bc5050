// `dpfl calibrate`: the smallest noise multiplier meeting a target (ε, δ) for DP-SGD.
import { calibrateNoiseMultiplier } from '../../accounting/index.js';
import { parseCommandArgs, type Command } from '../command.js';
import { optionParser } from '../options.js';
import { DPSGD_OPTIONS, dpsgdArgs, formatDelta } from './epsilon.js';

const HELP = `usage: dpfl calibrate --epsilon E --delta D --sample-rate Q --steps T [--accountant rdp|pld] [--json]
       dpfl calibrate --epsilon E --delta D --epochs N --dataset-size N --batch-size B [...]

Prints the smallest noise multiplier σ (noise std / clipping norm) such that T steps of the
Poisson-subsampled Gaussian at rate Q are (E, D)-DP by the chosen accountant (default rdp).
The returned σ meets the target (its ε ≤ E) and is within --tolerance (relative, default 1e-3)
of the smallest σ that does.
  --json   one JSON object: { noiseMultiplier, epsilon, targetEpsilon, delta, sampleRate, steps,
           accountant, method, fallback?, tolerance } (method: what gave ε at the returned σ —
           'closed-form' at Q = 1, 'pld', or 'rdp'; fallback: why, when not the accountant's own)`;

const { positive, where } = optionParser('math');

export const calibrate: Command = {
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      ...DPSGD_OPTIONS,
      epsilon: { type: 'string' },
      tolerance: { type: 'string' },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const target = positive('epsilon', values.epsilon);
    const tolerance = where('tolerance', values.tolerance, 1e-3, (t) => t > 0 && t <= 0.5, 'in (0, 0.5]');
    const a = dpsgdArgs(values);
    const r = calibrateNoiseMultiplier({
      epsilon: target,
      delta: a.delta,
      sampleRate: a.sampleRate,
      steps: a.steps,
      accountant: a.accountant,
      tolerance,
      ...(a.discretization !== undefined ? { discretization: a.discretization } : {}),
    });
    const out = {
      noiseMultiplier: r.noiseMultiplier,
      epsilon: r.epsilon,
      targetEpsilon: target,
      delta: a.delta,
      sampleRate: a.sampleRate,
      steps: a.steps,
      accountant: r.accountant,
      method: r.method,
      ...(r.fallback !== undefined ? { fallback: r.fallback } : {}),
      tolerance,
    };
    if (values.json) {
      console.log(JSON.stringify(out));
      return 0;
    }
    console.log(
      `σ = ${r.noiseMultiplier.toPrecision(6)} gives ε = ${r.epsilon.toPrecision(6)} ≤ ${target} at δ = ${formatDelta(a.delta)} ` +
        `(${r.accountant.toUpperCase()}${r.method !== r.accountant ? ` by ${r.method}` : ''}, ${a.steps} steps, ` +
        `q = ${a.sampleRate.toPrecision(6)}, tolerance ${tolerance}` +
        `${r.fallback !== undefined ? `; ${r.fallback}` : ''})`,
    );
    return 0;
  },
};
