import { parseArgs } from 'node:util';
import { ConfigError } from '../lib/env';
import { RetentionPeriodError } from './errors';
import { INSTANT_EXAMPLE, parseInstant } from './instant';

/** A command line the audit commands cannot act on: they print the message and exit 2. */
export class UsageError extends Error {}

/**
 * `--name value` options only, every one a string, those named in `repeatable` given any
 * number of times (as a list); anything else is a UsageError ending with the usage line.
 */
export function parseOptions<Name extends string, Repeatable extends string = never>(
  args: string[],
  names: readonly Name[],
  usage: string,
  repeatable: readonly Repeatable[] = [],
): Partial<Record<Name, string> & Record<Repeatable, string[]>> {
  try {
    const { values } = parseArgs({
      args,
      options: Object.fromEntries([
        ...names.map((name) => [name, { type: 'string' as const }]),
        ...repeatable.map((name) => [name, { type: 'string' as const, multiple: true }]),
      ]),
      strict: true,
      allowPositionals: false,
    });
    return values as Partial<Record<Name, string> & Record<Repeatable, string[]>>;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${usage}`);
  }
}

/**
 * Runs an audit command: exit 2 for a bad argument or configuration, 1 for anything
 * else that stopped it, otherwise what `main` returns. Only messages are printed, never
 * a stack: operators read these, and a message names no person.
 */
export function runCommand(name: string, main: () => Promise<number>): void {
  let isSettled = false;
  // A promise nothing will ever settle lets the process run out of work and exit 0:
  // for an audit command that would report success for work never done.
  process.once('beforeExit', () => {
    if (isSettled) return;
    process.stderr.write(`${name}: stopped before finishing\n`);
    process.exitCode = 1;
  });
  main().then(
    (code) => {
      isSettled = true;
      process.exitCode = code;
    },
    (error: unknown) => {
      isSettled = true;
      const isUsageError = error instanceof UsageError || error instanceof ConfigError || error instanceof RetentionPeriodError;
      process.stderr.write(`${name}: ${describeError(error)}\n`);
      process.exitCode = isUsageError ? 2 : 1;
    },
  );
}

/** Node reports a refused connection to every address of a host as an AggregateError with an empty message. */
function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.message === '' && error.errors.length > 0) return describeError(error.errors[0]);
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}

/**
 * An instant option (`--from`, `--to`) as the store keeps instants (toISOString form):
 * without `fallback` it is required. A UsageError ending with the usage line otherwise.
 */
export function instantOption(flag: string, raw: string | undefined, usage: string, fallback?: string): string {
  if (raw === undefined) {
    if (fallback === undefined) throw new UsageError(`${flag} is required\n${usage}`);
    return fallback;
  }
  const value = parseInstant(raw);
  if (value === null) throw new UsageError(`${flag} must be an ISO instant such as ${INSTANT_EXAMPLE}, got "${raw}"`);
  return value;
}

/** For a command writing a listing to stdout: a reader that stops early (`| head`) closes the pipe, which ends the listing and is not a failure. */
export function endQuietlyWhenPipeCloses(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
}
