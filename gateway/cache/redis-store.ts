import type Redis from 'ioredis';
import type { AnswerStore } from './answer-store';
import { deriveCacheKey } from './cache-key';
import { open, seal } from './encryption';

/** Where entries and their tag sets live in Redis; keys are HMACs and pseudonyms, never ID numbers. */
export const ANSWER_PREFIX = 'proofless:cache:answer:';
export const TAG_PREFIX = 'proofless:cache:tag:';

/**
 * Keeps an entry and adds it to each of its tag sets, in one round trip. A tag set lives as
 * long as its longest-lived entry: its expiry is only ever pushed later, so it never
 * outlives what it points to by more than one TTL and never dies before it.
 */
const SET_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local ttl = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[1])
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
`;

/** Drops every entry a tag set names, and the set, atomically: no gateway reads one of them afterwards. */
const DROP_SCRIPT = `
local keys = redis.call('SMEMBERS', KEYS[1])
for i = 1, #keys do redis.call('DEL', keys[i]) end
redis.call('DEL', KEYS[1])
return #keys
`;

/**
 * Department answers in Redis, shared by every gateway instance: each value sealed with
 * AES-256-GCM under a key derived from the configured cache key, with its Redis key as
 * associated data. A value that does not open (altered, moved, or sealed under an older
 * key) reads as not kept.
 *
 * The client is the gateway's own (server.ts), which fails commands at once while Redis
 * is away instead of queueing them; `isAvailable` lets the cache skip Redis without even
 * trying while the connection is down.
 */
export function redisAnswerStore(redis: Redis, cacheKey: Uint8Array): AnswerStore {
  const valueKey = deriveCacheKey(cacheKey, 'entry values');
  return {
    name: 'Redis',
    isAvailable: () => redis.status === 'ready',
    async get(key) {
      const name = ANSWER_PREFIX + key;
      const sealed = await redis.getBuffer(name);
      return sealed ? open(valueKey, name, sealed) : undefined;
    },
    async set(key, answer, ttlMs, tags) {
      const name = ANSWER_PREFIX + key;
      await redis.eval(SET_SCRIPT, 1 + tags.length, name, ...tags.map((tag) => TAG_PREFIX + tag), seal(valueKey, name, answer), ttlMs);
    },
    async dropTagged(tag) {
      return (await redis.eval(DROP_SCRIPT, 1, TAG_PREFIX + tag)) as number;
    },
  };
}
