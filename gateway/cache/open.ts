import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { deriveCacheKey } from './cache-key';
import type { CacheConfig } from './config';
import { createDepartmentCache, type DepartmentCache } from './department-cache';
import { listenForRegistryChanges } from './invalidation';
import { memoryAnswerStore } from './memory-store';
import { redisAnswerStore } from './redis-store';

/** A gateway without Redis: answers kept in this process's LRU, until their TTL (no registry changes reach it). */
export function inProcessDepartmentCache(config: CacheConfig, pseudonymKey: Uint8Array): DepartmentCache {
  return createDepartmentCache({
    store: memoryAnswerStore({ maxEntries: config.maxEntries }),
    ttlSeconds: config.ttlSeconds,
    // Entry names never leave this process: a key of its own is enough.
    entryKeySecret: randomBytes(32),
    pseudonymKey,
  });
}

/**
 * Gateways with Redis share one cache there, and each hears departments' registry
 * changes on a subscriber connection of its own.
 *
 * With Redis configured but unreachable (at start or later) the cache is skipped and
 * every fetch goes to its department; it does not fall back to an in-process LRU,
 * because registry changes arrive through Redis too, and an instance that cannot hear
 * them must not serve answers a department has since changed.
 */
export async function openRedisDepartmentCache(
  redis: Redis,
  config: CacheConfig,
  pseudonymKey: Uint8Array,
  warn: (message: string) => void,
): Promise<{ cache: DepartmentCache; close(): void }> {
  if (!config.key) throw new Error('the Redis cache needs PROOFLESS_CACHE_KEY_FILE (config.cache.key)');
  const cache = createDepartmentCache({
    store: redisAnswerStore(redis, config.key),
    ttlSeconds: config.ttlSeconds,
    entryKeySecret: deriveCacheKey(config.key, 'entry names'),
    pseudonymKey,
    warn,
  });
  // The gateway's client fails commands at once while Redis is away; a subscription should instead wait for Redis, however long.
  const subscriber = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
  subscriber.on('error', () => undefined);
  // server.ts has already waited for Redis; when it did not come, the gateway starts without waiting again.
  await listenForRegistryChanges(subscriber, (change) => void cache.citizenChanged(change.department, change.citizen), redis.status === 'ready' ? 2000 : 0);
  return { cache, close: () => subscriber.disconnect() };
}
