import { parseArgs } from 'node:util';
import { scaffoldDepartment, ScaffoldError } from '../lib/department-scaffold';

/**
 * `npm run new-department -- <name> [--authority TEXT] [--root DIR]`: scaffolds a
 * department that composes with the others, registers it on the next free port and
 * recomposes the supergraph, then says what to do next. Exit 2 with a message and nothing
 * written for a name that cannot be a department or a scaffold that would not compose.
 * `--root` scaffolds into another copy of the repository.
 */

const USAGE = 'usage: npm run new-department -- <name> [--authority "杭州市某某局"] [--root DIR]';

function parseCommandLine(args: string[]): { name: string; authority?: string; root?: string } {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { authority: { type: 'string' }, root: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ScaffoldError(`${(error as Error).message}\n${USAGE}`);
  }
  const [name, ...extra] = parsed.positionals;
  if (name === undefined || extra.length > 0) throw new ScaffoldError(`expected one department name, got ${parsed.positionals.length}\n${USAGE}`);
  return { name, authority: parsed.values.authority, root: parsed.values.root };
}

try {
  const options = parseCommandLine(process.argv.slice(2));
  const { name } = options;
  const scaffold = scaffoldDepartment(options);
  console.log([
    `new-department: "${name}" scaffolded, routed at ${scaffold.url}:`,
    ...scaffold.files.map((file) => `  ${file}`),
    'Next:',
    `  1. Describe the registry in schema/${name}.graphql; replace the example record with the department's own fields.`,
    `  2. Read them in subgraphs/${name}/registry.ts and resolve them in subgraphs/${name}/resolvers.ts.`,
    `  3. npm run compose && npx jest test/${name}.test.ts`,
    '  4. List the fields service items may read in schema/proof-catalog.json: the gateway refuses fields no proof needs.',
  ].join('\n'));
} catch (error) {
  process.stderr.write(`new-department: ${(error as Error).message}\n`);
  process.exitCode = error instanceof ScaffoldError ? 2 : 1;
}
