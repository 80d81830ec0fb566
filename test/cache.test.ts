import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { keepForMs } from '../gateway/cache/cache-control';
import { loadCacheConfig } from '../gateway/cache/config';
import type { AnswerStore } from '../gateway/cache/answer-store';
import { createDepartmentCache, type DepartmentCache } from '../gateway/cache/department-cache';
import { memoryAnswerStore } from '../gateway/cache/memory-store';
import { CircuitBreaker } from '../gateway/circuit-breaker';
import type { GatewayContext } from '../gateway/context';
import type { ReceiptChecker } from '../gateway/receipts';
import { DepartmentDataSource } from '../gateway/data-source';
import { ConfigError } from '../lib/env';
import { pseudonym } from '../lib/pseudonym';
import { LI_NA, ZHANG_WEI } from './fixtures/registries';

const PSEUDONYM_KEY = Buffer.alloc(32, 7);
const TTL = { household: 60, residence: 60, license: 60, service: 0, audit: 0 };
/** A fetch as the query planner writes one: operation first, ignored characters stripped. */
const PERSON_QUERY = 'query Person__household__0($id:ID!){citizen(idNumber:$id){identity{name}}}';
const MEMBERS_QUERY = 'query Members__household__0($representations:[_Any!]!){_entities(representations:$representations){...on Household{members{citizen{idNumber}}}}}';

function memoryCache(store: AnswerStore = memoryAnswerStore({ maxEntries: 100 }), warn?: (message: string) => void): DepartmentCache {
  return createDepartmentCache({ store, ttlSeconds: TTL, entryKeySecret: Buffer.alloc(32, 1), pseudonymKey: PSEUDONYM_KEY, operationTimeoutMs: 50, warn });
}

describe('configuration', () => {
  const readKey = () => Buffer.alloc(32, 3);

  test('defaults: on; 60 s for household, residence and licence answers; service and audit never cached; no key without Redis', () => {
    expect(loadCacheConfig({}, readKey)).toEqual({ isEnabled: true, ttlSeconds: TTL, maxEntries: 10000 });
  });

  test('the key is read when answers go to Redis', () => {
    expect(loadCacheConfig({ PROOFLESS_REDIS_URL: 'redis://127.0.0.1:6379' }, readKey).key).toEqual(Buffer.alloc(32, 3));
    expect(loadCacheConfig({ PROOFLESS_REDIS_URL: 'redis://127.0.0.1:6379', PROOFLESS_CACHE: 'off' }, readKey)).toEqual({ isEnabled: false, ttlSeconds: TTL, maxEntries: 10000 });
  });

  test('per-department TTLs and the bound are read; 0 turns a department off', () => {
    expect(loadCacheConfig({ PROOFLESS_CACHE_TTL_HOUSEHOLD: '5', PROOFLESS_CACHE_TTL_LICENSE: '0', PROOFLESS_CACHE_MAX_ENTRIES: '20' }, readKey)).toEqual({
      isEnabled: true, ttlSeconds: { ...TTL, household: 5, license: 0 }, maxEntries: 20,
    });
  });

  test.each([
    [{ PROOFLESS_CACHE: 'yes' }, 'PROOFLESS_CACHE must be on or off, got "yes"'],
    [{ PROOFLESS_CACHE_TTL_SERVICE: '30' }, `PROOFLESS_CACHE_TTL_SERVICE must be 0: the service bureau's answers depend on the caller's purpose headers, got "30"`],
    [{ PROOFLESS_CACHE_TTL_AUDIT: '1' }, 'PROOFLESS_CACHE_TTL_AUDIT must be 0: audit records are always read fresh, got "1"'],
    [{ PROOFLESS_CACHE_TTL_RESIDENCE: '-1' }, 'PROOFLESS_CACHE_TTL_RESIDENCE must be a whole number from 0 to 86400, got "-1"'],
  ])('%j is refused, naming the variable', (env, message) => {
    expect(() => loadCacheConfig(env, readKey)).toThrow(new ConfigError(message));
  });
});

describe("a department's cache-control hint", () => {
  test.each([
    ['no header: the configured TTL', 60, null, 60_000],
    ["Apollo Server's default no-store: read as no hint", 60, 'no-store', 60_000],
    ['max-age shortens', 60, 'max-age=5, public', 5_000],
    ['max-age never lengthens', 60, 'max-age=600', 60_000],
    ['max-age=0: never cached', 60, 'max-age=0', 0],
    ['private: never cached (keys do not hold the caller)', 60, 'max-age=30, private', 0],
    ['a department configured off stays off', 0, 'max-age=30, public', 0],
  ])('%s', (_case, ttl, header, keepMs) => {
    expect(keepForMs(ttl, header)).toBe(keepMs);
  });
});

describe('the department cache', () => {
  test('queries to departments with a TTL are cacheable; mutations, the service bureau and the audit department are not', () => {
    const cache = memoryCache();
    expect(cache.cacheableFetch('household', { query: PERSON_QUERY, variables: { id: ZHANG_WEI } })).toMatchObject({ department: 'household' });
    expect(cache.cacheableFetch('household', { query: '{citizen(idNumber:"330106197503120015"){identity{name}}}' })).toMatchObject({ department: 'household' });
    expect(cache.cacheableFetch('household', { query: 'mutation Change__household__0{change{id}}' })).toBeUndefined();
    expect(cache.cacheableFetch('service', { query: 'query Checklist__service__0{checklist{items}}' })).toBeUndefined();
    expect(cache.cacheableFetch('audit', { query: 'query Records__audit__0{auditRecords{records{time}}}' })).toBeUndefined();
    expect(cache.cacheableFetch('unknown', { query: PERSON_QUERY })).toBeUndefined();
  });

  test('keys: the same fetch gets the same key whatever the order of its variables; other variables, another key', () => {
    const cache = memoryCache();
    const key = (variables: Record<string, unknown>) => cache.cacheableFetch('household', { query: PERSON_QUERY, variables })?.key;
    expect(key({ id: ZHANG_WEI, x: { a: 1, b: 2 } })).toBe(key({ x: { b: 2, a: 1 }, id: ZHANG_WEI }));
    expect(key({ id: ZHANG_WEI })).not.toBe(key({ id: LI_NA }));
    expect(key({ id: ZHANG_WEI })).not.toContain(ZHANG_WEI);
    expect(cache.cacheableFetch('residence', { query: PERSON_QUERY, variables: { id: ZHANG_WEI } })?.key).not.toBe(key({ id: ZHANG_WEI }));
  });

  test('an answer is kept and served as a fresh copy each time; answers with errors are not kept', async () => {
    const cache = memoryCache();
    const fetch = () => cache.cacheableFetch('household', { query: PERSON_QUERY, variables: { id: ZHANG_WEI } })!;
    const answer = { data: { citizen: { identity: { name: '张伟' } } } };
    expect(await cache.lookUp(fetch())).toBeUndefined();
    await cache.rememberAnswer(fetch(), { ...answer, http: { headers: new Headers({ 'cache-control': 'no-store' }) } });
    const first = await cache.lookUp(fetch());
    expect(first).toEqual(answer);
    (first!.data as { citizen: unknown }).citizen = null;
    expect(await cache.lookUp(fetch())).toEqual(answer);

    const other = () => cache.cacheableFetch('household', { query: PERSON_QUERY, variables: { id: LI_NA } })!;
    await cache.rememberAnswer(other(), { data: { citizen: null }, errors: [{ message: 'registry unavailable' }] });
    expect(await cache.lookUp(other())).toBeUndefined();
    expect(cache.counters).toEqual({ hits: 2, misses: 2, errors: 0, skips: 0, invalidated: 0 });
  });

  test("a registry change drops that department's answers about the citizen, found in the variables or in the answer", async () => {
    const cache = memoryCache();
    const person = (department: string, id: string) => cache.cacheableFetch(department, { query: PERSON_QUERY, variables: { id } })!;
    const members = cache.cacheableFetch('household', { query: MEMBERS_QUERY, variables: { representations: [{ __typename: 'Household', householdNumber: '330106001234' }] } })!;
    await cache.rememberAnswer(person('household', ZHANG_WEI), { data: { citizen: { identity: { name: '张伟' } } } });
    await cache.rememberAnswer(person('household', LI_NA), { data: { citizen: { identity: { name: '李娜' } } } });
    await cache.rememberAnswer(person('residence', LI_NA), { data: { citizen: { residence: null } } });
    await cache.rememberAnswer(members, { data: { _entities: [{ members: [{ citizen: { idNumber: ZHANG_WEI } }, { citizen: { idNumber: LI_NA } }] }] } });

    await cache.citizenChanged('household', pseudonym(PSEUDONYM_KEY, LI_NA));
    expect(await cache.lookUp(person('household', LI_NA))).toBeUndefined();
    expect(await cache.lookUp(members)).toBeUndefined();
    expect(await cache.lookUp(person('household', ZHANG_WEI))).toBeDefined();
    expect(await cache.lookUp(person('residence', LI_NA))).toBeDefined();
    expect(cache.counters.invalidated).toBe(2);
  });

  test('an answer fetched before a change to one of its citizens arrived is passed on but not kept', async () => {
    const cache = memoryCache();
    const before = cache.cacheableFetch('household', { query: PERSON_QUERY, variables: { id: LI_NA } })!;
    const unrelated = cache.cacheableFetch('household', { query: PERSON_QUERY, variables: { id: ZHANG_WEI } })!;
    await cache.citizenChanged('household', pseudonym(PSEUDONYM_KEY, LI_NA));
    await cache.rememberAnswer(before, { data: { citizen: { identity: { name: '李娜' } } } });
    await cache.rememberAnswer(unrelated, { data: { citizen: { identity: { name: '张伟' } } } });
    expect(await cache.lookUp(before)).toBeUndefined();
    expect(await cache.lookUp(unrelated)).toEqual({ data: { citizen: { identity: { name: '张伟' } } } });
    const after = cache.cacheableFetch('household', { query: PERSON_QUERY, variables: { id: LI_NA } })!;
    await cache.rememberAnswer(after, { data: { citizen: { identity: { name: '李娜' } } } });
    expect(await cache.lookUp(after)).toBeDefined();
  });

  test('a store that hangs or is unavailable never holds a request up: the cache steps aside, and says so once', async () => {
    let isAvailable = true;
    let isHanging = true;
    const working = memoryAnswerStore({ maxEntries: 10 });
    const flaky: AnswerStore = {
      name: 'Redis',
      isAvailable: () => isAvailable,
      get: (key) => (isHanging ? new Promise(() => undefined) : working.get(key)),
      set: (key, answer, ttlMs, tags) => (isHanging ? new Promise(() => undefined) : working.set(key, answer, ttlMs, tags)),
      dropTagged: (tag) => working.dropTagged(tag),
    };
    const warnings: string[] = [];
    const cache = memoryCache(flaky, (message) => warnings.push(message));
    const fetch = () => cache.cacheableFetch('household', { query: PERSON_QUERY, variables: { id: ZHANG_WEI } })!;
    expect(await cache.lookUp(fetch())).toBeUndefined();
    await cache.rememberAnswer(fetch(), { data: { citizen: null } });
    isAvailable = false;
    expect(await cache.lookUp(fetch())).toBeUndefined();
    isAvailable = true;
    isHanging = false;
    await cache.rememberAnswer(fetch(), { data: { citizen: null } });
    expect(await cache.lookUp(fetch())).toEqual({ data: { citizen: null } });
    expect(cache.counters).toEqual({ hits: 1, misses: 0, errors: 2, skips: 1, invalidated: 0 });
    expect(warnings).toEqual([
      'cache: Redis is unavailable; asking departments directly until it is back',
      'cache: Redis is back; caching department answers again',
    ]);
  });
});

describe('the data source with a cache', () => {
  let server: http.Server;
  let url: string;
  let requests: string[];
  let cacheControl: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        requests.push(JSON.parse(body).query);
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': cacheControl });
        res.end(JSON.stringify({ data: { citizen: { identity: { name: '张伟' } } } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    requests = [];
    cacheControl = 'no-store';
  });

  /** A fetch of an incoming operation, as @apollo/gateway's executor hands it to the data source. */
  function fetchOf(query: string, context: Partial<GatewayContext> = {}) {
    const departmentsCalled = new Set<string>();
    const options = {
      // GraphQLDataSourceRequestKind.INCOMING_OPERATION, which @apollo/gateway exports as a type only.
      kind: 'incoming operation',
      request: { query, variables: { id: ZHANG_WEI } },
      incomingRequestContext: { context: { departmentsCalled, ...context }, request: { http: { headers: new Headers() } }, overallCachePolicy: { restrict: () => undefined } },
      context: { departmentsCalled },
    } as unknown as GraphQLDataSourceProcessOptions<GatewayContext>;
    return { options, departmentsCalled };
  }

  /** These tests are of the cache alone, against a plain test server: signatures are tested in test/attack-departments.test.ts, receipts in test/attack-receipts.test.ts. */
  const noSignature = () => ({ headers: {}, signatureBase: '' });
  const anyReceipt: ReceiptChecker = {
    receiptOf: () => ({ receipt: { department: 'household', requestDigest: '0'.repeat(64), answerDigest: '0'.repeat(64), status: 200, chainId: 'household:test', sequence: 1, time: new Date().toISOString(), keyId: 'k', signature: '' }, problem: null }),
    checkpointOf: () => ({ checkpoint: null, problem: null }),
  };

  test('a repeated query is answered once by the department; the kept answer still counts as a call to it', async () => {
    const department = new DepartmentDataSource('household', url, { cache: memoryCache(), sign: noSignature, receipts: anyReceipt });
    const first = fetchOf(PERSON_QUERY);
    expect((await department.process(first.options)).data).toEqual({ citizen: { identity: { name: '张伟' } } });
    const second = fetchOf(PERSON_QUERY);
    expect(await department.process(second.options)).toEqual({ data: { citizen: { identity: { name: '张伟' } } } });
    expect(requests).toEqual([PERSON_QUERY]);
    expect([...second.departmentsCalled]).toEqual(['household']);
  });

  test('a mutation goes to the department every time', async () => {
    const mutation = 'mutation Change__household__0($id:ID!){change(idNumber:$id){identity{name}}}';
    const department = new DepartmentDataSource('household', url, { cache: memoryCache(), sign: noSignature, receipts: anyReceipt });
    await department.process(fetchOf(mutation).options);
    await department.process(fetchOf(mutation).options);
    expect(requests).toEqual([mutation, mutation]);
  });

  test.each(['max-age=0', 'max-age=60, private'])('a department answering cache-control: %s is asked every time', async (header) => {
    cacheControl = header;
    const department = new DepartmentDataSource('household', url, { cache: memoryCache(), sign: noSignature, receipts: anyReceipt });
    await department.process(fetchOf(PERSON_QUERY).options);
    await department.process(fetchOf(PERSON_QUERY).options);
    expect(requests).toEqual([PERSON_QUERY, PERSON_QUERY]);
  });

  test("a kept answer is served while the department's circuit is open", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openMs: 60_000 });
    const department = new DepartmentDataSource('household', url, { cache: memoryCache(), breaker, sign: noSignature, receipts: anyReceipt });
    await department.process(fetchOf(PERSON_QUERY).options);
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    expect(await department.process(fetchOf(PERSON_QUERY).options)).toEqual({ data: { citizen: { identity: { name: '张伟' } } } });
    expect(requests).toEqual([PERSON_QUERY]);
  });
});
