import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SCHEMA_DIR } from '../lib/composition';
import { checkDepartmentSchema, formatSchemaCheck } from '../lib/schema-check';

/**
 * `npm run schema:check -- <department> [--schema-dir DIR] [--against SUPERGRAPH]`:
 * composes `schema/<department>.graphql` as edited with the other departments' SDL and
 * lists the breaking and dangerous changes front-end teams would meet, compared with the
 * supergraph as committed (HEAD). Exit 0: nothing breaks; 1: breaking changes; 2: it
 * could not check (a bad argument, an unknown department, SDL that does not compose).
 * `--schema-dir` checks another copy of `schema/`; `--against` compares with a given
 * supergraph file instead of the committed one.
 */

const USAGE = 'usage: npm run schema:check -- <department> [--schema-dir DIR] [--against SUPERGRAPH_FILE]';

class UsageError extends Error {}

function parseCommandLine(args: string[]): { department: string; schemaDir: string; against?: string } {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { 'schema-dir': { type: 'string' }, against: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  const [department, ...extra] = parsed.positionals;
  if (department === undefined || extra.length > 0) throw new UsageError(`expected one department name, got ${parsed.positionals.length}\n${USAGE}`);
  const schemaDir = path.resolve(parsed.values['schema-dir'] ?? SCHEMA_DIR);
  return { department, schemaDir, against: parsed.values.against };
}

/**
 * The supergraph to compare with, and how to name it: the committed one where the schema
 * folder is in git (a department that already ran `npm run compose` still sees its
 * changes), else the file as it is.
 */
function baselineSupergraph(schemaDir: string, against: string | undefined): { sdl: string; label: string } {
  if (against !== undefined) return { sdl: readFileSync(against, 'utf8'), label: against };
  const label = `${path.basename(schemaDir)}/supergraph.graphql`;
  try {
    const sdl = execFileSync('git', ['show', 'HEAD:./supergraph.graphql'], { cwd: schemaDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { sdl, label: `${label} as committed (HEAD)` };
  } catch {
    return { sdl: readFileSync(path.join(schemaDir, 'supergraph.graphql'), 'utf8'), label: `${label} (not in git: the file as it is)` };
  }
}

try {
  const { department, schemaDir, against } = parseCommandLine(process.argv.slice(2));
  const baseline = baselineSupergraph(schemaDir, against);
  const { text, exitCode } = formatSchemaCheck(checkDepartmentSchema(department, { schemaDir, baselineSupergraphSdl: baseline.sdl }), baseline.label);
  (exitCode === 2 ? process.stderr : process.stdout).write(`${text}\n`);
  process.exitCode = exitCode;
} catch (error) {
  process.stderr.write(`schema:check: ${(error as Error).message}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
