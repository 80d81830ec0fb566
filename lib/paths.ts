import path from 'node:path';

/** The repository root, from which `schema/` and the default `data/` folder are found. */
export const REPO_ROOT = path.resolve(__dirname, '..');

/** Where embedded registries live: PROOFLESS_DATA_DIR, or `data/` in the repository. */
export function dataDirFromEnv(env: NodeJS.ProcessEnv): string {
  return env.PROOFLESS_DATA_DIR ? path.resolve(env.PROOFLESS_DATA_DIR) : path.join(REPO_ROOT, 'data');
}
