import { ConfigError, integerFromEnv } from '../lib/env';
import { dataDirFromEnv } from '../lib/paths';
import { MAX_CITIZENS } from '../synthetic/generator';
import { DEFAULT_CITIZENS, sampleIdNumbers, seedRegistries, seedingOf } from '../synthetic/seed';

/**
 * `npm run --silent sample-ids -- N`: prints N ID numbers that exist in the household
 * registry, one per line and nothing else, so benchmarks and shell loops can read stdout
 * as is. An unseeded data folder is seeded first (PROOFLESS_SEED_CITIZENS, default
 * 10000); a folder seeded at any size is used as it is.
 */

class UsageError extends Error {}

function parseCount(args: readonly string[]): number {
  const [raw, ...extra] = args;
  if (raw === undefined || extra.length > 0) throw new UsageError(`expected one argument N, got ${args.length}; usage: npm run --silent sample-ids -- N`);
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`N must be a whole number from 1 up, got "${raw}"`);
  return Number(raw);
}

function main(): void {
  const count = parseCount(process.argv.slice(2));
  const dataDir = dataDirFromEnv(process.env);
  if (seedingOf(dataDir) === null) {
    const citizens = integerFromEnv(process.env, 'PROOFLESS_SEED_CITIZENS', DEFAULT_CITIZENS, { min: 1, max: MAX_CITIZENS });
    process.stderr.write(`sample-ids: seeding ${citizens} synthetic citizens into ${dataDir} first\n`);
    seedRegistries({ dataDir, citizens });
  }
  process.stdout.write(`${sampleIdNumbers(dataDir, count).join('\n')}\n`);
}

try {
  main();
} catch (error) {
  // A RangeError is an N larger than the registry: a bad argument too, not a failure.
  const isUsageError = error instanceof UsageError || error instanceof ConfigError || error instanceof RangeError;
  process.stderr.write(`sample-ids: ${(error as Error).message}\n`);
  process.exit(isUsageError ? 2 : 1);
}
