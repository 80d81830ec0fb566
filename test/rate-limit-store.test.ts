import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { fallbackRateLimitStore, memoryRateLimitStore, redisRateLimitStore, type RateLimits, type RateLimitStore } from '../gateway/rate-limit-store';
import { pseudonym } from '../lib/pseudonym';

const LIMITS: RateLimits = { applicationPerMinute: 3, officerPerMinute: 2, distinctCitizensPerHour: 2 };
const NOON = Date.UTC(2026, 10, 26, 12, 0, 30);

let redis: Redis;

beforeAll(() => {
  redis = new Redis('redis://127.0.0.1:6379');
});

afterAll(() => redis.quit());

describe.each([
  ['Redis', () => redisRateLimitStore(redis, LIMITS)],
  ['in-process', () => memoryRateLimitStore(LIMITS)],
])('the %s store', (_name, makeStore: () => RateLimitStore) => {
  let store: RateLimitStore;
  let application: string;
  beforeEach(() => {
    store = makeStore();
    application = `app-${randomUUID()}`;
  });

  test('counts an application across its officers, per minute', async () => {
    const officers = ['o1', 'o2', 'o3', 'o4'].map((officer) => `${application}/${officer}`);
    for (const officer of officers.slice(0, 3)) expect(await store.consume({ application, officer, citizens: [], now: NOON })).toEqual({ isAllowed: true });
    expect(await store.consume({ application, officer: officers[3], citizens: [], now: NOON })).toEqual({
      isAllowed: false, limit: 'applicationPerMinute', max: 3, retryAfterSeconds: 30,
    });
    expect(await store.consume({ application, officer: officers[3], citizens: [], now: NOON + 60_000 })).toEqual({ isAllowed: true });
  });

  test('counts distinct citizens per officer per hour; a refused request uses none of the allowance', async () => {
    const officer = `${application}/o1`;
    const at = (minutes: number) => NOON + minutes * 60_000;
    expect(await store.consume({ application, officer, citizens: ['a'], now: at(0) })).toEqual({ isAllowed: true });
    // Room comes back an hour after 'a' was looked up, at 13:00:30.
    expect(await store.consume({ application, officer, citizens: ['a', 'b', 'c'], now: at(1) })).toEqual({
      isAllowed: false, limit: 'distinctCitizensPerHour', max: 2, retryAfterSeconds: 60 * 60 - 60,
    });
    expect(await store.consume({ application, officer, citizens: ['b', 'a'], now: at(2) })).toEqual({ isAllowed: true });
    expect(await store.consume({ application, officer, citizens: ['c'], now: at(3) })).toMatchObject({ isAllowed: false, limit: 'distinctCitizensPerHour' });
    expect(await store.consume({ application, officer, citizens: ['c'], now: at(60) })).toMatchObject({ isAllowed: false, limit: 'distinctCitizensPerHour' });
    expect(await store.consume({ application, officer, citizens: ['c'], now: at(70) })).toEqual({ isAllowed: true });
  });

  test('the hour slides: an allowance read just before a clock hour is not renewed at it', async () => {
    const officer = `${application}/o1`;
    const at = (seconds: number) => Date.UTC(2026, 10, 30, 8, 59, 59) + seconds * 1000;
    expect(await store.consume({ application, officer, citizens: ['a', 'b'], now: at(0) })).toEqual({ isAllowed: true });
    expect(await store.consume({ application, officer, citizens: ['c'], now: at(1) })).toEqual({
      isAllowed: false, limit: 'distinctCitizensPerHour', max: 2, retryAfterSeconds: 60 * 60 - 1,
    });
    // A citizen looked up again counts from now: 'a' and 'b' again at 09:30 hold the allowance until 10:30.
    expect(await store.consume({ application, officer, citizens: ['a', 'b'], now: at(30 * 60 + 1) })).toEqual({ isAllowed: true });
    expect(await store.consume({ application, officer, citizens: ['c'], now: at(70 * 60 + 1) })).toMatchObject({ isAllowed: false, limit: 'distinctCitizensPerHour' });
    expect(await store.consume({ application, officer, citizens: ['c'], now: at(100 * 60 + 1) })).toEqual({ isAllowed: true });
  });

  test('citizens an answer discloses count too; an answer that would go over is refused and uses none of the allowance', async () => {
    const officer = `${application}/o1`;
    const at = (minutes: number) => NOON + minutes * 60_000;
    expect(await store.consume({ application, officer, citizens: ['a'], now: at(0) })).toEqual({ isAllowed: true });
    expect(await store.admitDisclosed({ officer, citizens: ['a', 'b', 'c'], now: at(0) })).toEqual({
      isAllowed: false, limit: 'distinctCitizensPerHour', max: 2, retryAfterSeconds: 60 * 60,
    });
    expect(await store.admitDisclosed({ officer, citizens: ['a', 'b'], now: at(1) })).toEqual({ isAllowed: true });
    expect(await store.consume({ application, officer, citizens: ['c'], now: at(2) })).toMatchObject({ isAllowed: false, limit: 'distinctCitizensPerHour' });
    expect(await store.admitDisclosed({ officer, citizens: ['b', 'a'], now: at(3) })).toEqual({ isAllowed: true });
    expect(await store.admitDisclosed({ officer, citizens: ['c'], now: at(70) })).toEqual({ isAllowed: true });
  });
});

test('Redis holds only pseudonyms, each key expiring with its window', async () => {
  const key = Buffer.alloc(32, 9);
  const application = pseudonym(key, `app-${randomUUID()}`);
  const officer = pseudonym(key, `officer-${randomUUID()}`);
  const citizen = pseudonym(key, '330106197503120015');
  await redisRateLimitStore(redis, LIMITS).consume({ application, officer, citizens: [citizen], now: Date.now() });
  const keys = await redis.keys(`proofless:rate:*${officer}*`);
  expect(keys.length).toBe(2);
  const members = await redis.zrange(keys.find((k) => k.includes(':citizens:')) as string, 0, -1);
  expect(members).toEqual([citizen]);
  expect(members.join()).not.toContain('330106');
  for (const k of keys) expect(await redis.pttl(k)).toBeGreaterThan(0);
});

test('while Redis is away, counting falls back to this process and says so once', async () => {
  const unreachable = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
  unreachable.on('error', () => undefined);
  const warnings: string[] = [];
  const store = fallbackRateLimitStore(redisRateLimitStore(unreachable, LIMITS), memoryRateLimitStore(LIMITS), (message) => warnings.push(message));
  const request = { application: 'a', officer: 'a/o', citizens: [], now: NOON };
  expect(await store.consume(request)).toEqual({ isAllowed: true });
  expect(await store.consume(request)).toEqual({ isAllowed: true });
  expect(await store.consume(request)).toMatchObject({ isAllowed: false, limit: 'officerPerMinute' });
  expect(warnings).toEqual(['rate limits: Redis is unavailable; counting in this process until it is back']);
  unreachable.disconnect();
});
