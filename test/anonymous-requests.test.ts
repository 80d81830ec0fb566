import { randomUUID } from 'node:crypto';
import type { AuditEntry } from '../audit/entry';
import type { AuditLog } from '../audit/log';
import { anonymousRequests } from '../gateway/anonymous-requests';
import { ZHANG_WEI } from './fixtures/registries';
import { startStack, useFixtureStack } from './helpers/stack';
import { chainInDataDir } from './helpers/audit-records';

/**
 * Requests without a valid token, per client address: an anonymous flood once wrote
 * 14,155 durable records in 10 s with item and case strings of its choosing. Past the
 * limit they are refused (429) and recorded together, one record per address and minute.
 */
const city = useFixtureStack();

const QUERY = `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`;
const MINUTE = 60_000;
/** A minute boundary well in the past, so the gateway's windows are the test's. */
const T0 = Date.UTC(2026, 10, 30, 8, 0, 0);


test('past the limit, requests without a valid token from one address are refused with 429 and recorded in one record per minute, not one each', async () => {
  let now = T0 + 5_000;
  const chainId = `anonymous-${randomUUID()}`;
  const stack = await startStack({ dataDir: city.dataDir, now: () => now, env: { PROOFLESS_RATE_LIMIT_ANONYMOUS_PER_MINUTE: '3', PROOFLESS_AUDIT_CHAIN_ID: chainId } });
  const answers: { status: number; body: unknown; requestId: string | null; retryAfter: string | null }[] = [];
  try {
    const ask = async (headers: Record<string, string>) => {
      const response = await stack.query(QUERY, undefined, { 'x-service-item': '<b>flood</b>', 'x-case-number': 'X'.repeat(60), ...headers });
      answers.push({ status: response.status, body: response.body, requestId: response.headers.get('x-request-id'), retryAfter: response.headers.get('retry-after') });
    };
    for (let i = 0; i < 5; i += 1) await ask({});
    for (let i = 0; i < 4; i += 1) await ask({ authorization: 'Bearer aaa.bbb.ccc' });
    // A caller with a valid token is not anonymous: it is not counted here.
    const known = await stack.query(QUERY, undefined, await stack.serviceHeaders());
    expect(known.status).toBe(200);
    now = T0 + MINUTE + 1_000;
    await ask({});
  } finally {
    await stack.stop();
  }
  expect(answers.map((answer) => answer.status)).toEqual([401, 401, 401, 429, 429, 429, 429, 429, 429, 401]);
  expect(answers[3].body).toEqual({
    errors: [{
      message: 'this address has made 3 requests without a valid token this minute, the most allowed; retry in 55 s',
      extensions: { code: 'RATE_LIMITED', limit: 'anonymousPerMinute', max: 3 },
    }],
  });
  expect(answers[3].retryAfter).toBe('55');
  const records = await chainInDataDir(city.dataDir, chainId);
  const byRequest = new Map(records.map((record) => [record.requestId, record]));
  // Within the limit each refusal is recorded on its own; past it, none is.
  expect([0, 1, 2, 9].map((index) => byRequest.get(answers[index].requestId as string)?.errorCodes)).toEqual([['UNAUTHENTICATED'], ['UNAUTHENTICATED'], ['UNAUTHENTICATED'], ['UNAUTHENTICATED']]);
  expect([3, 4, 5, 6, 7, 8].filter((index) => byRequest.has(answers[index].requestId as string))).toEqual([]);
  const aggregates = records.filter((record) => record.requests > 1);
  expect(aggregates).toEqual([{
    chainId,
    sequence: expect.any(Number),
    previousHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    time: new Date(T0).toISOString(),
    requestId: expect.any(String),
    application: null,
    officer: null,
    role: null,
    serviceItem: null,
    caseNumber: null,
    operationName: null,
    documentHash: null,
    coordinates: [],
    citizens: [],
    departments: [],
    outcome: 'refused',
    errorCodes: ['RATE_LIMITED'],
    latencyMs: 0,
    requests: 6,
    exchange: null,
  }]);
  // 10 anonymous requests: 4 records of their own, 1 for the other 6.
  expect(records.filter((record) => record.application === null)).toHaveLength(5);
});

test('addresses together have an allowance too: past it every address is refused, and the minute still leaves one record', async () => {
  const entries: AuditEntry[] = [];
  const auditLog = { record: async (entry: AuditEntry) => { entries.push(entry); return entry; } } as unknown as AuditLog;
  const guard = anonymousRequests({ perAddressPerMinute: 2, totalPerMinute: 3, auditLog, now: () => T0 + 30_000 });
  const answers = ['10.0.0.1', '10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1'].map((address) => guard.admit(address));
  await guard.close();
  expect(answers.slice(0, 3)).toEqual([null, null, null]);
  expect(answers.slice(3).map((error) => ({ message: error?.message, extensions: error?.extensions }))).toEqual([
    {
      message: 'requests from every address have made 3 requests without a valid token this minute, the most allowed; retry in 30 s',
      extensions: { code: 'RATE_LIMITED', limit: 'anonymousTotalPerMinute', max: 3, http: { status: 429, headers: new Map([['retry-after', '30']]) } },
    },
    {
      message: 'this address has made 2 requests without a valid token this minute, the most allowed; retry in 30 s',
      extensions: { code: 'RATE_LIMITED', limit: 'anonymousPerMinute', max: 2, http: { status: 429, headers: new Map([['retry-after', '30']]) } },
    },
  ]);
  expect(entries).toEqual([expect.objectContaining({ time: new Date(T0).toISOString(), outcome: 'refused', errorCodes: ['RATE_LIMITED'], requests: 2 })]);
});
