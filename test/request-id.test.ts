import path from 'node:path';
import { request } from 'undici';
import { callDepartmentAsGateway, mutualTlsAgent } from './helpers/federation-security';
import type { IncomingMessage } from 'node:http';
import Database from 'better-sqlite3';
import { createLogger } from '../lib/logger';
import { writeFixtureRegistries, ZHANG_WEI } from './fixtures/registries';
import { auditRecordOf } from './helpers/audit-records';
import { startStack, type Stack } from './helpers/stack';

/**
 * Every answer names its request (CONVENTIONS habit 11, Hive Gateway's useRequestId): the
 * ID is chosen where the request arrives, sent back on every response whatever answers it
 * (a route, a refusal before GraphQL, a bad token, the audit log failing), and is the one
 * the audit record, the request log line and the departments called see.
 */
let fixture: ReturnType<typeof writeFixtureRegistries>;
let stack: Stack;
const logLines: Record<string, unknown>[] = [];
const logWaiters: Array<() => void> = [];

beforeAll(async () => {
  fixture = writeFixtureRegistries();
  const destination = {
    write(line: string) {
      logLines.push(JSON.parse(line));
      for (const wake of logWaiters.splice(0)) wake();
    },
  };
  stack = await startStack({ dataDir: fixture.dataDir, logger: createLogger('gateway', { level: 'info', destination }) });
});

afterAll(async () => {
  await stack.stop();
  fixture.remove();
});

/** The gateway's request log line for this request ID, once written (didAnswer runs after the answer is sent). */
async function logLineOf(requestId: string): Promise<Record<string, unknown>> {
  for (;;) {
    const line = logLines.find((candidate) => candidate.requestId === requestId);
    if (line) return line;
    await new Promise<void>((resolve) => logWaiters.push(resolve));
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const QUERY = `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`;

async function send(pathname: string, init: RequestInit = {}): Promise<{ status: number; requestId: string | null }> {
  const response = await fetch(new URL(pathname, stack.gatewayUrl), init);
  await response.arrayBuffer();
  return { status: response.status, requestId: response.headers.get('x-request-id') };
}

const post = (body: string, headers: Record<string, string> = {}) =>
  send('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

test.each([
  ['an unknown path (404)', () => send('/nowhere'), 404],
  ['/healthz', () => send('/healthz'), 200],
  ['/readyz', () => send('/readyz'), 200],
  ['/metrics', () => send('/metrics'), 200],
  ['the audit console', () => send('/audit'), 200],
  ['an unreadable body (400)', () => post('{"query": '), 400],
  ['a wrong content type (415)', () => send('/graphql', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }), 415],
  ['a body too large (413)', () => post(JSON.stringify({ query: `{ __typename } #${'x'.repeat(200 * 1024)}` })), 413],
  ['a GET blocked as CSRF (400)', () => send('/graphql?query=%7B__typename%7D'), 400],
  ['a bad token (401)', () => post(JSON.stringify({ query: QUERY }), { authorization: 'Bearer aaa.bbb.ccc' }), 401],
  ['an answer (200)', async () => post(JSON.stringify({ query: QUERY }), await stack.serviceHeaders()), 200],
])('%s carries a new x-request-id', async (_what, request, status) => {
  const answer = await request();
  expect(answer).toEqual({ status, requestId: expect.stringMatching(UUID) });
});

test('a 503 AUDIT_UNAVAILABLE carries it too', async () => {
  const db = new Database(path.join(fixture.dataDir, 'audit.sqlite'));
  db.exec("CREATE TRIGGER refuse_audit_request_id BEFORE INSERT ON audit_record BEGIN SELECT RAISE(ABORT, 'disk full'); END");
  try {
    expect(await post(JSON.stringify({ query: QUERY }), await stack.serviceHeaders())).toEqual({ status: 503, requestId: expect.stringMatching(UUID) });
    expect(await post(JSON.stringify({ query: QUERY }), { authorization: 'Bearer aaa.bbb.ccc', 'x-service-item': 'TEST' })).toEqual({ status: 503, requestId: expect.stringMatching(UUID) });
  } finally {
    db.exec('DROP TRIGGER refuse_audit_request_id');
    db.close();
  }
});

test('a caller\'s own sensible x-request-id is kept on every response; a nonsense one is replaced', async () => {
  const own = { 'x-request-id': 'window-7f3a9c21-0002' };
  expect(await send('/nowhere', { headers: own })).toEqual({ status: 404, requestId: 'window-7f3a9c21-0002' });
  expect(await post('{"query": ', own)).toEqual({ status: 400, requestId: 'window-7f3a9c21-0002' });
  expect(await post(JSON.stringify({ query: QUERY }), { ...own, authorization: 'Bearer aaa.bbb.ccc' })).toEqual({ status: 401, requestId: 'window-7f3a9c21-0002' });
  expect(await post(JSON.stringify({ query: QUERY }), { ...own, ...(await stack.serviceHeaders()) })).toEqual({ status: 200, requestId: 'window-7f3a9c21-0002' });
  for (const nonsense of ['short', 'has spaces in it', 'x'.repeat(65), '<script>alert(1)</script>']) {
    expect(await send('/healthz', { headers: { 'x-request-id': nonsense } })).toEqual({ status: 200, requestId: expect.stringMatching(UUID) });
  }
});

test('a bad token\'s 401: the header, its audit record and its request log line name the same request', async () => {
  const answer = await post(JSON.stringify({ query: QUERY }), { authorization: 'Bearer aaa.bbb.ccc', 'x-service-item': 'TEST-ITEM', 'x-case-number': 'CASE-0401' });
  expect(answer).toEqual({ status: 401, requestId: expect.stringMatching(UUID) });
  const requestId = answer.requestId as string;
  expect(await auditRecordOf(stack.audit.store, requestId)).toMatchObject({ requestId, outcome: 'refused', errorCodes: ['UNAUTHENTICATED'], caseNumber: 'CASE-0401' });
  expect(await logLineOf(requestId)).toMatchObject({ requestId, status: 401, outcome: 'refused', refusal: 'UNAUTHENTICATED', msg: 'answered' });
});

test('a body refused before GraphQL has its request log line under the ID it was answered with, saying why', async () => {
  const answer = await post('{"query": ');
  expect(await logLineOf(answer.requestId as string)).toMatchObject({ status: 400, outcome: 'refused', refusal: 'BAD_REQUEST', msg: 'answered' });
});

test('departments are called with the request\'s ID, and answer with it', async () => {
  const seen: Array<string | undefined> = [];
  const listener = (req: IncomingMessage) => void seen.push(req.headers['x-request-id'] as string | undefined);
  stack.subgraphs.household.httpServer.on('request', listener);
  try {
    const answer = await post(JSON.stringify({ query: `{ citizen(idNumber: "${ZHANG_WEI}") { household { householdNumber } } }` }), {
      ...(await stack.serviceHeaders()),
      'x-request-id': 'not sensible',
    });
    expect(answer.status).toBe(200);
    // The caller's nonsense ID was replaced, and the department saw the replacement, not the nonsense.
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([answer.requestId]));
  } finally {
    stack.subgraphs.household.httpServer.off('request', listener);
  }
  const direct = await callDepartmentAsGateway(stack.subgraphs.household.url, 'household', { query: '{ __typename }', headers: { 'x-request-id': 'gateway-0000-0001' } });
  expect(direct.headers['x-request-id']).toBe('gateway-0000-0001');
  // Refused before its body is read as JSON (unsigned), and still named.
  const unsigned = await request(stack.subgraphs.household.url, { method: 'POST', dispatcher: mutualTlsAgent('household'), headers: { 'content-type': 'application/json' }, body: '{' });
  await unsigned.body.text();
  expect({ status: unsigned.statusCode, requestId: unsigned.headers['x-request-id'] }).toEqual({ status: 401, requestId: expect.stringMatching(UUID) });
});
