import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The repository root, from which `schema/` and the default `data/` folder are found: the
 * folder above `lib/`, whether this file runs from `lib/` or compiled from `dist/lib/`
 * (lib/build.ts).
 */
export const REPO_ROOT = repositoryAbove(path.resolve(__dirname, '..'));

function repositoryAbove(folder: string): string {
  const isCompiledTree = path.basename(folder) === 'dist' && existsSync(path.join(folder, '..', 'package.json'));
  return isCompiledTree ? path.dirname(folder) : folder;
}

/** Where embedded registries live: PROOFLESS_DATA_DIR, or `data/` in the repository. */
export function dataDirFromEnv(env: NodeJS.ProcessEnv): string {
  return env.PROOFLESS_DATA_DIR ? path.resolve(env.PROOFLESS_DATA_DIR) : path.join(REPO_ROOT, 'data');
}
