// The configuration of `dpfl serve` / createFlServer: one object, read from a JSON file by the CLI
// and passed as is to the API. Every field is checked here with a typed error naming it, so a bad
// file fails before a port is opened or a database written. The round rules (selection,
// aggregation, DP...) are FederatedServer's own ServerOptions, under the same names.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { invalidArgument, invalidType } from '../../errors.js';
import type { ModelSpec } from '../../models/zoo.js';
import type { TrainingPlan } from '../client/protocol.js';
import type { DpFedAvgOptions } from '../dp.js';
import type { ServerOptions } from '../server.js';
import {
  integerIn,
  nonNegativeInteger,
  positiveFinite,
  positiveInteger,
  requiredObject,
  stringValue,
} from '../../validate.js';

/** DP options as JSON carries them: noiseSeed as a decimal string or a safe integer, not a bigint. */
export type DpConfig = Omit<DpFedAvgOptions, 'noiseSeed'> & { noiseSeed?: string | number };

export interface FlServerConfig {
  listen: { host?: string; port: number };
  /** PEM files: with them the server speaks HTTPS (HTTP/2 with HTTP/1.1 fallback). */
  tls?: { cert: string; key: string };
  /** Path of the SQLite database; ':memory:' keeps nothing (tests). */
  database: string;
  /** A built-in model of src/models (initialised from initSeed, default 0), or dim zeros. */
  model: (ModelSpec & { initSeed?: number }) | { dim: number; init: 'zeros' };
  clients: {
    /** Population size K: client ids 0..K−1. */
    population: number;
    /** Sample counts n_k of each client, or 'reported': what each client registers, capped by maxSamples. */
    activity: number[] | 'reported';
    /** Cap on a registered sample count (required with 'reported'; a client's claim is untrusted). */
    maxSamples?: number;
  };
  selection: ServerOptions['selection'];
  rounds: number;
  /** Seconds a round stays open (its deadline). Default 300. */
  roundSeconds?: number;
  /**
   * Retry-After (seconds, fractions allowed) told to a client with nothing to do now (not selected,
   * already reported, no round open). Default 1: a round that closes early opens the next at once,
   * and a client told to wait for the old round's deadline would miss it; K idle clients make
   * K / pollSeconds requests a second.
   */
  pollSeconds?: number;
  /** Registered clients needed before round 0 starts. Default 1. */
  minClients?: number;
  training: TrainingPlan;
  aggregation?: ServerOptions['aggregation'];
  trim?: number;
  byzantine?: number;
  estimator?: ServerOptions['estimator'];
  normBound?: number;
  optimizer?: ServerOptions['optimizer'];
  optimizerOptions?: ServerOptions['optimizerOptions'];
  minReports?: number;
  statistics?: ServerOptions['statistics'];
  /** Seeded selection (experiments only: the sample is then predictable). */
  seed?: number;
  dp?: DpConfig;
  /** Ask the selected clients to evaluate the global model every this many rounds (0: never). Default 0. */
  evaluateEvery?: number;
  limits?: { maxJsonBytes?: number; requestsPerMinute?: number };
  /** Run every round with SecAgg+ (secagg-routes.ts): the server sees only the sum of the updates. */
  secureAggregation?: SecureAggregationConfig;
  /**
   * Cross-origin access for browser clients (dpfl/fl/client in a web page): the page origins allowed
   * ('https://app.example.org', scheme://host[:port]) or '*' (any page; the token still decides who
   * may do anything). Absent: no Access-Control-Allow-Origin, so browsers refuse cross-origin pages.
   */
  cors?: { origins: string[] | '*' };
}

/**
 * Secure aggregation on the wire. Valid with aggregation 'mean' and either selection weighting
 * 'uniform' (clients clip to clipNorm, default normBound) or DP-FedAvg with a fixed clipNorm
 * (clients clip to the round's S; adaptive clipping and weightCap are refused).
 */
export interface SecureAggregationConfig {
  /** Seconds each stage stays open: advertise 30, share 30, mask (training happens here) roundSeconds, unmask 30. */
  stageSeconds?: { advertise?: number; share?: number; mask?: number; unmask?: number };
  /** L2 norm the clients clip to (without DP; default normBound, and at most normBound). */
  clipNorm?: number;
  /** Graph parameters (secagg-graph.ts): expected dropout δ, colluding fraction γ, σ, η. */
  dropout?: number;
  corrupt?: number;
  securityBits?: number;
  correctnessBits?: number;
  /** k and t given explicitly (both or neither; k even or K − 1, 2 ≤ t ≤ k). */
  neighbours?: number;
  threshold?: number;
  /** Retry-After (seconds, fractions allowed) of a stage poll answered 204. Default 1. */
  pollSeconds?: number;
}

export interface ResolvedSecureAggregation extends SecureAggregationConfig {
  stageSeconds: { advertise: number; share: number; mask: number; unmask: number };
  pollSeconds: number;
}

/** The config with defaults filled in and paths resolved. */
export interface ResolvedConfig extends FlServerConfig {
  listen: { host: string; port: number };
  roundSeconds: number;
  pollSeconds: number;
  minClients: number;
  evaluateEvery: number;
  limits: { maxJsonBytes: number; requestsPerMinute: number };
  secureAggregation?: ResolvedSecureAggregation;
}

const KNOWN = new Set([
  'listen',
  'tls',
  'database',
  'model',
  'clients',
  'selection',
  'rounds',
  'roundSeconds',
  'pollSeconds',
  'minClients',
  'training',
  'aggregation',
  'trim',
  'byzantine',
  'estimator',
  'normBound',
  'optimizer',
  'optimizerOptions',
  'minReports',
  'statistics',
  'seed',
  'dp',
  'evaluateEvery',
  'limits',
  'secureAggregation',
  'cors',
]);

/**
 * Checks a config (typed errors naming the field, "config.<field> must be ..."). FederatedServer
 * checks the round rules again when the server is built; what only the network layer reads is
 * checked here. relativeTo: the directory that relative file paths (tls, database) resolve from.
 */
export function resolveConfig(config: FlServerConfig, relativeTo = process.cwd()): ResolvedConfig {
  requiredObject('config', config);
  for (const key of Object.keys(config))
    if (!KNOWN.has(key)) throw invalidArgument('config', `free of unknown fields (${[...KNOWN].join(', ')})`, key);
  const listen = requiredObject('config.listen', config.listen);
  const host = listen.host === undefined ? '127.0.0.1' : stringValue('config.listen.host', listen.host);
  const port = integerIn('config.listen.port', listen.port, 0, 65535, 'an integer in [0, 65535]');
  let tls: ResolvedConfig['tls'];
  if (config.tls !== undefined) {
    requiredObject('config.tls', config.tls);
    tls = {
      cert: resolve(relativeTo, stringValue('config.tls.cert', config.tls.cert)),
      key: resolve(relativeTo, stringValue('config.tls.key', config.tls.key)),
    };
  }
  const db = stringValue('config.database', config.database);
  const database = db === ':memory:' ? db : resolve(relativeTo, db);
  checkModel(config.model);
  const clients = requiredObject('config.clients', config.clients);
  const population = positiveInteger('config.clients.population', clients.population);
  if (clients.activity === 'reported') {
    positiveFinite('config.clients.maxSamples', clients.maxSamples);
    if (config.dp?.weightCap !== undefined)
      throw invalidArgument('config.dp.weightCap', "unset with activity 'reported' (DP's weights are fixed)", 0);
  } else {
    if (!Array.isArray(clients.activity))
      throw invalidType('config.clients.activity', "an array of sample counts or 'reported'", clients.activity);
    if (clients.activity.length !== population)
      throw invalidArgument(
        'config.clients.activity.length',
        `the population (${population})`,
        clients.activity.length,
      );
    clients.activity.forEach((n, k) => nonNegativeInteger(`config.clients.activity[${k}]`, n));
    if (clients.maxSamples !== undefined) positiveFinite('config.clients.maxSamples', clients.maxSamples);
  }
  requiredObject('config.selection', config.selection);
  positiveInteger('config.rounds', config.rounds);
  const roundSeconds =
    config.roundSeconds === undefined ? 300 : positiveFinite('config.roundSeconds', config.roundSeconds);
  const pollSeconds = config.pollSeconds === undefined ? 1 : positiveFinite('config.pollSeconds', config.pollSeconds);
  const minClients = config.minClients === undefined ? 1 : positiveInteger('config.minClients', config.minClients);
  if (minClients > population)
    throw invalidArgument('config.minClients', `at most the population (${population})`, minClients);
  const t = requiredObject('config.training', config.training);
  positiveInteger('config.training.epochs', t.epochs);
  positiveInteger('config.training.batchSize', t.batchSize);
  positiveFinite('config.training.lr', t.lr);
  if (!(typeof t.mu === 'number' && t.mu >= 0 && Number.isFinite(t.mu)))
    throw invalidArgument('config.training.mu', 'a non-negative finite number', t.mu);
  const evaluateEvery =
    config.evaluateEvery === undefined ? 0 : nonNegativeInteger('config.evaluateEvery', config.evaluateEvery);
  const limits = config.limits === undefined ? {} : requiredObject('config.limits', config.limits);
  const maxJsonBytes =
    limits.maxJsonBytes === undefined ? 64 * 1024 : positiveInteger('config.limits.maxJsonBytes', limits.maxJsonBytes);
  const requestsPerMinute =
    limits.requestsPerMinute === undefined
      ? 600
      : positiveFinite('config.limits.requestsPerMinute', limits.requestsPerMinute);
  if (config.dp !== undefined) {
    requiredObject('config.dp', config.dp);
    dpNoiseSeed(config.dp.noiseSeed);
  }
  if (config.cors !== undefined) checkCors(config.cors);
  const secureAggregation =
    config.secureAggregation === undefined ? undefined : checkSecureAggregation(config, roundSeconds);
  return {
    ...config,
    secureAggregation,
    listen: { host, port },
    ...(tls ? { tls } : {}),
    database,
    roundSeconds,
    pollSeconds,
    minClients,
    evaluateEvery,
    limits: { maxJsonBytes, requestsPerMinute },
  };
}

const SECAGG_KNOWN = new Set([
  'stageSeconds',
  'clipNorm',
  'dropout',
  'corrupt',
  'securityBits',
  'correctnessBits',
  'neighbours',
  'threshold',
  'pollSeconds',
]);

/** Checks config.secureAggregation and the round rules it needs (a sum can only be a mean). */
function checkSecureAggregation(config: FlServerConfig, roundSeconds: number): ResolvedSecureAggregation {
  const name = 'config.secureAggregation';
  const sa = requiredObject(name, config.secureAggregation);
  for (const key of Object.keys(sa))
    if (!SECAGG_KNOWN.has(key))
      throw invalidArgument(name, `free of unknown fields (${[...SECAGG_KNOWN].join(', ')})`, key);
  if ((config.aggregation ?? 'mean') !== 'mean')
    throw invalidArgument(
      'config.aggregation',
      "'mean' with secure aggregation (a sum has no robust rule)",
      config.aggregation,
    );
  const perRound = (config.selection as { perRound?: unknown }).perRound;
  if (typeof perRound === 'number' && perRound < 3)
    throw invalidArgument('config.selection.perRound', 'at least 3 with secure aggregation', perRound);
  if (config.dp !== undefined) {
    if (sa.clipNorm !== undefined)
      throw invalidArgument(`${name}.clipNorm`, "unset with DP (clients clip to the round's dp.clipNorm)", sa.clipNorm);
    if (config.dp.adaptiveClip !== undefined && config.dp.adaptiveClip !== false)
      throw invalidArgument(
        'config.dp.adaptiveClip',
        'unset with secure aggregation (the unclipped count would need its own secure sum)',
        config.dp.adaptiveClip,
      );
    if (config.dp.weightCap !== undefined)
      throw invalidArgument('config.dp.weightCap', 'unset with secure aggregation (every user weighs 1)', 0);
  } else {
    if (config.selection.weighting !== 'uniform')
      throw invalidArgument(
        'config.selection.weighting',
        "'uniform' with secure aggregation without DP (a sum cannot weigh clients by samples)",
        config.selection.weighting,
      );
    const bound = config.normBound;
    if (sa.clipNorm === undefined && bound === undefined)
      throw invalidArgument(`${name}.clipNorm`, 'given (or config.normBound) without DP', undefined);
    if (sa.clipNorm !== undefined) positiveFinite(`${name}.clipNorm`, sa.clipNorm);
    if (sa.clipNorm !== undefined && bound !== undefined && !(sa.clipNorm <= bound))
      throw invalidArgument(`${name}.clipNorm`, `at most config.normBound (${bound})`, sa.clipNorm);
  }
  const fractionIn = (field: 'dropout' | 'corrupt') => {
    const v = sa[field];
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && v < 1))
      throw invalidArgument(`${name}.${field}`, 'a number in [0, 1)', v);
  };
  fractionIn('dropout');
  fractionIn('corrupt');
  if (sa.securityBits !== undefined) positiveFinite(`${name}.securityBits`, sa.securityBits);
  if (sa.correctnessBits !== undefined) positiveFinite(`${name}.correctnessBits`, sa.correctnessBits);
  if ((sa.neighbours === undefined) !== (sa.threshold === undefined))
    throw invalidArgument(`${name}.neighbours`, 'given together with threshold', sa.neighbours);
  if (sa.neighbours !== undefined) {
    positiveInteger(`${name}.neighbours`, sa.neighbours);
    integerIn(`${name}.threshold`, sa.threshold, 2, sa.neighbours, `an integer in [2, neighbours (${sa.neighbours})]`);
  }
  const st = sa.stageSeconds === undefined ? {} : requiredObject(`${name}.stageSeconds`, sa.stageSeconds);
  const stage = (key: 'advertise' | 'share' | 'mask' | 'unmask', fallback: number) =>
    st[key] === undefined ? fallback : positiveFinite(`${name}.stageSeconds.${key}`, st[key]);
  const pollSeconds = sa.pollSeconds === undefined ? 1 : positiveFinite(`${name}.pollSeconds`, sa.pollSeconds);
  return {
    ...sa,
    stageSeconds: {
      advertise: stage('advertise', 30),
      share: stage('share', 30),
      mask: stage('mask', roundSeconds),
      unmask: stage('unmask', 30),
    },
    pollSeconds,
  };
}

/** An origin as browsers send it in the Origin header: scheme://host[:port], nothing after. */
function checkCors(cors: NonNullable<FlServerConfig['cors']>): void {
  requiredObject('config.cors', cors);
  for (const key of Object.keys(cors))
    if (key !== 'origins') throw invalidArgument('config.cors', 'free of unknown fields (origins)', key);
  if (cors.origins === '*') return;
  if (!Array.isArray(cors.origins))
    throw invalidType('config.cors.origins', "an array of origins (scheme://host[:port]) or '*'", cors.origins);
  cors.origins.forEach((o, i) => {
    const name = `config.cors.origins[${i}]`;
    stringValue(name, o);
    let origin: string | undefined;
    try {
      const url = new URL(o);
      if (url.protocol === 'http:' || url.protocol === 'https:') origin = url.origin;
    } catch {
      origin = undefined;
    }
    if (origin !== o) throw invalidArgument(name, 'an origin scheme://host[:port] as browsers send it (no path)', o);
  });
}

function checkModel(model: FlServerConfig['model']): void {
  requiredObject('config.model', model);
  if ('dim' in model) {
    positiveInteger('config.model.dim', model.dim);
    if (model.init !== 'zeros') throw invalidArgument('config.model.init', '"zeros"', model.init);
  } else if (!('kind' in model)) {
    throw invalidArgument(
      'config.model',
      'a built-in model spec { kind, inputDim, input, classes } or { dim, init }',
      model,
    );
  } else if (model.initSeed !== undefined && !Number.isSafeInteger(model.initSeed)) {
    throw invalidArgument('config.model.initSeed', 'a safe integer', model.initSeed);
  }
}

/** The noise seed of a JSON config as a bigint (undefined: secure noise). */
export function dpNoiseSeed(seed: unknown): bigint | undefined {
  if (seed === undefined) return undefined;
  if (typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0) return BigInt(seed);
  if (typeof seed === 'string' && /^\d{1,20}$/.test(seed)) return BigInt(seed);
  throw invalidArgument('config.dp.noiseSeed', 'a non-negative integer (a number or a decimal string)', seed);
}

/** Reads and checks a JSON config file; relative paths in it resolve from the file's directory. */
export function loadConfig(file: string): ResolvedConfig {
  stringValue('file', file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw invalidArgument('--config', 'a readable JSON file', `${file} (${(error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalidArgument('--config', 'valid JSON', `${file} (${(error as Error).message})`);
  }
  return resolveConfig(parsed as FlServerConfig, dirname(resolve(file)));
}
