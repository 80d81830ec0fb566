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

/** Citizens an answer is about to disclose, beyond those its request asked for. */
export interface DisclosureRequest {
  officer: string;
  citizens: string[];
  now: number;
}

export type RateLimitVerdict = { isAllowed: true } | { isAllowed: false; limit: keyof RateLimits; max: number; retryAfterSeconds: number };

export interface RateLimitStore {
  /** Counts a request before it runs: the application's and the officer's requests, and the citizens it asks for. */
  consume(request: RateLimitRequest): Promise<RateLimitVerdict>;
  /**
   * Adds the citizens an answer discloses (household members that came back) to the
   * officer's distinct citizens, if they fit within the bound; refuses otherwise and adds
   * none, since a refused answer discloses nothing.
   */
  admitDisclosed(request: DisclosureRequest): Promise<RateLimitVerdict>;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const LIMIT_BY_CODE: (keyof RateLimits)[] = ['applicationPerMinute', 'officerPerMinute', 'distinctCitizensPerHour'];

/**
 * Lua: adds ARGV[first..] to the set KEYS[3] only if it stays within ARGV[3] members,
 * renewing its expiry (ARGV[5] ms); returns 3 from the script when it would not fit.
 */
const ADD_CITIZENS_WITHIN_BOUND = (first: number) => `
if #ARGV >= ${first} then
  local added = 0
  for i = ${first}, #ARGV do
    if redis.call('SISMEMBER', KEYS[3], ARGV[i]) == 0 then added = added + 1 end
  end
  local known = redis.call('SCARD', KEYS[3])
  if known + added > tonumber(ARGV[3]) then return 3 end
  if added > 0 then
    redis.call('SADD', KEYS[3], unpack(ARGV, ${first}))
    redis.call('PEXPIRE', KEYS[3], ARGV[5])
  end
end
return 0
`;

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
${ADD_CITIZENS_WITHIN_BOUND(6)}`;

/** The citizens alone, with the same keys and arguments as CONSUME_SCRIPT (the request counters are not touched). */
const DISCLOSE_SCRIPT = ADD_CITIZENS_WITHIN_BOUND(6);

export function redisRateLimitStore(redis: Redis, limits: RateLimits): RateLimitStore {
  const run = async (script: string, application: string, request: DisclosureRequest) => {
    const minute = Math.floor(request.now / MINUTE);
    const hour = Math.floor(request.now / HOUR);
    const code = (await redis.eval(
      script,
      3,
      `proofless:rate:application:${application}:${minute}`,
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
  };
  return {
    consume: (request) => run(CONSUME_SCRIPT, request.application, request),
    // DISCLOSE_SCRIPT touches only the citizens key; the others are passed so both scripts take the same keys and arguments.
    admitDisclosed: (request) => run(DISCLOSE_SCRIPT, '', request),
  };
}

/** The same windows in this process, for a gateway without Redis or while Redis is away. */
export function memoryRateLimitStore(limits: RateLimits): RateLimitStore {
  const counters = new Map<string, number>();
  const citizenSets = new Map<string, Set<string>>();
  let currentMinute = -1;
  let currentHour = -1;
  const startWindows = (now: number) => {
    const minute = Math.floor(now / MINUTE);
    const hour = Math.floor(now / HOUR);
    if (minute !== currentMinute) {
      counters.clear();
      currentMinute = minute;
    }
    if (hour !== currentHour) {
      citizenSets.clear();
      currentHour = hour;
    }
  };
  const addCitizensWithinBound = (request: DisclosureRequest): RateLimitVerdict => {
    const seen = citizenSets.get(request.officer) ?? new Set<string>();
    const added = new Set(request.citizens.filter((citizen) => !seen.has(citizen)));
    if (seen.size + added.size > limits.distinctCitizensPerHour) return verdict(3, limits, request.now);
    for (const citizen of added) seen.add(citizen);
    citizenSets.set(request.officer, seen);
    return { isAllowed: true };
  };
  return {
    async consume(request) {
      startWindows(request.now);
      const count = (key: string) => {
        const value = (counters.get(key) ?? 0) + 1;
        counters.set(key, value);
        return value;
      };
      if (count(`a:${request.application}`) > limits.applicationPerMinute) return verdict(1, limits, request.now);
      if (count(`o:${request.officer}`) > limits.officerPerMinute) return verdict(2, limits, request.now);
      return addCitizensWithinBound(request);
    },
    async admitDisclosed(request) {
      startWindows(request.now);
      return addCitizensWithinBound(request);
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
  const withFallback = <Request>(ask: (store: RateLimitStore, request: Request) => Promise<RateLimitVerdict>) => async (request: Request) => {
    try {
      const result = await ask(primary, request);
      if (isPrimaryDown) warn('rate limits: Redis is back; counting across instances again');
      isPrimaryDown = false;
      return result;
    } catch {
      if (!isPrimaryDown) warn('rate limits: Redis is unavailable; counting in this process until it is back');
      isPrimaryDown = true;
      return ask(fallback, request);
    }
  };
  return {
    consume: withFallback((store, request: RateLimitRequest) => store.consume(request)),
    admitDisclosed: withFallback((store, request: DisclosureRequest) => store.admitDisclosed(request)),
  };
}

function verdict(code: number, limits: RateLimits, now: number): RateLimitVerdict {
  if (code === 0) return { isAllowed: true };
  const limit = LIMIT_BY_CODE[code - 1];
  const window = limit === 'distinctCitizensPerHour' ? HOUR : MINUTE;
  return { isAllowed: false, limit, max: limits[limit], retryAfterSeconds: Math.ceil((window - (now % window)) / 1000) };
}
