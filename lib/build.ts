import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { REPO_ROOT } from './paths';

/** What the gateway and the departments run: every folder their processes load code from. */
const RUNTIME_FOLDERS = ['gateway', 'subgraphs', 'lib', 'audit', 'synthetic'];

/** `dist/`: the runtime folders as JavaScript, in the same tree (`dist/gateway/index.js`). */
export const DIST_DIR = path.join(REPO_ROOT, 'dist');

/**
 * Compiles the runtime folders to JavaScript in `dist/`, file by file (no bundling), with
 * their other files (the audit writer's worker script, the pages' HTML, CSS and scripts)
 * copied beside them; `extraFiles` adds TypeScript files from elsewhere (the benchmark's
 * request counter). `npm start` and `npm run bench` run the gateway and every department
 * from here with `node` alone.
 *
 * Why not `tsx`, which runs the sources directly: its `require` hook resolves every
 * runtime `require`, and Apollo Server's query hashing makes one per request (in bench
 * scenario A, 4% of a department's CPU went to hashing queries, half of it through that
 * hook), and it holds about 46 MB of every process's memory.
 *
 * esbuild strips the types only; `npm run typecheck` checks them. The tree is built in a
 * folder of its own and then put in place, so a process starting from `dist/` never sees
 * half of it.
 */
export function buildForProduction(extraFiles: readonly string[] = []): string {
  const building = `${DIST_DIR}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  const sources = RUNTIME_FOLDERS.flatMap((folder) => filesUnder(path.join(REPO_ROOT, folder)));
  const typescript = [...sources.filter(isCompiled), ...extraFiles.map((file) => path.resolve(REPO_ROOT, file))];
  buildSync({
    entryPoints: typescript,
    outdir: building,
    outbase: REPO_ROOT,
    bundle: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'error',
  });
  for (const file of sources.filter((source) => !isCompiled(source))) {
    const copy = path.join(building, path.relative(REPO_ROOT, file));
    mkdirSync(path.dirname(copy), { recursive: true });
    cpSync(file, copy);
  }
  rmSync(DIST_DIR, { recursive: true, force: true });
  renameSync(building, DIST_DIR);
  return DIST_DIR;
}

/** Where `entry` (`gateway/index.ts`) is once built: `dist/gateway/index.js`. */
export function builtEntry(entry: string): string {
  return path.join(DIST_DIR, entry.replace(/\.ts$/, '.js'));
}

function isCompiled(file: string): boolean {
  return file.endsWith('.ts') && !file.endsWith('.d.ts');
}

function filesUnder(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}
