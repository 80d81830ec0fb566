import { statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ConfigError, integerFromEnv } from '../lib/env';
import { dataDirFromEnv } from '../lib/paths';
import { MAX_CITIZENS } from '../synthetic/generator';
import { MAX_SEED } from '../synthetic/random';
import { DEFAULT_CITIZENS, DEFAULT_SEED, registryFiles, seedRegistries } from '../synthetic/seed';

/**
 * `npm run seed -- [--citizens N] [--seed S] [--data-dir D]`: regenerates the synthetic
 * registries whatever the folder held, and prints one line saying what it wrote.
 * Defaults come from PROOFLESS_SEED_CITIZENS and PROOFLESS_DATA_DIR, as for `npm start`.
 */

const USAGE = 'usage: npm run seed -- [--citizens N] [--seed S] [--data-dir D]';

class UsageError extends Error {}

interface SeedArguments {
  citizens: number;
  seed: number;
  dataDir: string;
}

function parseArguments(args: string[], env: NodeJS.ProcessEnv): SeedArguments {
  let values: { citizens?: string; seed?: string; 'data-dir'?: string };
  try {
    ({ values } = parseArgs({
      args,
      options: { citizens: { type: 'string' }, seed: { type: 'string' }, 'data-dir': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  if (values['data-dir'] === '') throw new UsageError('--data-dir must name a folder, got ""');
  return {
    citizens: values.citizens === undefined
      ? integerFromEnv(env, 'PROOFLESS_SEED_CITIZENS', DEFAULT_CITIZENS, { min: 1, max: MAX_CITIZENS })
      : wholeNumber('--citizens', values.citizens, 1, MAX_CITIZENS),
    seed: values.seed === undefined ? DEFAULT_SEED : wholeNumber('--seed', values.seed, 0, MAX_SEED),
    dataDir: values['data-dir'] === undefined ? dataDirFromEnv(env) : path.resolve(values['data-dir']),
  };
}

function wholeNumber(flag: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return value;
}

function megabytes(file: string): string {
  return `${(statSync(file).size / 1_000_000).toFixed(1)} MB`;
}

function main(): void {
  const { citizens, seed, dataDir } = parseArguments(process.argv.slice(2), process.env);
  const started = performance.now();
  const { manifest, counts } = seedRegistries({ dataDir, citizens, seed });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const files = registryFiles(dataDir);
  console.log(
    `Seeded ${dataDir} in ${seconds} s (seed ${seed}, reference date ${manifest.referenceDate}): ` +
      `${counts.persons} persons, ${counts.households} households, ${counts.residencePeriods} residence periods, ` +
      `${counts.residencePermits} residence permits, ${counts.businesses} businesses, ${counts.licences} licences; ` +
      `household.sqlite ${megabytes(files.household)}, residence.sqlite ${megabytes(files.residence)}, license.sqlite ${megabytes(files.license)}`,
  );
}

try {
  main();
} catch (error) {
  const isUsageError = error instanceof UsageError || error instanceof ConfigError;
  console.error(`seed: ${(error as Error).message}`);
  process.exit(isUsageError ? 2 : 1);
}
