import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import type { StoredRecord } from '../audit/entry';
import { AuditRewriteError, takeAuditIdentifiers, withAuditIdentifiers } from '../gateway/audit-identifiers';
import { loadSupergraph } from '../gateway/supergraph';
import { SUPERGRAPH_FILE } from '../lib/composition';
import { LI_NA, WANG_XIUYING, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { auditRecordOf } from './helpers/audit-records';
import { useFixtureStack } from './helpers/stack';

/**
 * Attacks on the audit record's list of citizens: a caller who could choose what the
 * gateway reads back as identifiers could read three citizens while the record names
 * none. No caller document may influence what the record says.
 */
const city = useFixtureStack();

const FAMILY = [LI_NA, WANG_XIUYING, ZHANG_WEI, ZHANG_ZIHAN].sort();

async function recordOf(requestId: string | null): Promise<StoredRecord | undefined> {
  expect(requestId).toEqual(expect.any(String));
  return auditRecordOf(city.stack.audit.store, requestId as string);
}

function reserved(name: string, query: string) {
  return {
    message: `${name} is a reserved name: aliases and fields beginning with "proofless_" belong to the gateway`,
    locations: [{ line: 1, column: query.indexOf(`${name}`) + 1 }],
    extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
  };
}

describe('the reserved namespace: no caller alias or field may begin with proofless_', () => {
  test.each([
    ['the audit alias on the citizen, hiding whom it is', `{ citizen(idNumber: "${ZHANG_ZIHAN}") { proofless_audit_idNumber: __typename identity { name } } }`, 'proofless_audit_idNumber'],
    ['the alias of the gateway\'s own field', `{ citizen(idNumber: "${ZHANG_ZIHAN}") { proofless_audit_id: __typename identity { name } } }`, 'proofless_audit_id'],
    ['an alias holding names, to write names into the record', `{ citizen(idNumber: "${ZHANG_ZIHAN}") { identity { proofless_audit_id: name } } }`, 'proofless_audit_id'],
    ['on household members', `{ citizen(idNumber: "${ZHANG_ZIHAN}") { household { members { citizen { proofless_audit_id: __typename identity { name } } } } } }`, 'proofless_audit_id'],
    ['on another type', `{ citizen(idNumber: "${ZHANG_ZIHAN}") { household { proofless_audit_id: householdNumber } } }`, 'proofless_audit_id'],
    ['in a named fragment', `{ citizen(idNumber: "${ZHANG_ZIHAN}") { ...Who } } fragment Who on Citizen { proofless_audit_id: __typename }`, 'proofless_audit_id'],
    ['in an inline fragment', `{ citizen(idNumber: "${ZHANG_ZIHAN}") { ... on Citizen { proofless_audit_id: __typename } } }`, 'proofless_audit_id'],
    ['in capitals', `{ citizen(idNumber: "${ZHANG_ZIHAN}") { PROOFLESS_AUDIT_ID: __typename } }`, 'PROOFLESS_AUDIT_ID'],
    ['in mixed case', `{ citizen(idNumber: "${ZHANG_ZIHAN}") { Proofless_Audit_Id: __typename } }`, 'Proofless_Audit_Id'],
    ['anywhere in the namespace', `{ proofless_anything: __typename }`, 'proofless_anything'],
    ['as a field name', `{ proofless_audit_id }`, 'proofless_audit_id'],
  ])('%s: 400 GRAPHQL_VALIDATION_FAILED, nothing read, and the refusal recorded', async (_case, query, name) => {
    const response = await city.stack.query(query, undefined, await city.stack.serviceHeaders());
    const errors = response.body.errors.filter((error: { message: string }) => error.message.includes('reserved name'));
    expect({ status: response.status, errors, hasData: 'data' in response.body }).toEqual({ status: 400, errors: [reserved(name, query)], hasData: false });
    expect(city.stack.subgraphRequests).toEqual({ household: 0, residence: 0, license: 0 });
    const record = await recordOf(response.headers.get('x-request-id'));
    expect(record && { outcome: record.outcome, errorCodes: record.errorCodes, coordinates: record.coordinates }).toEqual({
      outcome: 'refused',
      errorCodes: ['GRAPHQL_VALIDATION_FAILED'],
      coordinates: [],
    });
  });
});

describe('identifiers come only from the fields the gateway added', () => {
  test('a caller who aliases idNumber to a name still leaves a record of ID numbers, and gets the names it asked for', async () => {
    const query = `{ citizen(idNumber: "${ZHANG_ZIHAN}") { idNumber: __typename household { members { citizen { idNumber: identity { name } } } } } }`;
    const response = await city.stack.query(query);
    expect(response.status).toBe(200);
    expect(response.body.data.citizen.idNumber).toBe('Citizen');
    expect(response.body.data.citizen.household.members.map((member: { citizen: { idNumber: { name: string } } }) => member.citizen.idNumber.name).sort()).toEqual(['张伟', '张子涵', '李娜', '王秀英'].sort());
    expect(JSON.stringify(response.body)).not.toContain('proofless_');
    expect((await recordOf(response.headers.get('x-request-id')))?.citizens).toEqual(FAMILY);
  });

  test('the legal representative of a business is named in the record, though the caller never selected an ID number', async () => {
    const query = '{ business(creditCode: "92330106MA2H3K4L5K") { name legalRepresentative { identity { name } } } }';
    const response = await city.stack.query(query);
    expect(response.body).toEqual({ data: { business: { name: '杭州市西湖区张记小吃店', legalRepresentative: { identity: { name: '张伟' } } } } });
    expect((await recordOf(response.headers.get('x-request-id')))?.citizens).toEqual([ZHANG_WEI]);
  });

  test('a commitment names its applicant in the record, though the caller selected only its id (breached commitments for auditors)', () => {
    const schema = loadSupergraph(SUPERGRAPH_FILE).apiSchema;
    const document = withAuditIdentifiers(schema, parse('{ breachedCommitments { commitments { id } } }'));
    const operation = document.definitions.find((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
    const data = { breachedCommitments: { commitments: [{ id: 'c1', proofless_audit_id: ZHANG_WEI }, { id: 'c2', proofless_audit_id: LI_NA }] } };
    expect(takeAuditIdentifiers(data, document, operation).sort()).toEqual([ZHANG_WEI, LI_NA].sort());
    expect(data).toEqual({ breachedCommitments: { commitments: [{ id: 'c1' }, { id: 'c2' }] } });
  });

  test('a rewritten document that would not validate is refused by the rewrite itself (the gateway\'s second line, behind the reserved namespace)', () => {
    const schema = loadSupergraph(SUPERGRAPH_FILE).apiSchema;
    // Only a document that skipped the reserved-names rule can hold this: the added field would conflict with the caller's.
    const document = parse(`{ citizen(idNumber: "${ZHANG_ZIHAN}") { proofless_audit_id: __typename } }`);
    expect(() => withAuditIdentifiers(schema, document)).toThrow(new AuditRewriteError(
      'the audit rewrite of a valid document does not validate: Fields "proofless_audit_id" conflict because "__typename" and "idNumber" are different fields. Use different aliases on the fields to fetch both if this was intentional.',
    ));
  });
});
