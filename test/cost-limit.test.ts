import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getOperationAST, parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { costModelOf, estimateCost } from '../gateway/operation-cost';
import { DEFAULT_OPERATION_LIMITS } from '../gateway/plugins/limits';
import { loadSupergraph } from '../gateway/supergraph';
import { CATALOG_FILE, loadCatalog } from '../lib/catalog';
import { composeSupergraph, SCHEMA_DIR, SUPERGRAPH_FILE } from '../lib/composition';
import { idNumberCheckCharacter } from '../lib/id-number';
import { checkRead, factsRead, readOperation } from '../lib/proof-reads';
import { CHEN_QIANG, LI_NA, WANG_XIUYING, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { startStack, useFixtureStack } from './helpers/stack';

/**
 * The cost limit (issue 16, item 6): an operation's estimated cost, computed from the
 * schema with the request's variables, must be within PROOFLESS_MAX_COST, so that one
 * caller's request cannot load a department until it times out for everyone. What every
 * legitimate workload costs is asserted here too, so a change to the model or to a
 * department's `@listSize` that would refuse one of them fails here first.
 */
const city = useFixtureStack();

/** 100 well-formed ID numbers, the most one list may carry: the fixture city's five and 95 no registry knows. */
const KNOWN = [ZHANG_WEI, LI_NA, ZHANG_ZIHAN, WANG_XIUYING, CHEN_QIANG];
const HUNDRED_IDS = [...KNOWN, ...Array.from({ length: 95 }, (_, i) => {
  const first17 = `33010619800101${String(100 + i * 2).padStart(3, '0')}`;
  return `${first17}${idNumberCheckCharacter(first17)}`;
})];

/** The attack as it was reported: 5 aliases x 100 ID numbers, household -> members -> citizen -> household -> members with residenceHistory. */
const ATTACK_SELECTION = `household { members { citizen { household { members { citizen { residenceHistory { from to address { detail } } } } } } } }`;
const ATTACK = `query Attack($ids: [ID!]!) {
  a: citizens(idNumbers: $ids) { ${ATTACK_SELECTION} }
  b: citizens(idNumbers: $ids) { ${ATTACK_SELECTION} }
  c: citizens(idNumbers: $ids) { ${ATTACK_SELECTION} }
  d: citizens(idNumbers: $ids) { ${ATTACK_SELECTION} }
  e: citizens(idNumbers: $ids) { ${ATTACK_SELECTION} }
}`;
const ATTACK_REFUSED = {
  status: 400,
  body: { errors: [{ message: 'estimated cost must be at most 10000, got 1116000', extensions: { code: 'OPERATION_LIMIT_EXCEEDED', limit: 'maxCost', max: 10000, actual: 1116000 } }] },
};

/** The README's first query; bench scenario A sends the same selection. */
const README_SELECTION = 'identity { name birthDate provenance { department updatedAt } } household { householdNumber members { relation citizen { identity { name } } } } residence { status address { division { name } detail } } licences { kind status }';
/** Bench scenario C (bench/scenarios.ts CITIZENS_FACTS). */
const CITIZENS_FACTS = 'query CitizensFacts($ids: [ID!]!) { citizens(idNumbers: $ids) { idNumber identity { name } household { householdNumber } residence { status } licences { kind status } } }';

const sent = () => ({ ...city.stack.subgraphRequests, service: city.stack.service.gatewayRequests.length });
const NOTHING_SENT = { household: 0, residence: 0, license: 0, service: 0 };

describe('through the gateway', () => {
  test('the attack is refused with its cost and the maximum, before any department is called', async () => {
    const { status, body } = await city.stack.query(ATTACK, { ids: HUNDRED_IDS });
    expect({ status, body }).toEqual(ATTACK_REFUSED);
    expect(sent()).toEqual(NOTHING_SENT);
  });

  test('the attack with its ID numbers as a variable default, no variables sent, costs the same', async () => {
    const withDefault = ATTACK.replace('$ids: [ID!]!', `$ids: [ID!]! = ${JSON.stringify(HUNDRED_IDS)}`);
    const { status, body } = await city.stack.query(withDefault);
    expect({ status, body }).toEqual(ATTACK_REFUSED);
    expect(sent()).toEqual(NOTHING_SENT);
  });

  test('the attack as literals, one alias of it, costs a fifth', async () => {
    const oneAlias = `{ citizens(idNumbers: ${JSON.stringify(HUNDRED_IDS)}) { ${ATTACK_SELECTION} } }`;
    const { status, body } = await city.stack.query(oneAlias);
    expect({ status, body }).toEqual({
      status: 400,
      body: { errors: [{ message: 'estimated cost must be at most 10000, got 223200', extensions: { code: 'OPERATION_LIMIT_EXCEEDED', limit: 'maxCost', max: 10000, actual: 223200 } }] },
    });
  });

  test('bench scenario C, 100 citizens from all three departments, is answered', async () => {
    const { status, body } = await city.stack.query(CITIZENS_FACTS, { ids: HUNDRED_IDS });
    const household = { householdNumber: '330106001234' };
    const atHome = { status: 'HOUSEHOLD_ADDRESS' };
    expect({ status, body }).toEqual({
      status: 200,
      body: {
        data: {
          citizens: [
            {
              idNumber: ZHANG_WEI, identity: { name: '张伟' }, household, residence: atHome,
              licences: [{ kind: 'DRIVING_LICENCE', status: 'ACTIVE' }, { kind: 'BUSINESS_LICENCE', status: 'ACTIVE' }, { kind: 'FOOD_BUSINESS_LICENCE', status: 'EXPIRED' }],
            },
            { idNumber: LI_NA, identity: { name: '李娜' }, household, residence: atHome, licences: [] },
            { idNumber: ZHANG_ZIHAN, identity: { name: '张子涵' }, household, residence: atHome, licences: [] },
            { idNumber: WANG_XIUYING, identity: { name: '王秀英' }, household, residence: null, licences: [] },
            { idNumber: CHEN_QIANG, identity: { name: '陈强' }, household: null, residence: { status: 'PERMIT_VALID' }, licences: [] },
            ...Array.from({ length: 95 }, () => null),
          ],
        },
      },
    });
  });

  test('the README query for the most citizens one list may carry (cost 4,700) is answered', async () => {
    const { status, body } = await city.stack.query(`query ($ids: [ID!]!) { citizens(idNumbers: $ids) { ${README_SELECTION} } }`, { ids: HUNDRED_IDS });
    expect({ status, errors: body.errors, answered: body.data.citizens.filter(Boolean).length }).toEqual({ status: 200, errors: undefined, answered: 5 });
  });

  test('PROOFLESS_MAX_COST sets the maximum: at 40 the README query (47) is refused', async () => {
    const strict = await startStack({ dataDir: city.dataDir, env: { PROOFLESS_MAX_COST: '40' } });
    try {
      const { status, body } = await strict.query(`{ citizen(idNumber: "${ZHANG_WEI}") { ${README_SELECTION} } }`);
      expect({ status, body }).toEqual({
        status: 400,
        body: { errors: [{ message: 'estimated cost must be at most 40, got 47', extensions: { code: 'OPERATION_LIMIT_EXCEEDED', limit: 'maxCost', max: 40, actual: 47 } }] },
      });
    } finally {
      await strict.stop();
    }
  });
});

describe('the estimate', () => {
  const supergraph = loadSupergraph(SUPERGRAPH_FILE);
  const model = costModelOf(supergraph.gatewaySdl);
  // One parsed document per text, as Apollo Server reuses it: an estimate kept for a document must still follow the variables it read.
  const documents = new Map<string, DocumentNode>();
  const cost = (query: string, variables: Record<string, unknown> = {}) => {
    const document = documents.get(query) ?? parse(query);
    documents.set(query, document);
    return estimateCost(supergraph.apiSchema, document, getOperationAST(document) as OperationDefinitionNode, variables, model);
  };

  test('departments bound their lists with @listSize in their SDL, and the gateway reads them from the supergraph', () => {
    expect(Object.fromEntries(model.listSizes)).toEqual({
      'Business.licences': { assumedSize: 10, slicingArguments: [], sizedFields: [] },
      'Citizen.licences': { assumedSize: 10, slicingArguments: [], sizedFields: [] },
      'AuditReceipt.records': { assumedSize: 1, slicingArguments: [], sizedFields: [] },
      'Citizen.residenceHistory': { assumedSize: 10, slicingArguments: [], sizedFields: [] },
      'DepartmentTraffic.figures': { assumedSize: 50, slicingArguments: [], sizedFields: [] },
      'Household.members': { assumedSize: 10, slicingArguments: [], sizedFields: [] },
      'ProofChecklist.proofs': { assumedSize: 10, slicingArguments: [], sizedFields: [] },
      'Query.auditChains': { assumedSize: 10, slicingArguments: [], sizedFields: [] },
      'Query.auditRecords': { slicingArguments: ['first'], sizedFields: ['records'] },
      'Query.breachedCommitments': { slicingArguments: ['first'], sizedFields: ['commitments'] },
    });
  });

  test('composition 2.14.4 refuses a list as a slicing argument: citizens(idNumbers:) is sized by the gateway\'s own rule until it composes', () => {
    const schemaDir = mkdtempSync(path.join(os.tmpdir(), 'proofless-listsize-'));
    try {
      cpSync(SCHEMA_DIR, schemaDir, { recursive: true });
      const household = path.join(schemaDir, 'household.graphql');
      const sdl = readFileSync(household, 'utf8');
      const sized = sdl.replace('citizens(idNumbers: [ID!]!): [Citizen]! @authenticated', 'citizens(idNumbers: [ID!]!): [Citizen]! @authenticated @listSize(slicingArguments: ["idNumbers"])');
      expect(sized).not.toBe(sdl);
      writeFileSync(household, sized);
      expect(() => composeSupergraph(schemaDir)).toThrow('Slicing argument "Query.citizens(idNumbers:)" must be Int or Int!');
    } finally {
      rmSync(schemaDir, { recursive: true, force: true });
    }
  });

  test('every legitimate workload costs what it did when the default was chosen, all within it', () => {
    const costs = {
      readmeQuery: cost(`{ citizen(idNumber: "${ZHANG_WEI}") { ${README_SELECTION} } }`),
      readmeQueryFor100: cost(`query ($ids: [ID!]!) { citizens(idNumbers: $ids) { ${README_SELECTION} } }`, { ids: HUNDRED_IDS }),
      benchC: cost(CITIZENS_FACTS, { ids: HUNDRED_IDS }),
      // test/batching.test.ts: household members' residence and licences' businesses for 100 citizens.
      batching: cost('query ($ids: [ID!]!) { citizens(idNumbers: $ids) { idNumber identity { name } household { householdNumber members { relation citizen { idNumber identity { name } residence { status } } } } residence { status } licences { number business { creditCode name } } } }', { ids: HUNDRED_IDS }),
      readmeChecklist: cost('query ($item: String!, $applicant: ID!) { proofChecklist(serviceItem: $item, applicant: $applicant) { name isComplete proofs { code name mode status facts verification { holds department checkedAt } commitment { state followUpDeadline } remedy } } }', { item: '330100-SJ-0001', applicant: ZHANG_WEI }),
      recordCommitment: cost('mutation ($input: RecordCommitmentInput!) { recordCommitment(input: $input) { id signedAt followUpDeadline state } }', { input: { serviceItem: '330100-SJ-0001', proof: 'JYCSZM', applicant: ZHANG_WEI, statement: '本人承诺' } }),
      readmeAuditQuery: cost(`{ auditRecords(idNumber: "${ZHANG_WEI}", first: 20) { records { time application officer serviceItem caseNumber coordinates citizens outcome errorCodes } endCursor hasNextPage } auditChains { chainId ok records lastCheckpoint firstBadSequence problem } }`),
      // The audit console's three queries (gateway/pages/audit-console/console.js), its records at their largest page.
      consoleRecords: cost('query ($first: Int) { auditRecords(first: $first) { records { time requestId application officer role serviceItem caseNumber operationName outcome errorCodes citizens coordinates departments latencyMs documentHash chainId sequence hash previousHash } endCursor hasNextPage } }', { first: 100 }),
      consoleChains: cost('query AuditConsoleChains { auditChains { chainId ok records lastSequence lastCheckpoint firstBadSequence problem verifiedAt } }'),
      consoleBreaches: cost('query ($after: String) { breachedCommitments(first: 20, after: $after) { commitments { id serviceItem caseNumber proof applicant statement signedAt followUpDeadline lastCheckedAt } endCursor hasNextPage } }'),
    };
    expect(costs).toEqual({
      readmeQuery: 47, readmeQueryFor100: 4700, benchC: 1400, batching: 6400, readmeChecklist: 31, recordCommitment: 11,
      readmeAuditQuery: 31, consoleRecords: 101, consoleChains: 10, consoleBreaches: 21,
    });
    expect(Math.max(...Object.values(costs))).toBeLessThanOrEqual(DEFAULT_OPERATION_LIMITS.maxCost);
  });

  test("the service bureau's reads for every catalog item's checklist are within the default", () => {
    const reads: Record<string, number> = {};
    for (const item of loadCatalog(CATALOG_FILE).items.values()) {
      const itemReads = item.proofs.flatMap((proof) => {
        if (proof.mode === 'DATA_SHARING') return [factsRead(proof, ZHANG_WEI)];
        if (proof.mode === 'VERIFICATION') return [checkRead(supergraph.apiSchema, proof.code, proof.check, ZHANG_WEI, () => ZHANG_ZIHAN)];
        return [];
      });
      if (itemReads.length === 0) continue;
      const { query, variables } = readOperation('ProofChecklist', itemReads);
      reads[item.code] = cost(query, variables);
    }
    expect(Object.keys(reads).length).toBeGreaterThan(5);
    expect(Math.max(...Object.values(reads))).toBe(73);
  });

  test('an object costs 1, a scalar 0, a list its size times one item: sizes from identifier lists, slicing arguments and @listSize', () => {
    expect(cost(`{ citizen(idNumber: "${ZHANG_WEI}") { idNumber identity { name } } }`)).toBe(2);
    expect(cost('query ($ids: [ID!]!) { citizens(idNumbers: $ids) { identity { name } } }', { ids: [ZHANG_WEI, LI_NA, CHEN_QIANG] })).toBe(6);
    // A single value given for a list argument is a list of one, as execution coerces it.
    expect(cost(`{ citizens(idNumbers: "${ZHANG_WEI}") { identity { name } } }`)).toBe(2);
    // Household.members @listSize(assumedSize: 10): each member and its citizen cost 2.
    expect(cost(`{ citizen(idNumber: "${ZHANG_WEI}") { household { members { citizen { idNumber } } } } }`)).toBe(1 + 1 + 10 * 2);
    // auditRecords(first:) sizes its page's records; the argument's default (20) when none is given.
    expect(cost('{ auditRecords(first: 50) { records { sequence } } }')).toBe(1 + 50);
    expect(cost('{ auditRecords { records { sequence } } }')).toBe(1 + 20);
    expect(cost('query ($first: Int) { auditRecords(first: $first) { records { sequence } } }', { first: 7 })).toBe(1 + 7);
    expect(cost('query ($first: Int) { auditRecords(first: $first) { records { sequence } } }', { first: 70 })).toBe(1 + 70);
    expect(cost('query ($ids: [ID!]!) { citizens(idNumbers: $ids) { identity { name } } }', { ids: [ZHANG_WEI] })).toBe(2);
  });

  test('aliases count each time; a field selected twice under one name, by fragments, counts once', () => {
    const aliased = `{ a: citizen(idNumber: "${ZHANG_WEI}") { identity { name } } b: citizen(idNumber: "${LI_NA}") { identity { name } } }`;
    expect(cost(aliased)).toBe(4);
    const merged = `query { citizen(idNumber: "${ZHANG_WEI}") { ...A ...B identity { gender } ... on Citizen { identity { name } } } }
      fragment A on Citizen { identity { name } }
      fragment B on Citizen { identity { birthDate } ...A }`;
    expect(cost(merged)).toBe(2);
  });

  test('@skip and @include are decided with the variables; __typename and introspection cost nothing; a mutation costs 10 more', () => {
    const skippable = `query ($skip: Boolean!) { citizen(idNumber: "${ZHANG_WEI}") { __typename household @skip(if: $skip) { members { relation } } } }`;
    expect(cost(skippable, { skip: true })).toBe(1);
    expect(cost(skippable, { skip: false })).toBe(1 + 1 + 10);
    expect(cost(skippable, { skip: true })).toBe(1);
    expect(cost('{ __schema { types { name fields { name type { name ofType { name } } } } } }')).toBe(0);
    expect(cost('mutation ($input: RecordCommitmentInput!) { recordCommitment(input: $input) { id } }', { input: {} })).toBe(11);
  });
});
