import type Redis from 'ioredis';

export interface RateLimits {
  /** Requests one application may make per minute, across every gateway instance; default 6000. */
  applicationPerMinute: number;
  /** Requests one officer may make per minute; default 120. */
  officerPerMinute: number;
  /** Distinct citizens one officer may look up per hour; default 200 (bulk browsing by an insider is the threat). */
  distinctCitizensPerHour: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { applicationPerMinute: 6000, officerPerMinute: 120, distinctCitizensPerHour: 200 };

/** One request to count. Identifiers arrive pseudonymised: no raw ID number or staff ID is stored. */
export interface RateLimitRequest {
  application: string;
  officer: string;
  citizens: string[];
  /** Milliseconds since the epoch: windows are fixed minutes and hours of this clock. */
  now: number;
}

export type RateLimitVerdict = { isAllowed: true } | { isAllowed: false; limit: keyof RateLimits; max: number; retryAfterSeconds: number };

export interface RateLimitStore {
  consume(request: RateLimitRequest): Promise<RateLimitVerdict>;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const LIMIT_BY_CODE: (keyof RateLimits)[] = ['applicationPerMinute', 'officerPerMinute', 'distinctCitizensPerHour'];

/**
 * One round trip, atomic across instances: count the application and the officer in this
 * minute's buckets, then add the citizens to the officer's set for this hour only if the
 * set stays within its bound (a refused request does not use up the allowance).
 * Returns 0 when allowed, else 1, 2 or 3 for the limit that refused.
 */
const CONSUME_SCRIPT = `
local application = redis.call('INCR', KEYS[1])
if application == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
if application > tonumber(ARGV[1]) then return 1 end
local officer = redis.call('INCR', KEYS[2])
if officer == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
if officer > tonumber(ARGV[2]) then return 2 end
if #ARGV > 5 then
  local added = 0
  for i = 6, #ARGV do
    if redis.call('SISMEMBER', KEYS[3], ARGV[i]) == 0 then added = added + 1 end
  end
  local known = redis.call('SCARD', KEYS[3])
  if known + added > tonumber(ARGV[3]) then return 3 end
  if added > 0 then
    redis.call('SADD', KEYS[3], unpack(ARGV, 6))
    redis.call('PEXPIRE', KEYS[3], ARGV[5])
  end
end
return 0
`;

export function redisRateLimitStore(redis: Redis, limits: RateLimits): RateLimitStore {
  return {
    async consume(request) {
      const minute = Math.floor(request.now / MINUTE);
      const hour = Math.floor(request.now / HOUR);
      const code = (await redis.eval(
        CONSUME_SCRIPT,
        3,
        `proofless:rate:application:${request.application}:${minute}`,
        `proofless:rate:officer:${request.officer}:${minute}`,
        `proofless:rate:citizens:${request.officer}:${hour}`,
        limits.applicationPerMinute,
        limits.officerPerMinute,
        limits.distinctCitizensPerHour,
        MINUTE,
        HOUR,
        ...new Set(request.citizens),
      )) as number;
      return verdict(code, limits, request.now);
    },
  };
}

/** The same windows in this process, for a gateway without Redis or while Redis is away. */
export function memoryRateLimitStore(limits: RateLimits): RateLimitStore {
  const counters = new Map<string, number>();
  const citizenSets = new Map<string, Set<string>>();
  let currentMinute = -1;
  let currentHour = -1;
  return {
    async consume(request) {
      const minute = Math.floor(request.now / MINUTE);
      const hour = Math.floor(request.now / HOUR);
      if (minute !== currentMinute) {
        counters.clear();
        currentMinute = minute;
      }
      if (hour !== currentHour) {
        citizenSets.clear();
        currentHour = hour;
      }
      const count = (key: string) => {
        const value = (counters.get(key) ?? 0) + 1;
        counters.set(key, value);
        return value;
      };
      if (count(`a:${request.application}`) > limits.applicationPerMinute) return verdict(1, limits, request.now);
      if (count(`o:${request.officer}`) > limits.officerPerMinute) return verdict(2, limits, request.now);
      const seen = citizenSets.get(request.officer) ?? new Set<string>();
      const added = new Set(request.citizens.filter((citizen) => !seen.has(citizen)));
      if (seen.size + added.size > limits.distinctCitizensPerHour) return verdict(3, limits, request.now);
      for (const citizen of added) seen.add(citizen);
      citizenSets.set(request.officer, seen);
      return { isAllowed: true };
    },
  };
}

/**
 * Redis when it answers, this process's own counts when it does not: a Redis outage
 * weakens the limits to per-instance ones instead of failing requests or dropping the
 * limits. Says so once per outage.
 */
export function fallbackRateLimitStore(primary: RateLimitStore, fallback: RateLimitStore, warn: (message: string) => void): RateLimitStore {
  let isPrimaryDown = false;
  return {
    async consume(request) {
      try {
        const result = await primary.consume(request);
        if (isPrimaryDown) warn('rate limits: Redis is back; counting across instances again');
        isPrimaryDown = false;
        return result;
      } catch {
        if (!isPrimaryDown) warn('rate limits: Redis is unavailable; counting in this process until it is back');
        isPrimaryDown = true;
        return fallback.consume(request);
      }
    },
  };
}

function verdict(code: number, limits: RateLimits, now: number): RateLimitVerdict {
  if (code === 0) return { isAllowed: true };
  const limit = LIMIT_BY_CODE[code - 1];
  const window = limit === 'distinctCitizensPerHour' ? HOUR : MINUTE;
  return { isAllowed: false, limit, max: limits[limit], retryAfterSeconds: Math.ceil((window - (now % window)) / 1000) };
}
