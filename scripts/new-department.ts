import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { scaffoldDepartment, ScaffoldError } from '../lib/department-scaffold';
import { REPO_ROOT } from '../lib/paths';
import { issueCertificate, pkiDirOf } from '../lib/pki';

/**
 * `npm run new-department -- <name> [--authority TEXT] [--root DIR]`: scaffolds a
 * department that composes with the others, registers it on the next free port and
 * recomposes the supergraph, issues its development certificate when the data folder has
 * the development CA (`npm start` issues it otherwise), then says what to do next. Exit 2
 * with a message and nothing written for a name that cannot be a department or a scaffold
 * that would not compose. `--root` scaffolds into another copy of the repository, whose
 * `data/` (or PROOFLESS_DATA_DIR) holds its development PKI.
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

/** The development certificate's files, as the listing names them (relative to the root when under it), or none without a development CA. */
async function issueDevelopmentCertificate(root: string, name: string): Promise<string[]> {
  // As lib/paths.ts dataDirFromEnv, but for the copy being scaffolded.
  const dataDir = process.env.PROOFLESS_DATA_DIR ? path.resolve(process.env.PROOFLESS_DATA_DIR) : path.join(root, 'data');
  const pkiDir = pkiDirOf(dataDir);
  if (!existsSync(path.join(pkiDir, 'ca.pem'))) return [];
  let issued;
  try {
    issued = await issueCertificate(pkiDir, name);
  } catch (error) {
    throw new Error(`"${name}" is scaffolded, but its development certificate could not be issued in ${pkiDir} (\`npm start\` issues it): ${(error as Error).message}`);
  }
  const { certFile, keyFile } = issued;
  return [certFile, keyFile].map((file) => (file.startsWith(root + path.sep) ? path.relative(root, file) : file));
}

async function main(): Promise<void> {
  const options = parseCommandLine(process.argv.slice(2));
  const { name } = options;
  const scaffold = scaffoldDepartment(options);
  const certificate = await issueDevelopmentCertificate(path.resolve(options.root ?? REPO_ROOT), name);
  console.log([
    `new-department: "${name}" scaffolded, routed at ${scaffold.url}:`,
    ...[...scaffold.files, ...certificate].map((file) => `  ${file}`),
    'Next:',
    `  1. Describe the registry in schema/${name}.graphql; replace the example record with the department's own fields.`,
    `  2. Read them in subgraphs/${name}/registry.ts and resolve them in subgraphs/${name}/resolvers.ts.`,
    `  3. npm run compose && npx jest test/${name}.test.ts`,
    `  4. List the new fields in a service item's proofs in schema/proof-catalog.json: the department refuses reads no item needs, and so does the gateway.`,
    `  5. In production, issue its certificate with \`npm run pki -- issue ${name}\` (or the city's CA) and give it PROOFLESS_TLS_CA_FILE, PROOFLESS_TLS_CERT_FILE, PROOFLESS_TLS_KEY_FILE and PROOFLESS_GATEWAY_KEYS_FILE.`,
  ].join('\n'));
}

main().catch((error: Error) => {
  process.stderr.write(`new-department: ${error.message}\n`);
  process.exitCode = error instanceof ScaffoldError ? 2 : 1;
});
