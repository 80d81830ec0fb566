import { listDepartments } from '../../lib/composition';
import { ConfigError, integerFromEnv } from '../../lib/env';

/** How departments' answers are cached (cache/department-cache.ts). */
export interface CacheConfig {
  /** PROOFLESS_CACHE=on|off, default on; off asks departments every time (the benchmark's baseline). */
  isEnabled: boolean;
  /**
   * PROOFLESS_CACHE_TTL_<DEPARTMENT> seconds, e.g. PROOFLESS_CACHE_TTL_HOUSEHOLD: the longest an
   * answer is kept; a department's `cache-control: max-age` can only shorten it. 0 = never cached.
   */
  ttlSeconds: Record<string, number>;
  /** PROOFLESS_CACHE_MAX_ENTRIES, default 10000: the in-process LRU's bound (without Redis). */
  maxEntries: number;
  /**
   * PROOFLESS_CACHE_KEY_FILE (base64url, 32 bytes): encrypts answers kept in Redis and keys
   * their names. Read only when the cache is on and PROOFLESS_REDIS_URL is set; a generated
   * file in development, required in production.
   */
  key?: Buffer;
}

export const DEFAULT_TTL_SECONDS = 60;
export const DEFAULT_MAX_ENTRIES = 10000;

/**
 * Departments whose answers are never cached, whatever the configuration says: the audit
 * department's records must be read as they are now, and the service bureau builds its
 * answers through the gateway under the caller's purpose headers, which cache keys do not
 * hold (one caller's checklist must never be served to another).
 */
export const NEVER_CACHED: Record<string, string> = {
  audit: 'audit records are always read fresh',
  service: "the service bureau's answers depend on the caller's purpose headers",
};

export function loadCacheConfig(env: NodeJS.ProcessEnv, readKey: () => Buffer, departments = listDepartments().map(({ name }) => name)): CacheConfig {
  const isEnabled = switchFromEnv(env, 'PROOFLESS_CACHE');
  const ttlSeconds: Record<string, number> = {};
  for (const department of departments) {
    const name = `PROOFLESS_CACHE_TTL_${department.toUpperCase()}`;
    const isNeverCached = department in NEVER_CACHED;
    const ttl = integerFromEnv(env, name, isNeverCached ? 0 : DEFAULT_TTL_SECONDS, { min: 0, max: 86400 });
    if (isNeverCached && ttl !== 0) throw new ConfigError(`${name} must be 0: ${NEVER_CACHED[department]}, got "${env[name]}"`);
    ttlSeconds[department] = ttl;
  }
  const needsKey = isEnabled && Boolean(env.PROOFLESS_REDIS_URL);
  return {
    isEnabled,
    ttlSeconds,
    maxEntries: integerFromEnv(env, 'PROOFLESS_CACHE_MAX_ENTRIES', DEFAULT_MAX_ENTRIES, { min: 1, max: 10_000_000 }),
    ...(needsKey ? { key: readKey() } : {}),
  };
}

function switchFromEnv(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === 'on') return true;
  if (raw === 'off') return false;
  throw new ConfigError(`${name} must be on or off, got "${raw}"`);
}
