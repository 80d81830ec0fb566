import Database from 'better-sqlite3';
import { createRandom } from '../synthetic/random';
import { registryFiles } from '../synthetic/seed';

/** A citizen the benchmark asks for, with the name the registry holds, to check each answer against. */
export interface KnownCitizen {
  idNumber: string;
  name: string;
}

export interface CitizenPool {
  /** Persons in the registry the pool was drawn from. */
  registrySize: number;
  /** One citizen, uniformly at random from the pool. */
  pick(): KnownCitizen;
  /** `n` distinct citizens, uniformly at random from the pool. */
  pickDistinct(n: number): KnownCitizen[];
  /**
   * One citizen, Zipf-distributed (exponent 1) over the pool: the k-th most asked-for is
   * asked for 1/k as often as the first, as a few residents come back to the service hall
   * again and again while most come once. For the cache scenario.
   */
  pickRepeated(): KnownCitizen;
}

/**
 * Up to `maxSize` citizens drawn uniformly from the whole household registry (reservoir
 * sampling over one scan, seeded, so the same registry gives the same pool), so requests
 * spread over the registry rather than a hot few, while a 1,000,000-person registry does
 * not have to sit in the harness's memory. Requests pick from the pool with Math.random:
 * which citizen a given request asks for does not need to repeat across runs.
 */
export function drawCitizenPool(dataDir: string, maxSize: number, seed = 7): CitizenPool {
  const db = new Database(registryFiles(dataDir).household, { readonly: true, fileMustExist: true });
  const pool: KnownCitizen[] = [];
  let seen = 0;
  try {
    const random = createRandom(seed);
    const rows = db.prepare('SELECT id_number, name FROM person').raw().iterate() as IterableIterator<[string, string]>;
    for (const [idNumber, name] of rows) {
      seen += 1;
      if (pool.length < maxSize) pool.push({ idNumber, name });
      else {
        const slot = random.int(0, seen - 1);
        if (slot < maxSize) pool[slot] = { idNumber, name };
      }
    }
  } finally {
    db.close();
  }
  if (pool.length === 0) throw new Error(`the household registry in ${dataDir} holds no persons`);
  const pick = () => pool[Math.floor(Math.random() * pool.length)];
  // Cumulative Zipf weights over the pool's ranks, built once on first use; a pick is a binary search.
  let zipf: Float64Array | undefined;
  const pickRepeated = () => {
    if (!zipf) {
      zipf = new Float64Array(pool.length);
      let total = 0;
      for (let rank = 0; rank < pool.length; rank += 1) zipf[rank] = total += 1 / (rank + 1);
    }
    const target = Math.random() * zipf[zipf.length - 1];
    let low = 0;
    let high = zipf.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (zipf[middle] < target) low = middle + 1;
      else high = middle;
    }
    return pool[low];
  };
  return {
    pickRepeated,
    registrySize: seen,
    pick,
    pickDistinct(n) {
      if (n > pool.length) throw new RangeError(`cannot pick ${n} distinct citizens from a pool of ${pool.length}`);
      const picked = new Map<string, KnownCitizen>();
      while (picked.size < n) {
        const citizen = pick();
        picked.set(citizen.idNumber, citizen);
      }
      return [...picked.values()];
    },
  };
}
