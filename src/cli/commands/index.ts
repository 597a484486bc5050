// Registry of sub-commands: each module is loaded only when its command runs, so a command never
// pays for (or fails on) another's imports — `dpfl bench` needs devDependencies that users do not
// install. Add a command by adding its line here.
import type { Command } from '../command.js';

export interface CommandEntry {
  /** One line for `dpfl --help`. */
  summary: string;
  load(): Promise<Command>;
}

export const commands: Record<string, CommandEntry> = {
  demo: {
    summary: 'one private step and one federated round on synthetic data',
    load: async () => (await import('./demo.js')).demo,
  },
  info: {
    summary: 'the native backend, instruction set and threads in use',
    load: async () => (await import('./info.js')).info,
  },
  epsilon: {
    summary: 'ε of DP-SGD (Poisson-sampled Gaussian) by the RDP or PLD accountant',
    load: async () => (await import('./epsilon.js')).epsilon,
  },
  calibrate: {
    summary: 'smallest noise multiplier reaching a target (ε, δ) for DP-SGD',
    load: async () => (await import('./calibrate.js')).calibrate,
  },
  train: {
    summary: 'train a built-in model with DP-SGD and report accuracy and privacy spent',
    load: async () => (await import('./train.js')).train,
  },
  bench: {
    summary: 'kernel benchmarks: GB/s against the measured bandwidth, baselines',
    load: async () => (await import('./bench.js')).bench,
  },
  federate: {
    summary: 'federated-learning simulation (FedAvg, FedAdam, DP-FedAvg, ...) with a per-round report',
    load: async () => (await import('./federate.js')).federate,
  },
  join: {
    summary: 'join a networked federation (dpfl serve) as one client, with its shard of a dataset',
    load: async () => (await import('./join.js')).join,
  },
  serve: {
    summary: 'the federated coordinator over HTTP(S): rounds, tokens, limits, crash-safe SQLite state',
    load: async () => (await import('./serve.js')).serve,
  },
  audit: {
    summary: 'membership inference, canary exposure and audited ε lower bounds (private vs non-private)',
    load: async () => (await import('./audit.js')).audit,
  },
  fairness: {
    summary: "DP's disparate impact: per-group accuracy at several ε, counterfactual gap, FL selection, with intervals",
    load: async () => (await import('./fairness.js')).fairness,
  },
};
