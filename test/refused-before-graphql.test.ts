import path from 'node:path';
import Database from 'better-sqlite3';
import { ZHANG_WEI } from './fixtures/registries';
import { auditRecordOf, auditRecordsOf } from './helpers/audit-records';
import { EVERY_FIELD_ITEM, useFixtureStack } from './helpers/stack';

/**
 * Requests refused before GraphQL runs (the body cannot be read, or Apollo Server's HTTP
 * handling refuses it before its request pipeline, where the audit plugin works) are
 * recorded like any other refusal when the caller is known or claimed a purpose: an
 * officer's attempt is what auditors look for, whatever shape it came in.
 */
const city = useFixtureStack();

const QUERY = `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`;
const CSRF_MESSAGE = "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). Please either specify a 'content-type' header (with a type that is not one of application/x-www-form-urlencoded, multipart/form-data, text/plain) or provide a non-empty value for one of the following headers: x-apollo-operation-name, apollo-require-preflight\n";

interface Answer {
  status: number;
  body: unknown;
  requestId: string;
}

async function answerOf(response: Response): Promise<Answer> {
  return { status: response.status, body: await response.json(), requestId: response.headers.get('x-request-id') as string };
}

/** The five refusals of issue 16 item 15, each sent with `headers` (a token and purpose headers, or fewer). */
const refusals: Array<[string, (headers: Record<string, string>) => Promise<Answer>, number, string, string]> = [
  [
    'malformed JSON',
    (headers) => fetch(city.stack.gatewayUrl, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{"query": ' }).then(answerOf),
    400, 'BAD_REQUEST', 'request body must be valid JSON',
  ],
  [
    'a wrong content type',
    (headers) => fetch(city.stack.gatewayUrl, { method: 'POST', headers: { ...headers, 'content-type': 'text/plain' }, body: JSON.stringify({ query: QUERY }) }).then(answerOf),
    415, 'BAD_REQUEST', 'content-type must be application/json, got text/plain',
  ],
  [
    'a body over the limit',
    (headers) => fetch(city.stack.gatewayUrl, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ query: `${QUERY} #${'x'.repeat(102400)}` }) }).then(answerOf),
    413, 'REQUEST_TOO_LARGE', `request body must be at most 102400 bytes, got ${Buffer.byteLength(JSON.stringify({ query: `${QUERY} #${'x'.repeat(102400)}` }))} or more`,
  ],
  [
    'a GET blocked as CSRF',
    (headers) => fetch(`${city.stack.gatewayUrl}?query=${encodeURIComponent(QUERY)}`, { headers }).then(answerOf),
    400, 'BAD_REQUEST', CSRF_MESSAGE,
  ],
  [
    'a JSON-array batch',
    (headers) => fetch(city.stack.gatewayUrl, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify([{ query: QUERY }, { query: QUERY }]) }).then(answerOf),
    400, 'BAD_REQUEST', 'Operation batching disabled.',
  ],
];

describe.each(refusals)('%s', (_what, send, status, code, message) => {
  test('from a known caller with purpose headers is answered as before and recorded as refused, with who, why and the code', async () => {
    const answer = await send(await city.stack.serviceHeaders({}, { caseNumber: 'CASE-2026-0015' }));
    expect(answer).toEqual({ status, body: { errors: [{ message, extensions: { code } }] }, requestId: expect.any(String) });
    expect(await auditRecordOf(city.stack.audit.store, answer.requestId)).toEqual({
      chainId: expect.stringMatching(/^test-/),
      sequence: expect.any(Number),
      previousHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      time: expect.any(String),
      requestId: answer.requestId,
      application: 'test-window',
      officer: 'officer-001',
      role: 'service',
      serviceItem: EVERY_FIELD_ITEM,
      caseNumber: 'CASE-2026-0015',
      operationName: null,
      documentHash: null,
      coordinates: [],
      citizens: [],
      departments: [],
      outcome: 'refused',
      errorCodes: [code],
      latencyMs: expect.any(Number),
      requests: 1,
      exchange: null,
    });
    expect(city.stack.subgraphRequests).toEqual({ household: 0, residence: 0, license: 0 });
  });

  test('from a known caller without purpose headers is recorded, naming the caller', async () => {
    const answer = await send({ authorization: `Bearer ${await city.stack.token({ officer: 'officer-015' })}` });
    expect(answer.status).toBe(status);
    expect(await auditRecordOf(city.stack.audit.store, answer.requestId)).toMatchObject({
      application: 'test-window', officer: 'officer-015', role: 'service', serviceItem: null, caseNumber: null, outcome: 'refused', errorCodes: [code],
    });
  });

  test('with purpose headers and no token is recorded with the purpose it claimed', async () => {
    const answer = await send({ 'x-service-item': EVERY_FIELD_ITEM, 'x-case-number': 'CASE-2026-0016' });
    expect(answer.status).toBe(status);
    expect(await auditRecordOf(city.stack.audit.store, answer.requestId)).toMatchObject({
      application: null, officer: null, role: null, serviceItem: EVERY_FIELD_ITEM, caseNumber: 'CASE-2026-0016', outcome: 'refused', errorCodes: [code],
    });
  });

  test('anonymous, with no purpose headers, leaves no record', async () => {
    const answer = await send({});
    expect(answer).toEqual({ status, body: { errors: [{ message, extensions: { code } }] }, requestId: expect.any(String) });
    expect(await auditRecordOf(city.stack.audit.store, answer.requestId)).toBeUndefined();
  });

  test('fails closed: when its record cannot be written the answer is 503 AUDIT_UNAVAILABLE', async () => {
    const db = new Database(path.join(city.dataDir, 'audit.sqlite'));
    db.exec("CREATE TRIGGER refuse_audit_before_graphql BEFORE INSERT ON audit_record BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    try {
      const answer = await send(await city.stack.serviceHeaders());
      expect(answer).toEqual({
        status: 503,
        body: { errors: [{ message: 'the audit log cannot be written; no data is released until it can', extensions: { code: 'AUDIT_UNAVAILABLE' } }] },
        requestId: expect.any(String),
      });
    } finally {
      db.exec('DROP TRIGGER refuse_audit_before_graphql');
      db.close();
    }
  });
});

test('a refusal inside the request pipeline is recorded once, by the audit plugin, not again as a refusal before GraphQL', async () => {
  const response = await city.stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`, undefined, {
    'content-type': 'application/json',
    ...(await city.stack.serviceHeaders({}, { serviceItem: '330100-SJ-0001' })),
  });
  expect(response.status).toBe(403);
  const records = await auditRecordsOf(city.stack.audit.store, response.headers.get('x-request-id') as string);
  expect(records).toEqual([expect.objectContaining({ outcome: 'refused', errorCodes: ['FORBIDDEN'], documentHash: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
});
