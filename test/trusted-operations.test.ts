import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { AUDIT_CONSOLE_OPERATIONS } from '../gateway/pages/audit-console/operations';
import { loadCatalog } from '../lib/catalog';
import { CHECKLIST_OPERATION, checklistReads, FOLLOW_UP_OPERATION, readOperation, serviceBureauOperations } from '../lib/proof-reads';
import { loadSupergraph } from '../gateway/supergraph';
import { SUPERGRAPH_FILE } from '../lib/composition';
import { CHEN_QIANG, writeFixtureRegistries, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { startStack, type Stack } from './helpers/stack';

/**
 * PROOFLESS_TRUSTED_OPERATIONS: a gateway that accepts only registered operations runs the
 * whole product. The manifest holds a front end's own operations and nothing else; the
 * service bureau's reads (the checklist's, the commitment follow-up's) and the audit
 * console's operations are registered by the gateway itself, computed at start from the
 * catalog and from the console's operations module.
 */
const NOW = '2026-11-02T03:00:00.000Z';
const BUSINESS = '330100-SJ-0001';
const BIRTH = '330100-WJ-0001';
const STATEMENT = '本人承诺经营场所合法使用，如有不实，愿承担相应法律责任。';

/** The front end's own operations: the only ones its team registers. */
const FRONT_END = {
  ApplicantIdentity: 'query ApplicantIdentity($id: ID!) { citizen(idNumber: $id) { identity { name birthDate } } }',
  Checklist: `query Checklist($item: String!, $applicant: ID!, $related: [RelatedPersonInput!]) {
  proofChecklist(serviceItem: $item, applicant: $applicant, related: $related) { isComplete proofs { code status commitment { state } remedy } }
}`,
  Record: 'mutation Record($input: RecordCommitmentInput!) { recordCommitment(input: $input) { proof state } }',
};

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const notRegistered = (document: string) => ({
  status: 403,
  body: {
    errors: [{
      message: `operation not registered (document SHA-256 ${sha256(document)}): this gateway accepts only the operations in its trusted operations manifest (PROOFLESS_TRUSTED_OPERATIONS) and the project's own (the service bureau's reads, the audit console's); add this document to your front end's persisted-query manifest and have the operator deploy it`,
      extensions: { code: 'FORBIDDEN' },
    }],
  },
});

let fixture: ReturnType<typeof writeFixtureRegistries>;
let stack: Stack;

beforeAll(async () => {
  fixture = writeFixtureRegistries();
  const manifest = path.join(fixture.dataDir, 'front-end-manifest.json');
  writeFileSync(manifest, JSON.stringify({
    format: 'apollo-persisted-query-manifest',
    version: 1,
    operations: Object.entries(FRONT_END).map(([name, body]) => ({ id: sha256(body), name, type: body.startsWith('mutation') ? 'mutation' : 'query', body })),
  }));
  // As production runs it: registered operations only, introspection off.
  stack = await startStack({ dataDir: fixture.dataDir, clock: () => new Date(NOW), env: { PROOFLESS_TRUSTED_OPERATIONS: manifest, PROOFLESS_INTROSPECTION: 'false' } });
});

afterAll(async () => {
  await stack?.stop();
  fixture?.remove();
});

beforeEach(() => stack.resetCounts());

async function officer(item: string, caseNumber: string) {
  return { authorization: `Bearer ${await stack.token({ serviceItems: [item], scopes: [] })}`, 'x-service-item': item, 'x-case-number': caseNumber };
}

const auditor = async () => ({ authorization: `Bearer ${await stack.token({ role: 'auditor', serviceItems: [], scopes: [], officer: 'auditor-01' })}` });

/** POSTs any body (a hash-only request, say) to the gateway. */
async function post(payload: unknown, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  const response = await fetch(stack.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) });
  return { status: response.status, body: await response.json() };
}

test('the proof-free workflow with only the front end\'s operations registered: checklist, commitment, checklist again, follow-up', async () => {
  const headers = await officer(BUSINESS, 'SJ-2026-000123');
  const checklist = () => stack.query(FRONT_END.Checklist, { item: BUSINESS, applicant: ZHANG_WEI }, headers);
  const offered = await checklist();
  expect({ status: offered.status, body: offered.body }).toEqual({
    status: 200,
    body: {
      data: {
        proofChecklist: {
          isComplete: false,
          proofs: [
            { code: 'SFZM', status: 'SATISFIED', commitment: null, remedy: null },
            { code: 'JYCSZM', status: 'COMMITMENT_AVAILABLE', commitment: null, remedy: 'the applicant may sign a commitment (告知承诺) instead of 经营场所证明; the license department checks it within 60 days' },
            { code: 'ZZQK', status: 'SATISFIED', commitment: null, remedy: null },
          ],
        },
      },
    },
  });
  // The bureau's read went to the gateway as the document the gateway registered for this item.
  expect(stack.service.gatewayRequests.map((request) => sha256(request.query))).toEqual([sha256(bureauChecklist(BUSINESS).query)]);

  const recorded = await stack.query(FRONT_END.Record, { input: { serviceItem: BUSINESS, proof: 'JYCSZM', applicant: ZHANG_WEI, statement: STATEMENT } }, headers);
  expect({ status: recorded.status, body: recorded.body }).toEqual({ status: 200, body: { data: { recordCommitment: { proof: 'JYCSZM', state: 'PENDING' } } } });
  expect((await checklist()).body.data.proofChecklist.proofs[1]).toEqual({ code: 'JYCSZM', status: 'COMMITTED', commitment: { state: 'PENDING' }, remedy: null });

  // Both follow-up documents the catalog has (a licence check, a residence check), and a breach for the console below.
  const chenBusiness = await officer(BUSINESS, 'SJ-2026-000124');
  expect((await stack.query(FRONT_END.Record, { input: { serviceItem: BUSINESS, proof: 'JYCSZM', applicant: CHEN_QIANG, statement: STATEMENT } }, chenBusiness)).body.errors).toBeUndefined();
  const chenBirth = await officer(BIRTH, 'WJ-2026-000125');
  expect((await stack.query(FRONT_END.Record, { input: { serviceItem: BIRTH, proof: 'JZZM', applicant: CHEN_QIANG, statement: '本人承诺在杭州市连续居住满六个月。' } }, chenBirth)).body.errors).toBeUndefined();
  stack.resetCounts();

  // As `npm run commitments:verify` runs it, past the 60-day deadline: Zhang Wei holds a business licence, Chen Qiang none.
  expect(await stack.service.verifyDueCommitments(new Date('2027-01-02T00:00:00.000Z'))).toEqual({
    checked: 3, fulfilled: 2, breached: 1, pending: 0, unchecked: 0, problems: [],
  });
  // Every follow-up document the gateway registered was sent (the catalog has two commitment proofs), and nothing else.
  expect([...new Set(stack.service.gatewayRequests.map((request) => request.query))].sort()).toEqual(
    bureauDocuments().filter((document) => document.startsWith(`query ${FOLLOW_UP_OPERATION}(`)).sort(),
  );
  expect(stack.service.gatewayRequests).toHaveLength(3);
  expect((await checklist()).body.data.proofChecklist).toEqual({
    isComplete: true,
    proofs: [
      { code: 'SFZM', status: 'SATISFIED', commitment: null, remedy: null },
      { code: 'JYCSZM', status: 'COMMITTED', commitment: { state: 'FULFILLED' }, remedy: null },
      { code: 'ZZQK', status: 'SATISFIED', commitment: null, remedy: null },
    ],
  });

  // The audit console's three operations, as the page sends them, under an auditor token.
  const records = await stack.query(AUDIT_CONSOLE_OPERATIONS.AuditConsoleRecords, { application: 'service-bureau', first: 20 }, await auditor());
  expect({ status: records.status, errors: records.body.errors }).toEqual({ status: 200, errors: undefined });
  expect(records.body.data.auditRecords.records.map((record: { operationName: string; outcome: string }) => [record.operationName, record.outcome])).toEqual([
    ['CommitmentFollowUp', 'OK'], ['CommitmentFollowUp', 'OK'], ['CommitmentFollowUp', 'OK'],
  ]);
  const chains = await stack.query(AUDIT_CONSOLE_OPERATIONS.AuditConsoleChains, {}, await auditor());
  expect({ status: chains.status, errors: chains.body.errors, ok: chains.body.data.auditChains.map((chain: { ok: boolean }) => chain.ok) }).toEqual({ status: 200, errors: undefined, ok: [true] });
  const breaches = await stack.query(AUDIT_CONSOLE_OPERATIONS.AuditConsoleBreaches, { after: null }, await auditor());
  expect({ status: breaches.status, errors: breaches.body.errors }).toEqual({ status: 200, errors: undefined });
  expect(breaches.body.data.breachedCommitments.commitments.map((commitment: { applicant: string; caseNumber: string }) => [commitment.applicant, commitment.caseNumber])).toEqual([
    [CHEN_QIANG, 'SJ-2026-000124'],
  ]);
});

test('every service item\'s checklist is accepted: the gateway registers the document the bureau builds for each, whoever the related persons are', async () => {
  for (const item of catalogAndSchema().catalog.items.keys()) {
    // Related persons change the variables only; every item is asked with a child named, which those without a CHILD proof ignore.
    const { status, body } = await stack.query(FRONT_END.Checklist, { item, applicant: ZHANG_WEI, related: [{ idNumber: ZHANG_ZIHAN, role: 'CHILD' }] }, await officer(item, 'CASE-2026-0200'));
    expect({ item, status, errors: body.errors }).toEqual({ item, status: 200, errors: undefined });
    expect(body.data.proofChecklist.proofs.filter((proof: { status: string }) => proof.status === 'UNAVAILABLE')).toEqual([]);
  }
  // What the bureau sent is exactly the checklist documents the gateway registered (items with the same reads share one).
  const sent = new Set(stack.service.gatewayRequests.map((request) => request.query));
  expect([...sent].sort()).toEqual(bureauDocuments().filter((document) => document.startsWith(`query ${CHECKLIST_OPERATION}(`)).sort());
});

test('a project operation can be sent by hash alone', async () => {
  const chains = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256(AUDIT_CONSOLE_OPERATIONS.AuditConsoleChains) } } }, await auditor());
  expect({ status: chains.status, errors: chains.body.errors, chains: chains.body.data.auditChains.length }).toEqual({ status: 200, errors: undefined, chains: 1 });
  const { query, variables } = bureauChecklist(BUSINESS, ZHANG_WEI);
  const read = await post({ variables, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } }, await officer(BUSINESS, 'SJ-2026-000126'));
  expect({ status: read.status, errors: read.body.errors, identity: read.body.data.SFZM.identity.name }).toEqual({ status: 200, errors: undefined, identity: '张伟' });
});

test('a front end\'s registered operation is accepted by hash or by document', async () => {
  const headers = await officer(BUSINESS, 'SJ-2026-000127');
  const byHash = await post({ variables: { id: ZHANG_WEI }, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(FRONT_END.ApplicantIdentity) } } }, headers);
  expect(byHash).toEqual({ status: 200, body: { data: { citizen: { identity: { name: '张伟', birthDate: '1975-03-12' } } } } });
  expect(await post({ query: FRONT_END.ApplicantIdentity, variables: { id: ZHANG_WEI } }, headers)).toEqual(byHash);
});

test('operations that select nothing but __typename are accepted unregistered, with or without a token', async () => {
  expect(await post({ query: '{ __typename }' }, {})).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
  expect(await post({ query: 'query Probe { alive: __typename }' }, await officer(BUSINESS, 'SJ-2026-000128'))).toEqual({ status: 200, body: { data: { alive: 'Query' } } });
  expect(stack.subgraphRequests).toEqual({ household: 0, residence: 0, license: 0 });
});

describe('refused before any department is called, at the operation level, saying what to do', () => {
  test.each([
    ['an unregistered citizen query', `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`, {}],
    ['the front end\'s registered query, changed', FRONT_END.ApplicantIdentity.replace('birthDate', 'gender'), { id: ZHANG_WEI }],
    [
      'another document under the checklist read\'s name',
      `query ${CHECKLIST_OPERATION}($SFZM: ID!) { SFZM: citizen(idNumber: $SFZM) { identity { name } household { members { citizen { idNumber } } } } }`,
      { SFZM: ZHANG_WEI },
    ],
  ])('%s', async (_case, document, variables) => {
    expect(await post({ query: document, variables }, await officer(BUSINESS, 'SJ-2026-000129'))).toEqual(notRegistered(document));
    expect(stack.subgraphRequests).toEqual({ household: 0, residence: 0, license: 0 });
    expect(stack.service.gatewayRequests).toEqual([]);
  });

  test('another document under an audit console operation\'s name, from an auditor', async () => {
    const document = 'query AuditConsoleChains { auditRecords(first: 100) { records { citizens } } }';
    expect(await post({ query: document }, await auditor())).toEqual(notRegistered(document));
  });

  test('a hash nobody registered: PERSISTED_QUERY_NOT_FOUND', async () => {
    // Apollo's persisted-query protocol: a client then sends the whole document, which is refused as above.
    expect(await post({ extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }, await officer(BUSINESS, 'SJ-2026-000130'))).toEqual({
      status: 200, body: { errors: [{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] },
    });
  });
});

test('introspection stays governed by PROOFLESS_INTROSPECTION, registered or not: refused here, answered where it is on', async () => {
  const introspection = { query: '{ __schema { queryType { name } } }' };
  expect(await post(introspection, {})).toEqual({
    status: 400,
    body: {
      errors: [{
        message: 'GraphQL introspection is not allowed by Apollo Server, but the query contained __schema or __type. To enable introspection, pass introspection: true to ApolloServer in production',
        locations: [{ line: 1, column: 3 }],
        extensions: { validationErrorCode: 'INTROSPECTION_DISABLED', code: 'GRAPHQL_VALIDATION_FAILED' },
      }],
    },
  });
  const manifest = path.join(fixture.dataDir, 'empty-manifest.json');
  writeFileSync(manifest, JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [] }));
  const development = await startStack({ dataDir: fixture.dataDir, env: { PROOFLESS_TRUSTED_OPERATIONS: manifest, PROOFLESS_INTROSPECTION: 'true' } });
  try {
    const response = await fetch(development.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(introspection) });
    expect({ status: response.status, body: await response.json() }).toEqual({ status: 200, body: { data: { __schema: { queryType: { name: 'Query' } } } } });
  } finally {
    await development.stop();
  }
});

/** The catalog the stack's gateway and bureau run on (the real one plus a test item), and the API schema. */
function catalogAndSchema() {
  return { catalog: loadCatalog(path.join(fixture.dataDir, 'test-catalog.json')), schema: loadSupergraph(SUPERGRAPH_FILE).apiSchema };
}

/** Every document the gateway registers for the bureau. */
function bureauDocuments(): string[] {
  const { catalog, schema } = catalogAndSchema();
  return serviceBureauOperations(catalog, schema);
}

/** The checklist operation the bureau builds for `item` about `applicant`. */
function bureauChecklist(item: string, applicant = ''): { query: string; variables: Record<string, unknown> } {
  const { catalog, schema } = catalogAndSchema();
  return readOperation(CHECKLIST_OPERATION, checklistReads(schema, catalog.items.get(item)!, () => applicant));
}
