import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import Redis from 'ioredis';
import type { StoredRecord } from '../audit/entry';
import { deriveCacheKey } from '../gateway/cache/cache-key';
import { createDepartmentCache } from '../gateway/cache/department-cache';
import { open } from '../gateway/cache/encryption';
import { ANSWER_PREFIX, redisAnswerStore, TAG_PREFIX } from '../gateway/cache/redis-store';
import { ensureDevSecret } from '../lib/dev-secrets';
import { createLogger } from '../lib/logger';
import { pseudonym } from '../lib/pseudonym';
import { REPO_ROOT } from '../lib/paths';
import { publishRegistryChange } from '../subgraphs/shared/registry-changes';
import { CHEN_QIANG, LI_NA, persons, WANG_XIUYING, writeFixtureRegistries, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { startOwnRedis, type OwnRedis } from './helpers/redis-server';
import { startStack, type Stack } from './helpers/stack';

/**
 * The cache shared by gateway instances through a real Redis, a server of this file's own
 * so it can be read whole, stopped and restarted: two gateways over one fixture city.
 */
let redisServer: OwnRedis;
let redis: Redis;
let fixture: ReturnType<typeof writeFixtureRegistries>;
let first: Stack;
let second: Stack;
/** What the first gateway logged at warn and above. */
const firstLog: string[] = [];

beforeAll(async () => {
  redisServer = await startOwnRedis();
  redis = new Redis(redisServer.url);
  fixture = writeFixtureRegistries();
  const env = { PROOFLESS_REDIS_URL: redisServer.url };
  const logger = createLogger('gateway', { level: 'warn', destination: { write: (line: string) => void firstLog.push(JSON.parse(line).msg) } });
  first = await startStack({ dataDir: fixture.dataDir, env, logger });
  second = await startStack({ dataDir: fixture.dataDir, env });
});

afterAll(async () => {
  await first?.stop();
  await second?.stop();
  redis?.disconnect();
  await redisServer?.stop();
  fixture?.remove();
});

beforeEach(() => {
  first.resetCounts();
  second.resetCounts();
});

const NAME_QUERY = 'query Name($id: ID!) { citizen(idNumber: $id) { identity { name } } }';
const nameOf = (name: string) => ({ data: { citizen: { identity: { name } } } });
const cacheKey = () => ensureDevSecret(fixture.dataDir, 'dev-cache-key');

/** Polls `condition` (a gateway answering fresh, Redis coming back) up to ~10 s; how long it took is never asserted. */
async function eventually(condition: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('condition never held');
}

async function recordOf(stack: Stack, requestId: string | null): Promise<StoredRecord> {
  for (const chainId of await stack.audit.store.listChains()) {
    const found = (await stack.audit.store.readChain(chainId, 0, 100000)).find((record) => record.requestId === requestId);
    if (found) return found;
  }
  throw new Error(`no audit record for request ${requestId}`);
}

test('a repeated query is answered from the cache, by either gateway: the department is asked once', async () => {
  expect((await first.query(NAME_QUERY, { id: ZHANG_ZIHAN })).body).toEqual(nameOf('张子涵'));
  expect((await first.query(NAME_QUERY, { id: ZHANG_ZIHAN })).body).toEqual(nameOf('张子涵'));
  expect((await second.query(NAME_QUERY, { id: ZHANG_ZIHAN })).body).toEqual(nameOf('张子涵'));
  expect(first.subgraphRequests.household + second.subgraphRequests.household).toBe(1);
});

test('checks and the audit record come before the cache: a refusal stays a refusal with its record; a hit is recorded with its citizen', async () => {
  await first.query(NAME_QUERY, { id: WANG_XIUYING });
  const hit = await first.query(NAME_QUERY, { id: WANG_XIUYING });
  expect(hit.body).toEqual(nameOf('王秀英'));
  expect(first.subgraphRequests.household).toBe(1);
  expect(await recordOf(first, hit.headers.get('x-request-id'))).toMatchObject({
    outcome: 'ok', citizens: [WANG_XIUYING], departments: ['household'], coordinates: ['Citizen.identity', 'Identity.name', 'Query.citizen'],
  });

  // A caller not granted the service item it claims, asking for the answer the cache holds.
  const refused = await first.query(NAME_QUERY, { id: WANG_XIUYING }, await first.serviceHeaders({ serviceItems: ['330100-JY-0001'] }));
  expect({ status: refused.status, body: refused.body }).toEqual({
    status: 403,
    body: { errors: [{ message: 'application test-window is not granted service item TEST-EVERY-FIELD', extensions: { code: 'FORBIDDEN' } }] },
  });
  expect(await recordOf(first, refused.headers.get('x-request-id'))).toMatchObject({
    outcome: 'refused', errorCodes: ['FORBIDDEN'], citizens: [WANG_XIUYING], departments: [], coordinates: [],
  });
  expect(first.subgraphRequests.household).toBe(1);
});

describe('what Redis holds', () => {
  test('names are HMACs and values AES-256-GCM: no ID number or name anywhere, and values open only with the key, under their own name', async () => {
    await redis.flushall();
    await first.query(NAME_QUERY, { id: ZHANG_WEI });
    const keys = await redis.keys('*');
    const answerNames = keys.filter((key) => key.startsWith(ANSWER_PREFIX));
    expect(answerNames).toHaveLength(1);
    const householdTag = `${TAG_PREFIX}household:${pseudonym(ensureDevSecret(fixture.dataDir, 'dev-pseudonym-key'), ZHANG_WEI)}`;
    expect(keys).toContain(householdTag);
    expect(await redis.smembers(householdTag)).toEqual(answerNames);

    const everything: string[] = [...keys];
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'string') everything.push((await redis.getBuffer(key))!.toString('latin1'), (await redis.getBuffer(key))!.toString('utf8'));
      if (type === 'set') everything.push(...(await redis.smembers(key)));
    }
    for (const idNumber of persons.map((person) => person.idNumber)) expect(everything.join('\n')).not.toContain(idNumber);
    expect(everything.join('\n')).not.toContain('张伟');

    const sealed = (await redis.getBuffer(answerNames[0]))!;
    const opened = open(deriveCacheKey(cacheKey(), 'entry values'), answerNames[0], sealed);
    expect(JSON.parse(opened!)).toMatchObject({ data: { citizen: expect.objectContaining({ identity: { name: '张伟' } }) } });
    expect(opened).toContain(ZHANG_WEI);
    expect(open(deriveCacheKey(Buffer.alloc(32, 1), 'entry values'), answerNames[0], sealed)).toBeUndefined();
    expect(open(deriveCacheKey(cacheKey(), 'entry values'), `${ANSWER_PREFIX}another-name`, sealed)).toBeUndefined();
  });

  test('a value with one byte changed is rejected: the department is asked again and the answer is right', async () => {
    await redis.flushall();
    await first.query(NAME_QUERY, { id: ZHANG_WEI });
    const [name] = await redis.keys(`${ANSWER_PREFIX}*`);
    const sealed = (await redis.getBuffer(name))!;
    sealed[sealed.length - 1] ^= 0x01;
    await redis.set(name, sealed, 'KEEPTTL');
    first.resetCounts();
    expect((await first.query(NAME_QUERY, { id: ZHANG_WEI })).body).toEqual(nameOf('张伟'));
    expect(first.subgraphRequests.household).toBe(1);
  });

  test('an entry lasts its TTL', async () => {
    const cache = createDepartmentCache({
      store: redisAnswerStore(redis, cacheKey()),
      ttlSeconds: { household: 1 },
      entryKeySecret: Buffer.alloc(32, 2),
      pseudonymKey: Buffer.alloc(32, 3),
    });
    const fetch = () => cache.cacheableFetch('household', { query: 'query T__household__0($id:ID!){citizen(idNumber:$id){identity{name}}}', variables: { id: ZHANG_WEI } })!;
    await cache.rememberAnswer(fetch(), { data: { citizen: null } });
    expect(await cache.lookUp(fetch())).toEqual({ data: { citizen: null } });
    expect(await redis.pttl(ANSWER_PREFIX + fetch().key)).toBeGreaterThan(0);
    await eventually(async () => (await cache.lookUp(fetch())) === undefined);
  });
});

describe('a registry change', () => {
  const rename = (idNumber: string, name: string) => {
    const db = new Database(path.join(fixture.dataDir, 'household.sqlite'));
    db.prepare('UPDATE person SET name = ? WHERE id_number = ?').run(name, idNumber);
    db.close();
  };
  const bothAnswer = async (name: string) =>
    JSON.stringify([(await first.query(NAME_QUERY, { id: LI_NA })).body, (await second.query(NAME_QUERY, { id: LI_NA })).body]) === JSON.stringify([nameOf(name), nameOf(name)]);
  afterAll(() => rename(LI_NA, '李娜'));

  test('published by the department, reaches every gateway: both answer fresh', async () => {
    expect(await bothAnswer('李娜')).toBe(true);
    rename(LI_NA, '李娜娜');
    // Still the kept answer: the department has not said anything yet.
    expect(await bothAnswer('李娜')).toBe(true);
    const pseudonymKey = ensureDevSecret(fixture.dataDir, 'dev-pseudonym-key');
    expect(await publishRegistryChange(redis, pseudonymKey, 'household', LI_NA)).toBe(2);
    await eventually(() => bothAnswer('李娜娜'));
  });

  test('npm run registry:changed does the same for a department\'s own systems, and never prints the ID number', async () => {
    rename(LI_NA, '李娜二');
    expect(await bothAnswer('李娜娜')).toBe(true);
    const run = (...args: string[]) =>
      promisify(execFile)(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), [path.join(REPO_ROOT, 'scripts/registry-changed.ts'), ...args], {
        env: { ...process.env, PROOFLESS_REDIS_URL: redisServer.url, PROOFLESS_DATA_DIR: fixture.dataDir },
      }).then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (error) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }));
    expect(await run('household', LI_NA)).toEqual({ code: 0, stdout: 'registry:changed: sent to 2 gateway(s); they drop the answers they keep from household about this citizen\n', stderr: '' });
    await eventually(() => bothAnswer('李娜二'));
    expect(await run('household', LI_NA.slice(0, 17))).toEqual({ code: 2, stdout: '', stderr: 'registry:changed: idNumber must be 18 characters (GB 11643), got 17\n' });
  });
});

const PERMIT_QUERY = 'query Permit($id: ID!) { citizen(idNumber: $id) { residence { permitNumber } } }';
const PERMIT = { data: { citizen: { residence: { permitNumber: '330106202300456' } } } };

/** Asks until an answer comes from the cache (the residence department is not asked), every answer right. */
async function untilCached(stack: Stack): Promise<void> {
  await eventually(async () => {
    const before = stack.subgraphRequests.residence;
    expect((await stack.query(PERMIT_QUERY, { id: CHEN_QIANG })).body).toEqual(PERMIT);
    return stack.subgraphRequests.residence === before;
  });
}

describe('Redis going away', () => {
  test('stopped mid-run: requests keep being answered by the departments, the gateway says so once, and the cache comes back with Redis', async () => {
    const ask = async () => expect((await first.query(PERMIT_QUERY, { id: CHEN_QIANG })).body).toEqual(PERMIT);
    await ask();
    await ask();
    expect(first.subgraphRequests.residence).toBe(1);

    await redisServer.stop();
    for (let i = 0; i < 3; i += 1) await ask();
    expect(first.subgraphRequests.residence).toBe(4);

    await redisServer.start();
    await untilCached(first);
    expect(firstLog.filter((message) => message.startsWith('cache:'))).toEqual([
      'cache: Redis is unavailable; asking departments directly until it is back',
      'cache: Redis is back; caching department answers again',
    ]);
  });

  test('down when the gateway starts: it starts, asks the departments (no in-process fallback), and caches once Redis is up', async () => {
    await redisServer.stop();
    const late = await startStack({ dataDir: fixture.dataDir, env: { PROOFLESS_REDIS_URL: redisServer.url } });
    try {
      for (let i = 0; i < 2; i += 1) expect((await late.query(PERMIT_QUERY, { id: CHEN_QIANG })).body).toEqual(PERMIT);
      expect(late.subgraphRequests.residence).toBe(2);
      await redisServer.start();
      await untilCached(late);
    } finally {
      await late.stop();
    }
  });
});
