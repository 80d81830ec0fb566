import type { IncomingMessage } from 'node:http';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { parse, type GraphQLSchema } from 'graphql';
import { CALLER_HEADER, decodeAssertedCaller, encodeAssertedCaller, type AssertedCaller } from '../lib/asserted-caller';
import { loadCatalog } from '../lib/catalog';
import { departmentPurposePlugin, departmentPurposeRefusal, type DepartmentRefusal } from '../subgraphs/shared/purpose-guard';
import { scalarsDeclaredIn } from '../subgraphs/shared/scalars';
import { departmentTypeDefs } from '../subgraphs/shared/server';
import { SNACK_SHOP, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { useFixtureStack } from './helpers/stack';

/**
 * Issue 17, departments trust no one: each department makes the gateway's purpose
 * decision again, from the signed headers and the subgraph operation, so a compromised or
 * misconfigured gateway reads no more through it than the proof catalog allows.
 */
const catalog = loadCatalog();
const DEPARTMENTS = ['household', 'residence', 'license', 'service', 'audit'] as const;
type Department = (typeof DEPARTMENTS)[number];

const ENROLMENT = '330100-JY-0001';
const ID_CARD = '330100-GA-0001';
const HOUSING = '330100-ZJ-0001';
const SHOP = '330100-SJ-0001';

/** A department's subgraph schema as startSubgraph builds it: the committed SDL, `_entities` and `_service` included. */
function subgraphSchema(department: Department): GraphQLSchema {
  const typeDefs = departmentTypeDefs(department);
  return buildSubgraphSchema({ typeDefs, resolvers: scalarsDeclaredIn(typeDefs) as GraphQLResolverMap<unknown> });
}
const schemas = Object.fromEntries(DEPARTMENTS.map((department) => [department, subgraphSchema(department)])) as Record<Department, GraphQLSchema>;

const serviceCaller = (serviceItems: string[], scopes: string[] = []): AssertedCaller => ({
  application: 'test-window', officer: 'officer-001', role: 'service', serviceItems, scopes,
});
const AUDITOR: AssertedCaller = { application: 'audit-console', officer: 'auditor-001', role: 'auditor', serviceItems: [], scopes: [] };

/** The headers the gateway signs for `department`: the caller it verified and the purpose, each left out when undefined. */
function signedHeaders(department: string, caller: AssertedCaller | undefined, purpose: { serviceItem?: string; caseNumber?: string } = {}): HeaderMap {
  const headers = new HeaderMap([['x-proofless-department', department], ['x-request-id', 'req-0001']]);
  if (caller) headers.set(CALLER_HEADER, encodeAssertedCaller(caller));
  if (purpose.serviceItem !== undefined) headers.set('x-service-item', purpose.serviceItem);
  if (purpose.caseNumber !== undefined) headers.set('x-case-number', purpose.caseNumber);
  return headers;
}
const forItem = (department: string, serviceItem: string, caller: AssertedCaller = serviceCaller([serviceItem])) =>
  signedHeaders(department, caller, { serviceItem, caseNumber: 'CASE-2026-0001' });

function refusal(department: Department, query: string, headers: HeaderMap, variables?: Record<string, unknown>): DepartmentRefusal | undefined {
  return departmentPurposeRefusal({ department, catalog }, { schema: schemas[department], document: parse(query), variables, headers });
}
const forbidden = (message: string, notAllowed?: string[]): DepartmentRefusal => ({ code: 'FORBIDDEN', message, ...(notAllowed ? { notAllowed } : {}) });

const ENTITIES = 'query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Citizen { SELECTION } } }';
const entities = (selection: string) => ENTITIES.replace('SELECTION', selection);

describe('the caller asserted in X-Proofless-Caller', () => {
  const caller: AssertedCaller = { application: '一网通办', officer: 'officer-001', role: 'service', serviceItems: [ENROLMENT], scopes: ['identity:ethnicity'] };

  test('is base64url of JSON with its keys in a fixed order, and decodes to the same caller', () => {
    const reordered = { scopes: caller.scopes, role: caller.role, serviceItems: caller.serviceItems, officer: caller.officer, application: caller.application };
    const encoded = encodeAssertedCaller(reordered);
    expect(encoded).toBe(encodeAssertedCaller(caller));
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(encoded, 'base64url').toString('utf8')).toBe(
      '{"application":"一网通办","officer":"officer-001","role":"service","serviceItems":["330100-JY-0001"],"scopes":["identity:ethnicity"]}',
    );
    expect(decodeAssertedCaller(encoded)).toEqual({ caller });
  });

  test('keeps the five fields only, whatever else a newer gateway asserts', () => {
    const value = Buffer.from(JSON.stringify({ ...caller, tenant: 'hangzhou' })).toString('base64url');
    expect(decodeAssertedCaller(value)).toEqual({ caller });
  });

  const json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  test.each([
    ['absent', undefined, 'X-Proofless-Caller header is absent: the gateway names the caller it verified in it'],
    ['empty', '', 'X-Proofless-Caller header is absent: the gateway names the caller it verified in it'],
    ['over 8 KiB', 'A'.repeat(8193), 'X-Proofless-Caller must be at most 8192 characters, got 8193'],
    ['base64 rather than base64url', Buffer.from('{"officer":"张伟>>>???"}').toString('base64'), 'X-Proofless-Caller must be base64url without padding (RFC 4648 section 5)'],
    ['padded', `${json(caller)}==`, 'X-Proofless-Caller must be base64url without padding (RFC 4648 section 5)'],
    ['not JSON', Buffer.from('officer-001 service').toString('base64url'), 'X-Proofless-Caller must be base64url of UTF-8 JSON'],
    ['not UTF-8', Buffer.from([0x22, 0xff, 0x22]).toString('base64url'), 'X-Proofless-Caller must be base64url of UTF-8 JSON'],
    ['a JSON list', json([caller]), 'X-Proofless-Caller must be base64url of a JSON object, got an array'],
    ['JSON null', json(null), 'X-Proofless-Caller must be base64url of a JSON object, got null'],
    ['a JSON string', json('officer-001'), 'X-Proofless-Caller must be base64url of a JSON object, got a string'],
    ['without an application', json({ ...caller, application: undefined }), 'X-Proofless-Caller\'s application must be a non-empty string, got nothing'],
    ['with an empty officer', json({ ...caller, officer: '' }), 'X-Proofless-Caller\'s officer must be a non-empty string, got an empty string'],
    ['with a role that is a list', json({ ...caller, role: ['service'] }), 'X-Proofless-Caller\'s role must be a non-empty string, got a list holding something other than strings'],
    ['with service items as a string', json({ ...caller, serviceItems: ENROLMENT }), 'X-Proofless-Caller\'s serviceItems must be a list of strings, got a string'],
    ['with a scope that is a number', json({ ...caller, scopes: ['identity:ethnicity', 7] }), 'X-Proofless-Caller\'s scopes must be a list of strings, got a list holding something other than strings'],
    ['without scopes', json({ ...caller, scopes: null }), 'X-Proofless-Caller\'s scopes must be a list of strings, got null'],
  ])('%s: refused with a problem that never repeats the value', (_case, value, problem) => {
    expect(decodeAssertedCaller(value)).toEqual({ problem });
    if (value) expect(problem).not.toContain(value);
  });
});

describe('what the gateway really sends each department is allowed for its purpose', () => {
  const city = useFixtureStack({ clock: () => new Date('2026-11-02T03:00:00.000Z') });

  /** Every GraphQL request each department received while `during` ran. */
  async function sentToDepartments(during: () => Promise<unknown>): Promise<{ department: Department; query: string; variables?: Record<string, unknown> }[]> {
    const received: { department: Department; query: string; variables?: Record<string, unknown> }[] = [];
    const servers = { ...city.stack.subgraphs, service: city.stack.service.subgraph, audit: city.stack.audit.subgraph };
    const listeners = Object.entries(servers).map(([department, subgraph]) => {
      const listen = (request: IncomingMessage) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => received.push({ department: department as Department, ...JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      };
      subgraph.httpServer.on('request', listen);
      return () => subgraph.httpServer.off('request', listen);
    });
    try {
      await during();
    } finally {
      for (const stop of listeners) stop();
    }
    return received;
  }

  type Received = Awaited<ReturnType<typeof sentToDepartments>>;

  /** What the departments received while the gateway answered `during` without an error. */
  async function receivedFor(during: () => Promise<{ status: number; body: unknown }>): Promise<Received> {
    let answer: { status: number; body: unknown } | undefined;
    const received = await sentToDepartments(async () => {
      answer = await during();
    });
    expect(answer?.status).toBe(200);
    expect((answer?.body as { errors?: unknown }).errors).toBeUndefined();
    return received;
  }

  /** Each request with the refusal its department makes under the headers the gateway signs for `serviceItem` and `caller`. */
  const decisions = (received: Received, serviceItem: string, caller: AssertedCaller) =>
    received.map(({ department, query, variables }) => ({ department, refusal: refusal(department, query, forItem(department, serviceItem, caller), variables) }));

  const tokenFor = (caller: AssertedCaller) => city.stack.token({ serviceItems: caller.serviceItems, scopes: caller.scopes });
  const purposeOf = async (caller: AssertedCaller, serviceItem: string) => ({
    authorization: `Bearer ${await tokenFor(caller)}`,
    'x-service-item': serviceItem,
    'x-case-number': 'CASE-2026-0001',
  });

  test('the README\'s first query, for housing security (330100-ZJ-0001): household, residence and license each allow what they are sent', async () => {
    const caller = serviceCaller([HOUSING]);
    const query = `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name birthDate provenance { department updatedAt } } household { householdNumber members { relation citizen { identity { name } } } } residence { status address { division { name } detail } } licences { kind status } } }`;
    const received = await receivedFor(async () => city.stack.query(query, undefined, await purposeOf(caller, HOUSING)));
    expect(received.map(({ department }) => department).sort()).toEqual(['household', 'license', 'residence']);
    expect(decisions(received, HOUSING, caller)).toEqual(received.map(({ department }) => ({ department, refusal: undefined })));
    // The same requests for enrolment, which reads 户籍 but neither residence nor licences: what the gateway would not let through, the departments do not either.
    expect(decisions(received, ENROLMENT, serviceCaller([ENROLMENT])).sort((a, b) => a.department.localeCompare(b.department))).toEqual([
      { department: 'household', refusal: undefined },
      { department: 'license', refusal: forbidden(`service item ${ENROLMENT} does not need Citizen.licences, Licence.kind, Licence.status: ask only for the fields its proofs need`, ['Citizen.licences', 'Licence.kind', 'Licence.status']) },
      { department: 'residence', refusal: forbidden(`service item ${ENROLMENT} does not need Citizen.residence, Residence.address, Residence.status: ask only for the fields its proofs need`, ['Citizen.residence', 'Residence.address', 'Residence.status']) },
    ]);
  });

  test('a proof checklist for enrolment (330100-JY-0001): the service bureau, and the household and residence reads it makes through the gateway', async () => {
    const caller = serviceCaller([ENROLMENT]);
    const query = 'query ($item: String!, $applicant: ID!, $related: [RelatedPersonInput!]) { proofChecklist(serviceItem: $item, applicant: $applicant, related: $related) { isComplete proofs { code status facts verification { holds } } } }';
    const variables = { item: ENROLMENT, applicant: ZHANG_WEI, related: [{ idNumber: ZHANG_ZIHAN, role: 'CHILD' }] };
    const received = await receivedFor(async () => city.stack.query(query, variables, await purposeOf(caller, ENROLMENT)));
    expect(received.map(({ department }) => department).sort()).toEqual(['household', 'residence', 'service']);
    expect(decisions(received, ENROLMENT, caller)).toEqual(received.map(({ department }) => ({ department, refusal: undefined })));
  });

  test('a commitment recorded for a shop opening (330100-SJ-0001) reaches the service bureau as a mutation its item lists', async () => {
    const caller = serviceCaller([SHOP]);
    const query = 'mutation ($input: RecordCommitmentInput!) { recordCommitment(input: $input) { id signedAt followUpDeadline state } }';
    const variables = { input: { serviceItem: SHOP, proof: 'JYCSZM', applicant: ZHANG_WEI, statement: '本人承诺经营场所合法使用。' } };
    const received = await receivedFor(async () => city.stack.query(query, variables, await purposeOf(caller, SHOP)));
    expect(decisions(received, SHOP, caller)).toEqual([{ department: 'service', refusal: undefined }]);
  });
});

describe('the attacker at a department', () => {
  const ATTACK = `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name ethnicity } household { members { citizen { idNumber } } } } }`;
  const ETHNICITY_NOT_NEEDED = forbidden(`service item ${ENROLMENT} does not need Identity.ethnicity: ask only for the fields its proofs need`, ['Identity.ethnicity']);
  const NOT_FOR_AUDITORS = forbidden('role auditor reads audit records, never citizen data');
  const RESIDES_IN_AS_PROOFS_DO = forbidden(`service item ${ENROLMENT} asks Citizen.residesIn only as its proofs do: residesIn(division: "3301", forAtLeastMonths: 12)`);
  const RESIDES_IN_BY_VARIABLES = 'query ($representations: [_Any!]!, $division: String!, $months: Int!) { _entities(representations: $representations) { ... on Citizen { residesIn(division: $division, forAtLeastMonths: $months) { holds } } } }';

  test.each<[string, Department, string, HeaderMap, DepartmentRefusal | undefined, Record<string, unknown>?]>([
    ['issue 17: ethnicity for enrolment, whose catalog entry does not include it, straight to household', 'household', ATTACK, forItem('household', ENROLMENT), ETHNICITY_NOT_NEEDED],
    ['the same query without ethnicity is what enrolment reads', 'household', ATTACK.replace(' ethnicity', ''), forItem('household', ENROLMENT), undefined],
    ['no caller', 'household', ATTACK, signedHeaders('household', undefined, { serviceItem: ENROLMENT, caseNumber: 'CASE-2026-0001' }),
      { code: 'UNAUTHENTICATED', message: 'X-Proofless-Caller header is absent: the gateway names the caller it verified in it' }],
    ['a caller in plain words, not the codec\'s', 'household', ATTACK, new HeaderMap([['x-proofless-department', 'household'], [CALLER_HEADER, Buffer.from('service').toString('base64url')]]),
      { code: 'UNAUTHENTICATED', message: 'X-Proofless-Caller must be base64url of UTF-8 JSON' }],
    ['a request the gateway signed for residence, sent to household', 'household', ATTACK, forItem('residence', ENROLMENT),
      forbidden('X-Proofless-Department must name this department, household: the gateway signed this request for another')],
    ['an auditor at household', 'household', `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`, signedHeaders('household', AUDITOR), NOT_FOR_AUDITORS],
    ['an auditor joining citizens by key', 'household', entities('idNumber'), signedHeaders('household', AUDITOR), NOT_FOR_AUDITORS],
    ['an auditor at the service bureau, for a checklist', 'service', `{ proofChecklist(serviceItem: "${ENROLMENT}", applicant: "${ZHANG_WEI}") { isComplete } }`, signedHeaders('service', AUDITOR), NOT_FOR_AUDITORS],
    ['an auditor at the service bureau, for breached commitments', 'service', '{ breachedCommitments(first: 5) { commitments { id applicant state } endCursor hasNextPage } }', signedHeaders('service', AUDITOR), undefined],
    ['a service caller at audit', 'audit', '{ auditChains { chainId ok } }', forItem('audit', ENROLMENT), forbidden('only role auditor reads the audit department')],
    ['an auditor at audit', 'audit', '{ auditChains { chainId ok } auditRecords(first: 1) { records { officer } } }', signedHeaders('audit', AUDITOR), undefined],
    ['a role that is neither', 'household', ATTACK, signedHeaders('household', { ...serviceCaller([ENROLMENT]), role: 'clerk' }, { serviceItem: ENROLMENT, caseNumber: 'CASE-2026-0001' }),
      forbidden('only role service may read citizen data')],
    ['a service item not granted', 'household', ATTACK.replace(' ethnicity', ''), forItem('household', ID_CARD, serviceCaller([ENROLMENT])),
      forbidden(`application test-window is not granted service item ${ID_CARD}`)],
    ['a service item not in the catalog', 'household', ATTACK, forItem('household', '330100-XX-9999', serviceCaller(['330100-XX-9999'])),
      forbidden('service item 330100-XX-9999 is not in the proof catalog')],
    ['no service item', 'household', ATTACK, signedHeaders('household', serviceCaller([ENROLMENT]), { caseNumber: 'CASE-2026-0001' }),
      forbidden('X-Service-Item header is required: the code of the service item (事项) this request serves')],
    ['a malformed service item', 'household', ATTACK, signedHeaders('household', serviceCaller([ENROLMENT]), { serviceItem: 'jy 0001', caseNumber: 'CASE-2026-0001' }),
      forbidden('X-Service-Item must be a service item code of 3-40 capital letters, digits and hyphens, like 330100-JY-0001')],
    ['a missing case number', 'household', ATTACK, signedHeaders('household', serviceCaller([ENROLMENT]), { serviceItem: ENROLMENT }),
      forbidden('X-Case-Number header is required: the case (application) number this request serves')],
    ['a malformed case number', 'household', ATTACK, signedHeaders('household', serviceCaller([ENROLMENT]), { serviceItem: ENROLMENT, caseNumber: 'C 1' }),
      forbidden('X-Case-Number must be 4-64 letters, digits and hyphens')],
    ['ethnicity hidden in a fragment', 'household', `query { citizen(idNumber: "${ZHANG_WEI}") { ...Who } } fragment Who on Citizen { identity { ethnicity } }`, forItem('household', ENROLMENT), ETHNICITY_NOT_NEEDED],
    ['ethnicity hidden in an inline fragment', 'household', `{ citizen(idNumber: "${ZHANG_WEI}") { ... on Citizen { identity { ... { ethnicity } } } } }`, forItem('household', ENROLMENT), ETHNICITY_NOT_NEEDED],
    ['ethnicity under an alias', 'household', `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name: ethnicity } } }`, forItem('household', ENROLMENT), ETHNICITY_NOT_NEEDED],
    ['ethnicity under @include(if: $show), whatever $show is', 'household', `query ($show: Boolean!) { citizen(idNumber: "${ZHANG_WEI}") { identity { name ethnicity @include(if: $show) } } }`,
      forItem('household', ENROLMENT), ETHNICITY_NOT_NEEDED, { show: false }],
    ['ethnicity under @skip(if: true), which no one can ask for', 'household', `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name ethnicity @skip(if: true) } } }`, forItem('household', ENROLMENT), undefined],
    ['_entities with a field the item does not need', 'household', entities('identity { ethnicity }'), forItem('household', ENROLMENT), ETHNICITY_NOT_NEEDED],
    ['_entities at residence with its history, which enrolment does not need', 'residence', entities('residenceHistory { from address { detail } }'), forItem('residence', ENROLMENT),
      forbidden(`service item ${ENROLMENT} does not need Citizen.residenceHistory, ResidencePeriod.address, ResidencePeriod.from: ask only for the fields its proofs need`, ['Citizen.residenceHistory', 'ResidencePeriod.address', 'ResidencePeriod.from'])],
    ['_entities with what enrolment verifies', 'residence', entities('residesIn(division: "3301", forAtLeastMonths: 12) { holds department checkedAt }'), forItem('residence', ENROLMENT), undefined],
    ['issue 16 at the department: residesIn asked of a district and a month, not as enrolment\'s proof asks it', 'residence',
      entities('residesIn(division: "330106", forAtLeastMonths: 1) { holds }'), forItem('residence', ENROLMENT), RESIDES_IN_AS_PROOFS_DO],
    ['the same probe in variables, as the query planner sends arguments', 'residence', RESIDES_IN_BY_VARIABLES, forItem('residence', ENROLMENT), RESIDES_IN_AS_PROOFS_DO,
      { representations: [{ __typename: 'Citizen', idNumber: ZHANG_WEI }], division: '330106', months: 1 }],
    ['the check in variables with the catalog\'s arguments', 'residence', RESIDES_IN_BY_VARIABLES, forItem('residence', ENROLMENT), undefined,
      { representations: [{ __typename: 'Citizen', idNumber: ZHANG_WEI }], division: '3301', months: 12 }],
    ['the check in variables that do not fit their definitions, which count as none', 'residence', RESIDES_IN_BY_VARIABLES, forItem('residence', ENROLMENT), RESIDES_IN_AS_PROOFS_DO,
      { representations: [{ __typename: 'Citizen', idNumber: ZHANG_WEI }], division: 3301, months: 12 }],
    ['inSameHouseholdAs turned into a marriage check', 'household', `{ citizen(idNumber: "${ZHANG_WEI}") { inSameHouseholdAs(idNumber: "${ZHANG_ZIHAN}", relation: SPOUSE) { holds } } }`, forItem('household', ENROLMENT),
      forbidden(`service item ${ENROLMENT} asks Citizen.inSameHouseholdAs only as its proofs do: inSameHouseholdAs(idNumber: the child's ID number, relation: "CHILD")`)],
    ['introspection', 'household', '{ __schema { types { name } } }', forItem('household', ENROLMENT),
      forbidden('a department answers no introspection (__schema, __type): the gateway plans from the committed supergraph')],
    ['introspection of one type, by an auditor at audit', 'audit', '{ __type(name: "AuditRecord") { fields { name } } }', signedHeaders('audit', AUDITOR),
      forbidden('a department answers no introspection (__schema, __type): the gateway plans from the committed supergraph')],
    ['_service', 'household', '{ _service { sdl } }', forItem('household', ENROLMENT),
      forbidden('a department does not serve Query._service at run time: the supergraph is composed from the committed schemas')],
    ['recordCommitment for an item without commitment proofs', 'service', `mutation { recordCommitment(input: { serviceItem: "${ID_CARD}", proof: "SFZM", applicant: "${ZHANG_WEI}", statement: "x" }) { id } }`,
      forItem('service', ID_CARD), forbidden(`service item ${ID_CARD} does not need Mutation.recordCommitment: ask only for the fields its proofs need`, ['Mutation.recordCommitment'])],
    ['breached commitments by a service caller', 'service', '{ breachedCommitments { commitments { id } } }', forItem('service', SHOP),
      forbidden(`service item ${SHOP} does not need CommitmentPage.commitments, Query.breachedCommitments: ask only for the fields its proofs need`, ['CommitmentPage.commitments', 'Query.breachedCommitments'])],
    ['ethnicity for the identity card (330100-GA-0001), which needs it, without the scope', 'household', ATTACK, forItem('household', ID_CARD),
      forbidden('Identity.ethnicity requires scope identity:ethnicity')],
    ['ethnicity for the identity card with the scope', 'household', ATTACK, forItem('household', ID_CARD, serviceCaller([ID_CARD], ['identity:ethnicity'])), undefined],
    ['residence history for housing without the scope', 'residence', entities('residenceHistory { from }'), forItem('residence', HOUSING),
      forbidden('Citizen.residenceHistory requires scope residence:history')],
    ['a business by its key at license, for an item reading licences', 'license', `{ business(creditCode: "${SNACK_SHOP}") { creditCode name } }`, forItem('license', '330100-SJ-0002'), undefined],
    // Variables as a rest parameter: jest reads a sixth declared parameter as a `done` callback on the rows without one.
  ])('%s', (_case, department, query, headers, expected, ...[variables]) => {
    expect(refusal(department, query, headers, variables)).toEqual(expected);
  });

  test.each(DEPARTMENTS)('%s answers the readiness probe { __typename } to any signed request, no caller needed', (department) => {
    expect(refusal(department, '{ __typename }', new HeaderMap())).toBeUndefined();
  });
});

describe('a new department\'s keys and scopes, read from its own SDL', () => {
  /** Keys the catalog does not list, a nested key, and federation directives imported, renamed and under the link's prefix. */
  const parking = buildSubgraphSchema({
    typeDefs: parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", as: "fed", import: [{ name: "@key", as: "@entity" }, "@shareable"])
      type Query { vehicle(plate: ID!): Vehicle }
      type Vehicle @entity(fields: "plate owner { idNumber }") { plate: ID! owner: Citizen! colour: String }
      type Citizen @entity(fields: "idNumber") { idNumber: ID! }
      type ParkingPermit @entity(fields: "permitNumber") @fed__requiresScopes(scopes: [["parking:read"], ["parking:admin"]]) { permitNumber: ID! zone: String }
    `),
  });
  /** The planner's `_entities` request for `selection` on `type`, for enrolment, by a caller with `scopes`. */
  const decide = (type: string, selection: string, scopes: string[] = []) =>
    departmentPurposeRefusal(
      { department: 'parking', catalog },
      { schema: parking, document: parse(entities(selection).replace('on Citizen', `on ${type}`)), headers: forItem('parking', ENROLMENT, serviceCaller([ENROLMENT], scopes)) },
    );

  test('the key fields the query planner adds are allowed for any purpose, nested ones too', () => {
    expect(decide('Vehicle', 'plate owner { idNumber }')).toBeUndefined();
  });

  test('any other field of the entity is the catalog\'s to allow', () => {
    expect(decide('Vehicle', 'plate colour')).toEqual(forbidden(`service item ${ENROLMENT} does not need Vehicle.colour: ask only for the fields its proofs need`, ['Vehicle.colour']));
  });

  test('a type\'s @requiresScopes, under whatever name its link gives it, covers its fields, keys included: any one group', () => {
    expect(decide('ParkingPermit', 'permitNumber')).toEqual(forbidden('ParkingPermit.permitNumber requires scope parking:read or parking:admin'));
    expect(decide('ParkingPermit', 'permitNumber', ['parking:admin'])).toBeUndefined();
  });
});

describe('the plugin in a department\'s Apollo Server', () => {
  /** A department's server as startSubgraph builds it, with the guard; its resolvers answer nothing, for nothing refused gets that far. */
  function departmentServer(department: Department) {
    const typeDefs = departmentTypeDefs(department);
    return new ApolloServer({
      schema: buildSubgraphSchema({ typeDefs, resolvers: scalarsDeclaredIn(typeDefs) as GraphQLResolverMap<unknown> }),
      includeStacktraceInErrorResponses: false,
      plugins: [ApolloServerPluginInlineTraceDisabled(), departmentPurposePlugin({ department, catalog })],
    });
  }
  const household = departmentServer('household');

  beforeAll(() => household.start());
  afterAll(() => household.stop());

  async function send(query: string, headers: HeaderMap) {
    const response = await household.executeOperation({ query, http: { method: 'POST', headers, search: '', body: {} } });
    return { status: response.http.status, headers: Object.fromEntries(response.http.headers), body: response.body };
  }

  test('refuses issue 17\'s attack with 403 before any resolver runs, naming the coordinate', async () => {
    expect(await send(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name ethnicity } household { members { citizen { idNumber } } } } }`, forItem('household', ENROLMENT))).toEqual({
      status: 403,
      headers: { 'cache-control': 'no-store' },
      body: {
        kind: 'single',
        singleResult: {
          errors: [{
            message: `service item ${ENROLMENT} does not need Identity.ethnicity: ask only for the fields its proofs need`,
            extensions: { code: 'FORBIDDEN', notAllowed: ['Identity.ethnicity'] },
          }],
        },
      },
    });
  });

  test('refuses a request without a caller with 401', async () => {
    expect(await send(`{ citizen(idNumber: "${ZHANG_WEI}") { idNumber } }`, signedHeaders('household', undefined))).toEqual({
      status: 401,
      headers: { 'cache-control': 'no-store', 'www-authenticate': 'Bearer' },
      body: {
        kind: 'single',
        singleResult: { errors: [{ message: 'X-Proofless-Caller header is absent: the gateway names the caller it verified in it', extensions: { code: 'UNAUTHENTICATED' } }] },
      },
    });
  });

  test('runs what the purpose allows, and the readiness probe without any header', async () => {
    expect(await send(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`, forItem('household', ENROLMENT))).toEqual({
      status: undefined,
      headers: { 'cache-control': 'no-store' },
      body: { kind: 'single', singleResult: { data: { citizen: null } } },
    });
    expect(await send('{ __typename }', new HeaderMap())).toEqual({
      status: undefined,
      headers: { 'cache-control': 'no-store' },
      body: { kind: 'single', singleResult: { data: { __typename: 'Query' } } },
    });
  });
});
