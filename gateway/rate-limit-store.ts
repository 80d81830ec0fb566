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
 * Distinct citizens are counted over a sliding hour, in slots of ten minutes: a citizen
 * looked up counts while its slot is one of the last seven (60 to 70 minutes), so no 60
 * minutes ever see more than the limit. A fixed clock hour let an officer read the whole
 * allowance at 08:59:59 and a whole new one at 09:00:00.
 */
const SLOT = 10 * MINUTE;
const SLOTS = 7;
const LIMIT_BY_CODE: (keyof RateLimits)[] = ['applicationPerMinute', 'officerPerMinute', 'distinctCitizensPerHour'];

/**
 * Lua: the citizens ARGV[6..] join the officer's current slot (KEYS[3]; KEYS[4..9] are the
 * six before it, newest first) only if the distinct citizens of all seven slots stay
 * within ARGV[3]; the slot expires after ARGV[5] ms. Returns {0, 0} when they fit, else
 * {3, age} with the age in slots of the oldest slot holding anyone (it frees room when it
 * leaves the window).
 */
const ADD_CITIZENS_WITHIN_BOUND = `
if #ARGV >= 6 then
  local known = {}
  local count = 0
  for k = 3, #KEYS do
    for _, member in ipairs(redis.call('SMEMBERS', KEYS[k])) do
      if not known[member] then known[member] = true; count = count + 1 end
    end
  end
  for i = 6, #ARGV do
    if not known[ARGV[i]] then known[ARGV[i]] = true; count = count + 1 end
  end
  if count > tonumber(ARGV[3]) then
    for k = #KEYS, 3, -1 do
      if redis.call('EXISTS', KEYS[k]) == 1 then return {3, k - 3} end
    end
    return {3, 0}
  end
  redis.call('SADD', KEYS[3], unpack(ARGV, 6))
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
end
return {0, 0}
`;

/**
 * One round trip, atomic across instances: count the application and the officer in this
 * minute's buckets, then add the citizens to the officer's current slot only if the
 * distinct citizens of the last hour stay within their bound (a refused request does not
 * use up the allowance). Returns {0, 0} when allowed, else {1, 0}, {2, 0} or {3, age} for
 * the limit that refused.
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
    const slot = Math.floor(request.now / SLOT);
    const [code, age] = (await redis.eval(
      script,
      2 + SLOTS,
      `proofless:rate:application:${application}:${minute}`,
      `proofless:rate:officer:${request.officer}:${minute}`,
      ...Array.from({ length: SLOTS }, (_, age) => `proofless:rate:citizens:${request.officer}:${slot - age}`),
      limits.applicationPerMinute,
      limits.officerPerMinute,
      limits.distinctCitizensPerHour,
      MINUTE,
      SLOTS * SLOT,
      ...new Set(request.citizens),
    )) as [number, number];
    return verdict(code, limits, request.now, age);
  };
  return {
    consume: (request) => run(CONSUME_SCRIPT, request.application, request),
    // DISCLOSE_SCRIPT touches only the citizens keys; the others are passed so both scripts take the same keys and arguments.
    admitDisclosed: (request) => run(DISCLOSE_SCRIPT, '', request),
  };
}

/** The same windows in this process, for a gateway without Redis or while Redis is away. */
export function memoryRateLimitStore(limits: RateLimits): RateLimitStore {
  const counters = new Map<string, number>();
  /** Each officer's citizens by slot. */
  const citizenSlots = new Map<string, Map<number, Set<string>>>();
  let currentMinute = -1;
  let currentSlot = -1;
  const startWindows = (now: number) => {
    const minute = Math.floor(now / MINUTE);
    const slot = Math.floor(now / SLOT);
    if (minute !== currentMinute) {
      counters.clear();
      currentMinute = minute;
    }
    if (slot !== currentSlot) {
      for (const [officer, slots] of citizenSlots) {
        for (const old of slots.keys()) if (old <= slot - SLOTS) slots.delete(old);
        if (slots.size === 0) citizenSlots.delete(officer);
      }
      currentSlot = slot;
    }
  };
  const addCitizensWithinBound = (request: DisclosureRequest): RateLimitVerdict => {
    const slots = citizenSlots.get(request.officer) ?? new Map<number, Set<string>>();
    const distinct = new Set([...[...slots.values()].flatMap((citizens) => [...citizens]), ...request.citizens]);
    if (distinct.size > limits.distinctCitizensPerHour) return verdict(3, limits, request.now, slots.size > 0 ? currentSlot - Math.min(...slots.keys()) : 0);
    if (request.citizens.length === 0) return { isAllowed: true };
    const current = slots.get(currentSlot) ?? new Set<string>();
    for (const citizen of request.citizens) current.add(citizen);
    slots.set(currentSlot, current);
    citizenSlots.set(request.officer, slots);
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

/**
 * The verdict for a script's code. Per-minute limits free up at the next minute; distinct
 * citizens when the oldest slot holding anyone (`age` slots old) leaves the sliding hour.
 */
function verdict(code: number, limits: RateLimits, now: number, age = 0): RateLimitVerdict {
  if (code === 0) return { isAllowed: true };
  const limit = LIMIT_BY_CODE[code - 1];
  const freedAt = limit === 'distinctCitizensPerHour' ? (Math.floor(now / SLOT) - age + SLOTS) * SLOT : (Math.floor(now / MINUTE) + 1) * MINUTE;
  return { isAllowed: false, limit, max: limits[limit], retryAfterSeconds: Math.ceil((freedAt - now) / 1000) };
}
