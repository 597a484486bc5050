// On-device example stores for the continual setting: a client receives a stream of new examples
// over time and keeps at most `capacity` of them. Rounds train on what is stored at that moment.
//
// - 'fifo': evict the oldest example (a sliding window over the stream).
// - 'reservoir': Vitter's Algorithm R ("Random Sampling with a Reservoir", ACM TOMS 1985): the
//   t-th arrival replaces a uniformly chosen slot with probability capacity / t, so the store is
//   a uniform sample of everything seen so far.
import { invalidArgument, invalidType } from '../errors.js';
import { requiredObject, typedArray, withMethods } from '../validate.js';
import type { Random } from '../data/random.js';

/** The caller's generator for client k, checked once (it shuffles and evicts in the loops). */
type Purpose = 'store' | 'stream';

function rng(rngFor: (client: number, purpose: Purpose) => Random, k: number, purpose: Purpose): Random {
  return withMethods(`rngFor(${k}, '${purpose}')`, rngFor(k, purpose), 'a Random', 'below', 'shuffle');
}

export type EvictionPolicy = 'fifo' | 'reservoir';

export class ClientStore {
  readonly #items: number[] = [];
  #next = 0; // fifo: slot of the oldest example once full
  #seen = 0;

  constructor(
    readonly capacity: number,
    readonly policy: EvictionPolicy,
    readonly rng: Random,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw invalidArgument('capacity', 'a positive integer', capacity);
    if (policy !== 'fifo' && policy !== 'reservoir') throw invalidArgument('policy', '"fifo" or "reservoir"', policy);
    if (policy === 'reservoir') withMethods('rng', rng, 'a Random', 'below');
  }

  /** Examples received so far (stored or evicted). */
  get seen(): number {
    return this.#seen;
  }

  /** The examples on the device now (example indices). */
  get items(): readonly number[] {
    return this.#items;
  }

  get size(): number {
    return this.#items.length;
  }

  receive(example: number): void {
    this.#seen += 1;
    if (this.#items.length < this.capacity) {
      this.#items.push(example);
      return;
    }
    if (this.policy === 'fifo') {
      this.#items[this.#next] = example;
      this.#next = (this.#next + 1) % this.capacity;
    } else {
      const j = this.rng.below(this.#seen);
      if (j < this.capacity) this.#items[j] = example;
    }
  }
}

/**
 * Per-client streams over a partition: each client's examples arrive in a seeded random order,
 * `initial` before the first round and `perRound` more before every later round, until its
 * stream is exhausted.
 */
export class ContinualStreams {
  readonly stores: ClientStore[];
  readonly #streams: Int32Array[];
  readonly #pos: number[];

  constructor(
    clients: Int32Array[],
    readonly options: { capacity: number; policy: EvictionPolicy; initial: number; perRound: number },
    rngFor: (client: number, purpose: 'store' | 'stream') => Random,
  ) {
    if (!Array.isArray(clients)) throw invalidType('clients', 'an array of Int32Array example lists', clients);
    clients.forEach((c, k) => typedArray(`clients[${k}]`, c, 'Int32Array'));
    requiredObject('options', options);
    if (typeof rngFor !== 'function') throw invalidType('rngFor', 'a function returning a Random', rngFor);
    if (!Number.isSafeInteger(options.initial) || options.initial < 0)
      throw invalidArgument('initial', 'a non-negative integer', options.initial);
    if (!Number.isSafeInteger(options.perRound) || options.perRound < 0)
      throw invalidArgument('perRound', 'a non-negative integer', options.perRound);
    this.stores = clients.map((_, k) => new ClientStore(options.capacity, options.policy, rng(rngFor, k, 'store')));
    this.#streams = clients.map((c, k) => {
      const s = Int32Array.from(c);
      rng(rngFor, k, 'stream').shuffle(s);
      return s;
    });
    this.#pos = clients.map(() => 0);
    this.#deliver(options.initial);
  }

  /** New examples arrive on every device (call once before each round after the first). */
  advance(): void {
    this.#deliver(this.options.perRound);
  }

  #deliver(count: number): void {
    this.#streams.forEach((s, k) => {
      const end = Math.min(s.length, this.#pos[k]! + count);
      for (let i = this.#pos[k]!; i < end; i++) this.stores[k]!.receive(s[i]!);
      this.#pos[k] = end;
    });
  }

  /** Current number of stored examples per client (the activity the server sees). */
  sizes(): number[] {
    return this.stores.map((s) => s.size);
  }
}
