import type Redis from 'ioredis';

export interface RateLimits {
  /** Requests one application may make per minute, across every gateway instance; default 6000. */
  applicationPerMinute: number;
  /** Requests one officer may make per minute; default 120. */
  officerPerMinute: number;
  /** Distinct citizens one officer may look up in any hour (a sliding hour); default 200 (bulk browsing by an insider is the threat). */
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
/**
 * Distinct citizens are counted over a sliding hour: a citizen counts for an hour after
 * the officer last looked them up, so no 60 minutes ever see more than the limit. (A
 * clock hour let an officer read the whole allowance at 08:59:59 and a whole new one at
 * 09:00:00.) Each store keeps, per officer, when each citizen was last looked up, in the
 * order of that time, so counting costs what the request names, not what the officer has
 * read (a copy of every citizen of the hour per request made bench A a third as fast).
 */
const HOUR = 3_600_000;
const LIMIT_BY_CODE: (keyof RateLimits)[] = ['applicationPerMinute', 'officerPerMinute', 'distinctCitizensPerHour'];

/**
 * Lua, on the officer's sorted set KEYS[3] of citizens scored by when each was last looked
 * up (ms): drops those an hour old or more, and adds ARGV[7..] at ARGV[5] (now) only if the
 * set then stays within ARGV[3] members; the set expires an hour after its newest member.
 * Returns {0, 0} when they fit, else {3, oldest} with the oldest remaining score, which
 * frees room an hour after it.
 */
const ADD_CITIZENS_WITHIN_BOUND = `
if #ARGV >= 7 then
  local now = tonumber(ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[6]))
  local count = redis.call('ZCARD', KEYS[3])
  local seen = {}
  for i = 7, #ARGV do
    if not seen[ARGV[i]] then
      seen[ARGV[i]] = true
      if not redis.call('ZSCORE', KEYS[3], ARGV[i]) then count = count + 1 end
    end
  end
  if count > tonumber(ARGV[3]) then
    local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    return {3, tonumber(oldest[2] or now)}
  end
  for i = 7, #ARGV do redis.call('ZADD', KEYS[3], now, ARGV[i]) end
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
end
return {0, 0}
`;

/**
 * One round trip, atomic across instances: count the application and the officer in this
 * minute's buckets, then record the citizens as looked up now only if the officer's
 * distinct citizens of the last hour stay within their bound (a refused request does not
 * use up the allowance). Returns {0, 0} when allowed, else {1, 0}, {2, 0} or {3, oldest}
 * for the limit that refused.
 */
const CONSUME_SCRIPT = `
local application = redis.call('INCR', KEYS[1])
if application == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
if application > tonumber(ARGV[1]) then return {1, 0} end
local officer = redis.call('INCR', KEYS[2])
if officer == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
if officer > tonumber(ARGV[2]) then return {2, 0} end
${ADD_CITIZENS_WITHIN_BOUND}`;

/** The citizens alone, with the same keys and arguments as CONSUME_SCRIPT (the request counters are not touched). */
const DISCLOSE_SCRIPT = ADD_CITIZENS_WITHIN_BOUND;

export function redisRateLimitStore(redis: Redis, limits: RateLimits): RateLimitStore {
  const run = async (script: string, application: string, request: DisclosureRequest) => {
    const minute = Math.floor(request.now / MINUTE);
    const [code, oldest] = (await redis.eval(
      script,
      3,
      `proofless:rate:application:${application}:${minute}`,
      `proofless:rate:officer:${request.officer}:${minute}`,
      `proofless:rate:citizens:${request.officer}`,
      limits.applicationPerMinute,
      limits.officerPerMinute,
      limits.distinctCitizensPerHour,
      MINUTE,
      request.now,
      HOUR,
      ...new Set(request.citizens),
    )) as [number, number];
    return verdict(code, limits, request.now, oldest);
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
  /** Each officer's citizens, with when each was last looked up, in that order (a Map keeps insertion order; a citizen looked up again is moved to the end). */
  const citizensByOfficer = new Map<string, Map<string, number>>();
  let currentMinute = -1;
  const startMinute = (now: number) => {
    const minute = Math.floor(now / MINUTE);
    if (minute === currentMinute) return;
    counters.clear();
    currentMinute = minute;
    // Officers quiet for an hour are forgotten whole; the others are pruned as they come back.
    for (const [officer, citizens] of citizensByOfficer) {
      if (lastOf(citizens) <= now - HOUR) citizensByOfficer.delete(officer);
    }
  };
  const addCitizensWithinBound = (request: DisclosureRequest): RateLimitVerdict => {
    const citizens = citizensByOfficer.get(request.officer) ?? new Map<string, number>();
    for (const [citizen, seenAt] of citizens) {
      if (seenAt > request.now - HOUR) break;
      citizens.delete(citizen);
    }
    const added = new Set(request.citizens.filter((citizen) => !citizens.has(citizen)));
    if (citizens.size + added.size > limits.distinctCitizensPerHour) {
      return verdict(3, limits, request.now, citizens.values().next().value ?? request.now);
    }
    for (const citizen of request.citizens) {
      citizens.delete(citizen);
      citizens.set(citizen, request.now);
    }
    if (citizens.size > 0) citizensByOfficer.set(request.officer, citizens);
    return { isAllowed: true };
  };
  return {
    async consume(request) {
      startMinute(request.now);
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
      startMinute(request.now);
      return addCitizensWithinBound(request);
    },
  };
}

/** When the most recently looked-up citizen of an officer was looked up. */
function lastOf(citizens: Map<string, number>): number {
  let last = -Infinity;
  for (const seenAt of citizens.values()) last = seenAt;
  return last;
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

/**
 * The verdict for a script's code. Per-minute limits free up at the next minute; distinct
 * citizens an hour after the oldest of the officer's last hour was looked up (`oldest`).
 */
function verdict(code: number, limits: RateLimits, now: number, oldest = now): RateLimitVerdict {
  if (code === 0) return { isAllowed: true };
  const limit = LIMIT_BY_CODE[code - 1];
  const freedAt = limit === 'distinctCitizensPerHour' ? oldest + HOUR : (Math.floor(now / MINUTE) + 1) * MINUTE;
  return { isAllowed: false, limit, max: limits[limit], retryAfterSeconds: Math.max(1, Math.ceil((freedAt - now) / 1000)) };
}
