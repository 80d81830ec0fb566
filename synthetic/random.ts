/**
 * A seeded pseudo-random source. Synthetic registries must come out byte-identical for
 * the same seed, so the generator may not touch Math.random or the clock: every
 * draw comes from here. The generator is sfc32 (Chris Doty-Humphrey's Small Fast
 * Counter, as in PractRand), its state spread from the 32-bit seed by splitmix32 so
 * that neighbouring seeds (1, 2, 3) still start far apart.
 */

/** Values with relative weights, prepared once so a draw is a binary search, not a sum. */
export interface WeightedChoice<T> {
  readonly values: readonly T[];
  /** Running totals of the weights, the last one being the total. */
  readonly cumulative: readonly number[];
}

export function weightedChoice<T>(entries: readonly (readonly [T, number])[]): WeightedChoice<T> {
  if (entries.length === 0) throw new RangeError('a weighted choice needs at least one entry, got none');
  let total = 0;
  const cumulative = entries.map(([, weight]) => {
    if (!(weight > 0)) throw new RangeError(`weights must be positive, got ${weight}`);
    total += weight;
    return total;
  });
  return { values: entries.map(([value]) => value), cumulative };
}

export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** True with probability `probability`. */
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  weighted<T>(choice: WeightedChoice<T>): T;
}

export const MAX_SEED = 0xffffffff;

export function createRandom(seed: number): Random {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new RangeError(`seed must be a whole number from 0 to ${MAX_SEED}, got ${seed}`);
  }
  const spread = splitmix32(seed);
  const next = sfc32(spread(), spread(), spread(), spread());
  // sfc32's first outputs still echo the seed words; discarding a few is the usual remedy.
  for (let i = 0; i < 15; i += 1) next();

  const int = (min: number, max: number): number => {
    if (max < min) throw new RangeError(`int needs min <= max, got ${min} > ${max}`);
    return min + Math.floor(next() * (max - min + 1));
  };
  return {
    next,
    int,
    chance: (probability) => next() < probability,
    pick: (items) => {
      if (items.length === 0) throw new RangeError('cannot pick from an empty list');
      return items[int(0, items.length - 1)];
    },
    weighted: (choice) => {
      const { cumulative } = choice;
      const target = next() * cumulative[cumulative.length - 1];
      let low = 0;
      let high = cumulative.length - 1;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (cumulative[middle] > target) high = middle;
        else low = middle + 1;
      }
      return choice.values[low];
    },
  };
}

function splitmix32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let t = state ^ (state >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}
