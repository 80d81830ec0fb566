import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Development secrets kept in the data folder (mode 0600), created on first use, so
 * `npm start` needs no setup and two gateway instances on one machine share them. In
 * production the configuration names real keys instead and these files are never read.
 */
export function ensureDevSecret(dataDir: string, name: 'dev-jwt-secret' | 'dev-pseudonym-key' | 'dev-cache-key'): Buffer {
  const file = path.join(dataDir, name);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    try {
      writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process created it between the check and the write: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
}
