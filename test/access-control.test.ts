import { randomUUID } from 'node:crypto';
import { decodeAssertedCaller } from '../lib/asserted-caller';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '../gateway/config';
import { CHEN_QIANG, LI_NA, WANG_XIUYING, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { startStack, useFixtureStack, type Stack } from './helpers/stack';
import { auditRecordOf } from './helpers/audit-records';

const city = useFixtureStack();

const ENROLMENT = '330100-JY-0001';
const NOW_SECONDS = Math.floor(Date.now() / 1000);
const CITIZEN_QUERY = `query Enrolment($id: ID!) { citizen(idNumber: $id) { identity { name birthDate } household { members { relation citizen { idNumber } } } } }`;

/** Headers of a service caller acting for compulsory-education enrolment, the real catalog entry. */
async function enrolmentHeaders(overrides: Record<string, string | undefined> = {}) {
  const headers: Record<string, string | undefined> = {
    authorization: `Bearer ${await city.stack.token({ serviceItems: [ENROLMENT], scopes: [] })}`,
    'x-service-item': ENROLMENT,
    'x-case-number': 'JY-2026-000123',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function refusal(status: number, code: string, message: unknown, extensions: Record<string, unknown> = {}) {
  return { status, body: { errors: [{ message, extensions: { code, ...extensions } }] } };
}

async function expectRefused(request: Promise<{ status: number; body: unknown }>, expected: ReturnType<typeof refusal>) {
  const { status, body } = await request;
  expect({ status, body }).toEqual(expected);
  expect(city.stack.subgraphRequests).toEqual({ household: 0, residence: 0, license: 0 });
}

function signed(
  claims: Record<string, unknown>,
  options: { secret?: Uint8Array; audience?: string; issuer?: string; expiresAt?: number; notBefore?: number; issuedAt?: number; subject?: string } = {},
) {
  const jwt = new SignJWT({ app: 'test-window', role: 'service', items: [ENROLMENT], ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(options.issuer ?? DEFAULT_ISSUER)
    .setAudience(options.audience ?? DEFAULT_AUDIENCE)
    .setSubject(options.subject ?? 'officer-001')
    .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 600);
  if (options.notBefore) jwt.setNotBefore(options.notBefore);
  if (options.issuedAt) jwt.setIssuedAt(options.issuedAt);
  return jwt.sign(options.secret ?? city.stack.jwtSecret);
}

describe('callers', () => {
  test('no token: 401 UNAUTHENTICATED with a Bearer challenge', async () => {
    const response = await city.stack.query(CITIZEN_QUERY, { id: ZHANG_WEI }, { 'x-service-item': ENROLMENT, 'x-case-number': 'JY-2026-000123' });
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    await expectRefused(Promise.resolve(response), refusal(401, 'UNAUTHENTICATED', 'a bearer token is required to read citizen data'));
  });

  test.each([
    ['a bad signature', () => signed({}, { secret: Buffer.alloc(32, 7) }), 'the bearer token\'s signature is invalid'],
    ['an expired token', () => signed({}, { expiresAt: Math.floor(Date.now() / 1000) - 120 }), 'the bearer token has expired'],
    ['the wrong audience', () => signed({}, { audience: 'another-gateway' }), 'the bearer token is not for this gateway (aud)'],
    ['an untrusted issuer', () => signed({}, { issuer: 'somebody-else' }), 'the bearer token was not issued by a trusted issuer (iss)'],
    ['a token not valid yet', () => signed({}, { notBefore: Math.floor(Date.now() / 1000) + 3600 }), 'the bearer token is not valid yet (nbf)'],
    ['no application claim', () => signed({ app: undefined }), 'the bearer token must name the calling application (app claim)'],
    ['an empty officer', () => signed({}, { subject: '' }), 'the bearer token must name the officer acting (sub claim)'],
    ['an officer of spaces', () => signed({}, { subject: '   ' }), 'the bearer token must name the officer acting (sub claim)'],
    ['a token that lives for a year', () => signed({}, { issuedAt: NOW_SECONDS - 60, expiresAt: NOW_SECONDS - 60 + 365 * 86400 }), 'the bearer token must expire within 86400 s of being issued, got 31536000 s'],
    ['a token without iat expiring in the year 9999', () => signed({}, { expiresAt: 253402300799 }), expect.stringMatching(/^the bearer token must expire within 86400 s of being issued, got \d+ s$/)],
    ['a token issued in the future', () => signed({}, { issuedAt: NOW_SECONDS + 3600 }), 'the bearer token was issued in the future (iat)'],
  ])('%s: 401 UNAUTHENTICATED', async (_case, makeToken, message) => {
    const headers = await enrolmentHeaders({ authorization: `Bearer ${await makeToken()}` });
    await expectRefused(city.stack.query(CITIZEN_QUERY, { id: ZHANG_WEI }, headers), refusal(401, 'UNAUTHENTICATED', message));
  });

  test('a token within the clock skew is still accepted', async () => {
    const headers = await enrolmentHeaders({ authorization: `Bearer ${await signed({}, { expiresAt: Math.floor(Date.now() / 1000) - 10 })}` });
    expect((await city.stack.query(CITIZEN_QUERY, { id: ZHANG_WEI }, headers)).status).toBe(200);
  });

  test.each(['bearer', 'BEARER', 'BeArEr'])('the scheme %s is accepted: RFC 7235 makes it case-insensitive', async (scheme) => {
    const headers = await enrolmentHeaders({ authorization: `${scheme} ${await signed({})}` });
    expect((await city.stack.query(CITIZEN_QUERY, { id: ZHANG_WEI }, headers)).status).toBe(200);
  });

  test('an Authorization header that is not a bearer JWT: 401', async () => {
    await expectRefused(
      city.stack.query(CITIZEN_QUERY, { id: ZHANG_WEI }, await enrolmentHeaders({ authorization: 'Basic dXNlcjpwYXNz' })),
      refusal(401, 'UNAUTHENTICATED', 'Authorization must be "Bearer <JWT>"'),
    );
  });

  test('an auditor asking for citizen data: 403', async () => {
    const headers = await enrolmentHeaders({ authorization: `Bearer ${await city.stack.token({ role: 'auditor', serviceItems: [ENROLMENT] })}` });
    await expectRefused(city.stack.query(CITIZEN_QUERY, { id: ZHANG_WEI }, headers), refusal(403, 'FORBIDDEN', 'role auditor reads audit records, never citizen data'));
  });

  test('an unknown role gets nothing', async () => {
    const headers = await enrolmentHeaders({ authorization: `Bearer ${await city.stack.token({ role: 'admin', serviceItems: [ENROLMENT] })}` });
    await expectRefused(city.stack.query(CITIZEN_QUERY, { id: ZHANG_WEI }, headers), refusal(403, 'FORBIDDEN', 'only role service may read citizen data'));
  });

  test('a request that reads no personal data needs neither token nor purpose', async () => {
    expect(await city.stack.query('{ __typename }', undefined, {})).toEqual(expect.objectContaining({ status: 200, body: { data: { __typename: 'Query' } } }));
    expect(city.stack.subgraphRequests).toEqual({ household: 0, residence: 0, license: 0 });
  });
});

describe('purpose', () => {
  test.each([
    ['residesIn for a district rather than the city', '330100-GA-0002', `{ citizen(idNumber: "${CHEN_QIANG}") { residesIn(division: "330106", forAtLeastMonths: 6) { holds } } }`, undefined,
      'service item 330100-GA-0002 asks Citizen.residesIn only as its proofs do: residesIn(division: "3301", forAtLeastMonths: 6)'],
    ['residesIn for more months, through a variable', '330100-GA-0002', 'query ($months: Int!) { citizen(idNumber: "' + CHEN_QIANG + '") { residesIn(division: "3301", forAtLeastMonths: $months) { holds } } }', { months: 40 },
      'service item 330100-GA-0002 asks Citizen.residesIn only as its proofs do: residesIn(division: "3301", forAtLeastMonths: 6)'],
    ['inSameHouseholdAs with another relation', ENROLMENT, `{ citizen(idNumber: "${ZHANG_WEI}") { inSameHouseholdAs(idNumber: "${LI_NA}", relation: SPOUSE) { holds } } }`, undefined,
      'service item 330100-JY-0001 asks Citizen.inSameHouseholdAs only as its proofs do: inSameHouseholdAs(idNumber: the child\'s ID number, relation: "CHILD")'],
  ])('a check asked with arguments other than the catalog\'s: 403, nothing read (%s)', async (_case, item, query, variables, message) => {
    const headers = await enrolmentHeaders({ authorization: `Bearer ${await city.stack.token({ serviceItems: [item], scopes: [] })}`, 'x-service-item': item });
    await expectRefused(city.stack.query(query, variables, headers), refusal(403, 'FORBIDDEN', message));
  });

  test('a check asked with the catalog\'s arguments is answered', async () => {
    const headers = await enrolmentHeaders({ authorization: `Bearer ${await city.stack.token({ serviceItems: ['330100-GA-0002'], scopes: [] })}`, 'x-service-item': '330100-GA-0002' });
    const { status, body } = await city.stack.query(`{ citizen(idNumber: "${CHEN_QIANG}") { residesIn(division: "3301", forAtLeastMonths: 6) { holds } } }`, undefined, headers);
    expect({ status, body }).toEqual({ status: 200, body: { data: { citizen: { residesIn: { holds: true } } } } });
  });

  test.each([
    ['no X-Service-Item', { 'x-service-item': undefined }, 'X-Service-Item header is required: the code of the service item (事项) this request serves'],
    ['a malformed X-Service-Item', { 'x-service-item': 'enrol kids' }, 'X-Service-Item must be a service item code of 3-40 capital letters, digits and hyphens, like 330100-JY-0001'],
    ['no X-Case-Number', { 'x-case-number': undefined }, 'X-Case-Number header is required: the case (application) number this request serves'],
    ['a malformed X-Case-Number', { 'x-case-number': 'no' }, 'X-Case-Number must be 4-64 letters, digits and hyphens'],
    ['a service item not in the catalog', { 'x-service-item': '330100-XX-9999' }, 'service item 330100-XX-9999 is not in the proof catalog'],
    ['a service item not granted to the application', { 'x-service-item': '330100-GA-0002' }, 'application test-window is not granted service item 330100-GA-0002'],
  ])('%s: 403 FORBIDDEN', async (_case, overrides, message) => {
    await expectRefused(city.stack.query(CITIZEN_QUERY, { id: ZHANG_WEI }, await enrolmentHeaders(overrides)), refusal(403, 'FORBIDDEN', message));
  });

  const outsideCatalog = (fields: string) => refusal(403, 'FORBIDDEN', `service item ${ENROLMENT} does not need ${fields}: ask only for the fields its proofs need`, {
    notAllowed: fields.split(', '),
  });

  test.each([
    ['directly', `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } licences { number } } }`, 'Citizen.licences, Licence.number'],
    ['through a fragment', `{ citizen(idNumber: "${ZHANG_WEI}") { ...Facts } } fragment Facts on Citizen { identity { name nativePlace } }`, 'Identity.nativePlace'],
    ['through an inline fragment', `{ citizen(idNumber: "${ZHANG_WEI}") { ... on Citizen { licences { status } } } }`, 'Citizen.licences, Licence.status'],
    ['through an alias', `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } l: licences { k: kind } } }`, 'Citizen.licences, Licence.kind'],
    ['through a root field the item does not start from', `{ business(creditCode: "91330100716105852F") { name } }`, 'Business.name, Query.business'],
  ])('a field outside the service item\'s catalog entry, %s: 403 listing it', async (_case, query, fields) => {
    await expectRefused(city.stack.query(query, undefined, await enrolmentHeaders()), outsideCatalog(fields));
  });

  test('a @requiresScopes field without the scope: 403 naming the scope', async () => {
    const newborn = '330100-GA-0001';
    const headers = await enrolmentHeaders({
      authorization: `Bearer ${await city.stack.token({ serviceItems: [newborn], scopes: [] })}`,
      'x-service-item': newborn,
    });
    await expectRefused(
      city.stack.query(`{ citizen(idNumber: "${ZHANG_ZIHAN}") { identity { name ethnicity } } }`, undefined, headers),
      refusal(403, 'FORBIDDEN', 'Identity.ethnicity requires scope identity:ethnicity'),
    );
    const withScope = { ...headers, authorization: `Bearer ${await city.stack.token({ serviceItems: [newborn], scopes: ['identity:ethnicity'] })}` };
    const { body } = await city.stack.query(`{ citizen(idNumber: "${ZHANG_ZIHAN}") { identity { name ethnicity } } }`, undefined, withScope);
    expect(body).toEqual({ data: { citizen: { identity: { name: '张子涵', ethnicity: '汉族' } } } });
  });

  test('the allowed path: the item\'s own fields, with variables, are answered, and the department hears the purpose', async () => {
    const heard: Record<string, unknown>[] = [];
    const listen = (req: { headers: Record<string, unknown> }) => heard.push(req.headers);
    city.stack.subgraphs.household.httpServer.on('request', listen);
    const headers = await enrolmentHeaders();
    const { status, body } = await city.stack.query(CITIZEN_QUERY, { id: ZHANG_ZIHAN }, headers);
    city.stack.subgraphs.household.httpServer.off('request', listen);
    // The department hears the purpose and the caller as the gateway verified it, never the caller's token (issue 17).
    expect(heard).toEqual([expect.objectContaining({ 'x-service-item': ENROLMENT, 'x-case-number': 'JY-2026-000123', 'x-proofless-department': 'household' })]);
    expect(heard[0].authorization).toBeUndefined();
    expect(decodeAssertedCaller(heard[0]['x-proofless-caller'] as string)).toEqual({
      caller: { application: 'test-window', officer: 'officer-001', role: 'service', serviceItems: [ENROLMENT], scopes: [] },
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      data: {
        citizen: {
          identity: { name: '张子涵', birthDate: '2015-09-01' },
          household: {
            members: [
              { relation: 'HEAD', citizen: { idNumber: ZHANG_WEI } },
              { relation: 'SPOUSE', citizen: { idNumber: LI_NA } },
              { relation: 'PARENT', citizen: { idNumber: '330102195001150025' } },
              { relation: 'CHILD', citizen: { idNumber: ZHANG_ZIHAN } },
            ],
          },
        },
      },
    });
  });

  test('a forbidden request does not reveal whether the citizen exists', async () => {
    const headers = await enrolmentHeaders({ 'x-service-item': '330100-GA-0002' });
    const known = await city.stack.query(CITIZEN_QUERY, { id: CHEN_QIANG }, headers);
    const unknown = await city.stack.query(CITIZEN_QUERY, { id: '11010519491231002X' }, headers);
    expect(known).toEqual({ ...unknown, headers: expect.anything() });
  });
});

describe('operation limits', () => {
  const deep = `{ citizen(idNumber: "${ZHANG_WEI}") { household { head { household { head { household { head { household { head { household { householdNumber } } } } } } } } } } }`;
  const aliases = `{ citizen(idNumber: "${ZHANG_WEI}") { ${Array.from({ length: 11 }, (_, i) => `a${i}: identity { name }`).join(' ')} } }`;
  const roots = `{ ${Array.from({ length: 6 }, (_, i) => `c${i}: citizen(idNumber: "${ZHANG_WEI}") { idNumber }`).join(' ')} }`;
  const manyFields = `{ citizen(idNumber: "${ZHANG_WEI}") { ...F } } fragment F on Citizen { ${Array.from({ length: 301 }, () => 'idNumber').join(' ')} }`;
  const longQuery = `{ citizen(idNumber: "${ZHANG_WEI}") { idNumber } } ${'#'.repeat(10001)}`;

  test.each([
    ['maxDepth', deep, 'operation depth must be at most 10, got 11', 10, 11],
    ['maxAliases', aliases, 'aliased fields must be at most 10, got 11', 10, 11],
    ['maxRootFields', roots, 'root fields must be at most 5, got 6', 5, 6],
    ['maxFields', manyFields, 'selected fields must be at most 300, got 302', 300, 302],
    ['maxQueryLength', longQuery, `query length in characters must be at most 10000, got ${longQuery.length}`, 10000, longQuery.length],
  ])('%s: 400 OPERATION_LIMIT_EXCEEDED naming the limit and the value', async (limit, query, message, max, actual) => {
    await expectRefused(city.stack.query(query), refusal(400, 'OPERATION_LIMIT_EXCEEDED', message, { limit, max, actual }));
  });
});

describe('gateway configuration', () => {
  test('introspection is off outside development', async () => {
    const production = await startStack({ dataDir: city.dataDir, env: { PROOFLESS_INTROSPECTION: 'false' } });
    try {
      const { status, body } = await production.query('{ __schema { queryType { name } } }');
      expect(status).toBe(400);
      expect(body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(body.errors[0].message).toMatch(/introspection/i);
    } finally {
      await production.stop();
    }
    expect((await city.stack.query('{ __schema { queryType { name } } }', undefined, {})).body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });

  test('a catalog naming a field the supergraph lacks stops the gateway with a clear message', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'proofless-catalog-'));
    const catalog = path.join(dir, 'catalog.json');
    writeFileSync(catalog, JSON.stringify({
      alwaysAllowed: ['Citizen.idNumber'], valueTypes: ['Address'],
      serviceItems: [{ code: '330100-XX-0001', name: '测试', nameEn: 'Test', department: 'x', highRisk: false, entryPoints: ['Query.citizen'], proofs: [{ code: 'P', name: 'p', mode: 'DATA_SHARING', facts: 'idNumber', fields: ['Citizen.housework'] }] }],
    }));
    try {
      await expect(startStack({ dataDir: city.dataDir, env: { PROOFLESS_CATALOG: catalog } })).rejects.toThrow(
        'the proof catalog does not fit the supergraph:\n  service item 330100-XX-0001 proof P names Citizen.housework, which the supergraph does not have',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rate limits', () => {
  test('the distinct-citizen limit holds across two gateway instances sharing one Redis', async () => {
    const env = { PROOFLESS_REDIS_URL: 'redis://127.0.0.1:6379', PROOFLESS_RATE_LIMIT_DISTINCT_CITIZENS_PER_HOUR: '3' };
    const first = await startStack({ dataDir: city.dataDir, env });
    const second = await startStack({ dataDir: city.dataDir, env });
    try {
      // A fresh officer, so counts left in the shared Redis by earlier runs do not matter.
      const headers = await first.serviceHeaders({ officer: `officer-${randomUUID()}` });
      const ask = (gateway: Stack, id: string) => gateway.query('query ($id: ID!) { citizen(idNumber: $id) { idNumber } }', { id }, headers);
      expect((await ask(first, ZHANG_WEI)).status).toBe(200);
      expect((await ask(second, LI_NA)).status).toBe(200);
      expect((await ask(first, ZHANG_WEI)).status).toBe(200); // the same citizen again is not a new one
      expect((await ask(second, ZHANG_ZIHAN)).status).toBe(200);
      first.resetCounts();
      second.resetCounts();
      const refused = await ask(first, CHEN_QIANG);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.body).toEqual({
        errors: [{
          message: expect.stringMatching(/^this officer has looked up 3 distinct citizens this hour, the most allowed; retry in \d+ s$/),
          extensions: { code: 'RATE_LIMITED', limit: 'distinctCitizensPerHour', max: 3 },
        }],
      });
      expect(first.subgraphRequests).toEqual({ household: 0, residence: 0, license: 0 });
      // Citizens already looked up can still be asked for again on either instance.
      expect((await ask(second, LI_NA)).status).toBe(200);
    } finally {
      await first.stop();
      await second.stop();
    }
  });

  test('household members an answer discloses count against the distinct-citizens limit: an answer that would go over is refused, recorded, and not released', async () => {
    const limited = await startStack({ dataDir: city.dataDir, env: { PROOFLESS_RATE_LIMIT_DISTINCT_CITIZENS_PER_HOUR: '3' } });
    try {
      const headers = await limited.serviceHeaders({ officer: `officer-${randomUUID()}` });
      expect((await limited.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`, undefined, headers)).status).toBe(200);
      const members = `{ citizen(idNumber: "${ZHANG_WEI}") { household { members { citizen { identity { name } } } } } }`;
      const refused = await limited.query(members, undefined, headers);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.body).toEqual({
        errors: [{
          message: expect.stringMatching(/^this officer has looked up 3 distinct citizens this hour, the most allowed; retry in \d+ s$/),
          extensions: { code: 'RATE_LIMITED', limit: 'distinctCitizensPerHour', max: 3 },
        }],
      });
      const record = await auditRecordOf(limited.audit.store, refused.headers.get('x-request-id') as string);
      expect(record && { outcome: record.outcome, errorCodes: record.errorCodes, coordinates: record.coordinates, citizens: record.citizens, departments: record.departments }).toEqual({
        outcome: 'refused',
        errorCodes: ['RATE_LIMITED'],
        coordinates: [],
        citizens: [LI_NA, WANG_XIUYING, ZHANG_WEI, ZHANG_ZIHAN].sort(),
        departments: ['household'],
      });
      // The refused answer used none of the allowance: two more citizens may still be looked up.
      expect((await limited.query(`{ citizens(idNumbers: ["${LI_NA}", "${CHEN_QIANG}"]) { identity { name } } }`, undefined, headers)).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });

  test('an auditor\'s review names every citizen the records it read list, and is not bounded by the distinct-citizens limit', async () => {
    const limited = await startStack({ dataDir: city.dataDir, env: { PROOFLESS_RATE_LIMIT_DISTINCT_CITIZENS_PER_HOUR: '2' } });
    try {
      const officer = await limited.serviceHeaders({ officer: `officer-${randomUUID()}` });
      // Refused (four citizens would come back), and recorded naming the four.
      expect((await limited.query(`{ citizen(idNumber: "${ZHANG_WEI}") { household { members { citizen { identity { name } } } } } }`, undefined, officer)).status).toBe(429);
      const auditor = { authorization: `Bearer ${await limited.token({ role: 'auditor', officer: 'auditor-07', serviceItems: [], scopes: [] })}` };
      const review = await limited.query('{ auditRecords(first: 100) { records { citizens } } }', undefined, auditor);
      expect(review.status).toBe(200);
      const listed = [...new Set(review.body.data.auditRecords.records.flatMap((record: { citizens: string[] }) => record.citizens))].sort();
      expect(listed.length).toBeGreaterThan(2);
      expect((await auditRecordOf(limited.audit.store, review.headers.get('x-request-id') as string))?.citizens).toEqual(listed);
    } finally {
      await limited.stop();
    }
  });

  test('requests per officer per minute', async () => {
    const limited = await startStack({ dataDir: city.dataDir, env: { PROOFLESS_RATE_LIMIT_OFFICER_PER_MINUTE: '2' } });
    try {
      const headers = await limited.serviceHeaders({ officer: `officer-${randomUUID()}` });
      const ask = () => limited.query(`{ citizen(idNumber: "${ZHANG_WEI}") { idNumber } }`, undefined, headers);
      expect((await ask()).status).toBe(200);
      expect((await ask()).status).toBe(200);
      const refused = await ask();
      expect(refused.status).toBe(429);
      expect(refused.body.errors[0].extensions).toEqual({ code: 'RATE_LIMITED', limit: 'officerPerMinute', max: 2 });
    } finally {
      await limited.stop();
    }
  });
});
