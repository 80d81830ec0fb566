import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse, visit } from 'graphql';
import type { RunningSubgraph } from '../subgraphs/shared/server';
import { CHEN_QIANG, UNKNOWN_CITIZEN, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { startStack, useFixtureStack, type Stack } from './helpers/stack';

/**
 * 一次性告知: a service item's whole proof checklist for one applicant in one request,
 * read through the gateway under the caller's own purpose, each proof by its mode.
 */
const NOW = '2026-11-02T03:00:00.000Z';
const city = useFixtureStack({ clock: () => new Date(NOW) });

const ENROLMENT = '330100-JY-0001';
const SENIOR_CARD = '330100-MZ-0002';
const FOOD_LICENCE = '330100-SJ-0002';
const PERMIT = '330100-GA-0002';
const DRIVING_LICENCE = '330100-GA-0003';

const CHECKLIST = `query Checklist($item: String!, $applicant: ID!, $related: [RelatedPersonInput!]) {
  proofChecklist(serviceItem: $item, applicant: $applicant, related: $related) {
    serviceItem name department highRisk caseNumber isComplete
    proofs { code name mode status concerns facts verification { holds department checkedAt } commitment { id state } remedy }
  }
}`;

/** Headers of an officer's service system acting for `items[0]` on one case, granted `items`. */
async function officer(stack: Stack, items: string[], caseNumber = 'CASE-2026-0101') {
  return {
    authorization: `Bearer ${await stack.token({ serviceItems: items, scopes: [] })}`,
    'x-service-item': items[0],
    'x-case-number': caseNumber,
  };
}

async function checklist(item: string, applicant: string, related?: { idNumber: string; role: string }[], stack: Stack = city.stack) {
  const headers = await officer(stack, [item]);
  return { headers, response: await stack.query(CHECKLIST, { item, applicant, related }, headers) };
}

const PROVENANCE = (updatedAt: string) => ({ department: 'household', authority: '杭州市公安局', updatedAt });
const XIHU = { code: '330106', name: '浙江省杭州市西湖区' };
const verified = (holds: boolean, department: string) => ({ holds, department, checkedAt: NOW });
/** A proof as the checklist shows it; fields not given are null. */
const proof = (code: string, name: string, mode: string, status: string, rest: Record<string, unknown> = {}) => ({
  code, name, mode, status, concerns: null, facts: null, verification: null, commitment: null, remedy: null, ...rest,
});

/** Every request a department's subgraph receives while `during` runs, with the body it answered. */
async function exchangesWith(subgraph: RunningSubgraph, during: () => Promise<unknown>) {
  const exchanges: { request: { query: string; variables: unknown }; response: unknown }[] = [];
  const listen = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    const end = res.end.bind(res) as (chunk: unknown) => ServerResponse;
    res.end = ((chunk: unknown) => {
      exchanges.push({ request: JSON.parse(Buffer.concat(chunks).toString('utf8')), response: JSON.parse(String(chunk)) });
      return end(chunk);
    }) as ServerResponse['end'];
  };
  subgraph.httpServer.on('request', listen);
  try {
    await during();
  } finally {
    subgraph.httpServer.off('request', listen);
  }
  return exchanges;
}

/** Every field name a GraphQL document selects, `__typename` aside. */
function fieldNames(query: string): string[] {
  const names = new Set<string>();
  visit(parse(query), { Field: (node) => void (node.name.value === '__typename' || names.add(node.name.value)) });
  return [...names].sort();
}

test('compulsory-education enrolment: the child\'s 户籍 shared, kinship and residence verified, in one gateway request under the officer\'s purpose', async () => {
  const { headers, response } = await checklist(ENROLMENT, ZHANG_WEI, [{ idNumber: ZHANG_ZIHAN, role: 'CHILD' }]);
  expect(response.status).toBe(200);
  expect(response.body).toEqual({
    data: {
      proofChecklist: {
        serviceItem: ENROLMENT, name: '义务教育阶段新生入学报名', department: '杭州市教育局', highRisk: false, caseNumber: 'CASE-2026-0101', isComplete: true,
        proofs: [
          proof('HJZM', '户籍证明', 'DATA_SHARING', 'SATISFIED', {
            concerns: 'CHILD',
            facts: {
              identity: { name: '张子涵', gender: 'FEMALE', birthDate: '2015-09-01', provenance: PROVENANCE('2015-10-08T03:00:00.000Z') },
              household: {
                householdNumber: '330106001234', type: 'FAMILY', address: { division: XIHU, detail: '文三路 138 号 2 幢 301 室' },
                provenance: PROVENANCE('2024-05-06T02:00:00.000Z'),
              },
            },
          }),
          proof('QSGXZM', '亲属关系证明', 'VERIFICATION', 'SATISFIED', { verification: verified(true, 'household') }),
          proof('JZZM', '居住证明', 'VERIFICATION', 'SATISFIED', { verification: verified(true, 'residence') }),
        ],
      },
    },
  });
  expect(city.stack.service.gatewayRequests).toEqual([{
    query: 'query ProofChecklist($HJZM: ID!, $QSGXZM: ID!, $QSGXZM_idNumber: ID!, $QSGXZM_relation: Relation!, $JZZM: ID!, $JZZM_division: String!, $JZZM_forAtLeastMonths: Int!) {'
      + ' HJZM: citizen(idNumber: $HJZM) { identity { name gender birthDate provenance { department authority updatedAt } }'
      + ' household { householdNumber type address { division { code name } detail } provenance { department authority updatedAt } } }'
      + ' QSGXZM: citizen(idNumber: $QSGXZM) { inSameHouseholdAs(idNumber: $QSGXZM_idNumber, relation: $QSGXZM_relation) { holds department checkedAt } }'
      + ' JZZM: citizen(idNumber: $JZZM) { residesIn(division: $JZZM_division, forAtLeastMonths: $JZZM_forAtLeastMonths) { holds department checkedAt } } }',
    variables: {
      HJZM: ZHANG_ZIHAN,
      QSGXZM: ZHANG_WEI, QSGXZM_idNumber: ZHANG_ZIHAN, QSGXZM_relation: 'CHILD',
      JZZM: ZHANG_WEI, JZZM_division: '3301', JZZM_forAtLeastMonths: 12,
    },
    headers,
  }]);
  expect(city.stack.subgraphRequests).toEqual({ household: 1, residence: 1, license: 0 });
});

test('data sharing reads only the facts the catalog names, and the department is asked for nothing else', async () => {
  let response: Awaited<ReturnType<typeof checklist>>['response'] | undefined;
  const exchanges = await exchangesWith(city.stack.subgraphs.household, async () => {
    ({ response } = await checklist(SENIOR_CARD, ZHANG_WEI));
  });
  expect(response?.body.data.proofChecklist.proofs).toEqual([
    proof('SFZM', '身份证明', 'DATA_SHARING', 'SATISFIED', {
      facts: { identity: { name: '张伟', gender: 'MALE', birthDate: '1975-03-12', provenance: PROVENANCE('2024-05-06T02:00:00.000Z') } },
    }),
    proof('HJZM', '户籍证明', 'DATA_SHARING', 'SATISFIED', {
      facts: { household: { address: { division: XIHU, detail: '文三路 138 号 2 幢 301 室' }, provenance: PROVENANCE('2024-05-06T02:00:00.000Z') } },
    }),
  ]);
  expect(exchanges).toHaveLength(1);
  // idNumber is the entity key the gateway's query plan asks for, and the one the caller gave.
  expect(fieldNames(exchanges[0].request.query)).toEqual(
    ['address', 'authority', 'birthDate', 'citizen', 'code', 'department', 'detail', 'division', 'gender', 'household', 'idNumber', 'identity', 'name', 'provenance', 'updatedAt'],
  );
  expect(city.stack.subgraphRequests).toEqual({ household: 1, residence: 0, license: 0 });
});

test('the audit log holds both exchanges of the case: the officer\'s checklist, and the bureau\'s read of exactly the catalog\'s facts', async () => {
  const headers = { ...(await officer(city.stack, [SENIOR_CARD])), 'x-case-number': 'MZ-2026-0777' };
  expect((await city.stack.query(CHECKLIST, { item: SENIOR_CARD, applicant: ZHANG_WEI }, headers)).status).toBe(200);
  const records = [];
  for (const chainId of await city.stack.audit.store.listChains()) records.push(...await city.stack.audit.store.readChain(chainId, 0, 100000));
  const ofCase = records
    .filter((record) => record.caseNumber === 'MZ-2026-0777')
    .map(({ operationName, application, officer: staff, serviceItem, coordinates, citizens, departments, outcome }) => ({ operationName, application, officer: staff, serviceItem, coordinates, citizens, departments, outcome }))
    .sort((a, b) => String(a.operationName).localeCompare(String(b.operationName)));
  const caller = { application: 'test-window', officer: 'officer-001', serviceItem: SENIOR_CARD, outcome: 'ok' };
  expect(ofCase).toEqual([
    {
      ...caller,
      operationName: 'Checklist',
      coordinates: expect.arrayContaining(['Query.proofChecklist', 'ChecklistProof.facts', 'ChecklistProof.verification']),
      // The checklist's facts are the applicant's: its record names them, as the read's does.
      citizens: [ZHANG_WEI],
      departments: ['service'],
    },
    {
      ...caller,
      operationName: 'ProofChecklist',
      coordinates: [
        'Address.detail', 'Address.division', 'Citizen.household', 'Citizen.identity', 'Division.code', 'Division.name', 'Household.address', 'Household.provenance',
        'Identity.birthDate', 'Identity.gender', 'Identity.name', 'Identity.provenance', 'Provenance.authority', 'Provenance.department', 'Provenance.updatedAt', 'Query.citizen',
      ],
      citizens: [ZHANG_WEI],
      departments: ['household'],
    },
  ]);
});

test('a verification discloses only its answer: the department is asked for the check alone and answers the boolean, who, and when', async () => {
  let response: Awaited<ReturnType<typeof checklist>>['response'] | undefined;
  const exchanges = await exchangesWith(city.stack.subgraphs.license, async () => {
    ({ response } = await checklist(DRIVING_LICENCE, ZHANG_WEI));
  });
  expect(response?.body).toEqual({
    data: {
      proofChecklist: {
        serviceItem: DRIVING_LICENCE, name: '机动车驾驶证补领换领', department: '杭州市公安局交通警察支队', highRisk: false, caseNumber: 'CASE-2026-0101', isComplete: true,
        proofs: [
          proof('SFZM', '身份证明', 'DATA_SHARING', 'SATISFIED', {
            facts: { identity: { name: '张伟', gender: 'MALE', birthDate: '1975-03-12', provenance: PROVENANCE('2024-05-06T02:00:00.000Z') } },
          }),
          proof('JSZ', '原驾驶证信息', 'VERIFICATION', 'SATISFIED', { verification: verified(true, 'license') }),
          proof('SFZFYJ', '身份证复印件', 'CANCELLED', 'NOT_REQUIRED'),
        ],
      },
    },
  });
  expect(exchanges).toHaveLength(1);
  const [{ request, response: answered }] = exchanges;
  expect(fieldNames(request.query)).toEqual(['_entities', 'checkedAt', 'department', 'holds', 'holdsActiveLicence']);
  expect(request.variables).toEqual({ representations: [{ __typename: 'Citizen', idNumber: ZHANG_WEI }], JSZ_kind: 'DRIVING_LICENCE' });
  expect(answered).toEqual({ data: { _entities: [{ holdsActiveLicence: { holds: true, department: 'license', checkedAt: NOW } }] } });
});

describe('what the applicant can do when a proof is not satisfied', () => {
  test('a check that does not hold: the kinship of a child in another household', async () => {
    const { response } = await checklist(ENROLMENT, CHEN_QIANG, [{ idNumber: ZHANG_ZIHAN, role: 'CHILD' }]);
    const { isComplete, proofs } = response.body.data.proofChecklist;
    expect(isComplete).toBe(false);
    expect(proofs.slice(1)).toEqual([
      proof('QSGXZM', '亲属关系证明', 'VERIFICATION', 'NOT_SATISFIED', {
        verification: verified(false, 'household'),
        remedy: 'the household department\'s check does not hold: bring the paper proof (亲属关系证明), or have the household department correct its registry if it is wrong',
      }),
      // 滨江区 from 2019, then 西湖区: an unbroken stay in 杭州市.
      proof('JZZM', '居住证明', 'VERIFICATION', 'SATISFIED', { verification: verified(true, 'residence') }),
    ]);
  });

  test('a fact the department holds no record of: a migrant\'s 户籍 is held elsewhere', async () => {
    const { response } = await checklist(SENIOR_CARD, CHEN_QIANG);
    expect(response.body.data.proofChecklist.proofs[1]).toEqual(proof('HJZM', '户籍证明', 'DATA_SHARING', 'NOT_SATISFIED', {
      facts: { household: null },
      remedy: 'the household department holds no record for this proof: bring the paper proof (户籍证明), or have the household department correct its registry',
    }));
  });

  test('a person no registry knows', async () => {
    const { response } = await checklist(PERMIT, UNKNOWN_CITIZEN);
    expect(response.body.data.proofChecklist).toEqual(expect.objectContaining({
      isComplete: false,
      proofs: [
        proof('SFZM', '身份证明', 'DATA_SHARING', 'NOT_SATISFIED', { remedy: 'no registry knows this person: bring the paper proof (身份证明)' }),
        proof('JZZM', '居住登记满半年证明', 'VERIFICATION', 'NOT_SATISFIED', { remedy: 'no registry knows this person: bring the paper proof (居住登记满半年证明)' }),
      ],
    }));
  });
});

test('a cancelled proof is NOT_REQUIRED and reads nothing', async () => {
  const { response } = await checklist(DRIVING_LICENCE, ZHANG_WEI);
  expect(response.body.data.proofChecklist.proofs[2]).toEqual(proof('SFZFYJ', '身份证复印件', 'CANCELLED', 'NOT_REQUIRED'));
  expect(city.stack.service.gatewayRequests.map((request) => request.query)).toEqual([
    'query ProofChecklist($SFZM: ID!, $JSZ: ID!, $JSZ_kind: LicenceKind!) { SFZM: citizen(idNumber: $SFZM) { identity { name gender birthDate provenance { department authority updatedAt } } }'
      + ' JSZ: citizen(idNumber: $JSZ) { holdsActiveLicence(kind: $JSZ_kind) { holds department checkedAt } } }',
  ]);
});

test('a department that is down makes only its own proofs UNAVAILABLE; the rest of the checklist is answered', async () => {
  const outage = await startStack({ dataDir: city.dataDir, clock: () => new Date(NOW) });
  try {
    await outage.subgraphs.residence.stop();
    await outage.subgraphs.license.stop();
    const enrolment = await checklist(ENROLMENT, ZHANG_WEI, [{ idNumber: ZHANG_ZIHAN, role: 'CHILD' }], outage);
    expect(enrolment.response.body.data.proofChecklist).toEqual(expect.objectContaining({
      isComplete: false,
      proofs: [
        expect.objectContaining({ code: 'HJZM', status: 'SATISFIED' }),
        proof('QSGXZM', '亲属关系证明', 'VERIFICATION', 'SATISFIED', { verification: verified(true, 'household') }),
        proof('JZZM', '居住证明', 'VERIFICATION', 'UNAVAILABLE', { remedy: 'the residence department could not answer: ask again later, or bring the paper proof (居住证明)' }),
      ],
    }));
    expect(enrolment.response.body.errors).toBeUndefined();
    const food = await checklist(FOOD_LICENCE, ZHANG_WEI, undefined, outage);
    expect(food.response.body.data.proofChecklist.proofs.map((each: { code: string; status: string }) => [each.code, each.status])).toEqual([
      ['YYZZ', 'UNAVAILABLE'],
      ['FDDBRSFZM', 'SATISFIED'],
    ]);
    // Every read starts from the household department's Query.citizen: without it nobody is found.
    await outage.subgraphs.household.stop();
    const driving = await checklist(DRIVING_LICENCE, ZHANG_WEI, undefined, outage);
    expect(driving.response.body.data.proofChecklist.proofs).toEqual([
      proof('SFZM', '身份证明', 'DATA_SHARING', 'UNAVAILABLE', { remedy: 'the household department could not answer: ask again later, or bring the paper proof (身份证明)' }),
      proof('JSZ', '原驾驶证信息', 'VERIFICATION', 'UNAVAILABLE', { remedy: 'the household department could not answer: ask again later, or bring the paper proof (原驾驶证信息)' }),
      proof('SFZFYJ', '身份证复印件', 'CANCELLED', 'NOT_REQUIRED'),
    ]);
  } finally {
    await outage.stop();
  }
});

describe('purpose', () => {
  test('a checklist for another service item than the one the request serves is refused, and nothing is read', async () => {
    const headers = await officer(city.stack, [PERMIT, ENROLMENT]);
    const { status, body } = await city.stack.query(CHECKLIST, { item: ENROLMENT, applicant: ZHANG_WEI, related: [{ idNumber: ZHANG_ZIHAN, role: 'CHILD' }] }, headers);
    expect({ status, body }).toEqual({
      status: 200,
      body: {
        data: null,
        errors: [{
          message: `serviceItem must be the service item this request serves (X-Service-Item ${PERMIT}), got "${ENROLMENT}"`,
          path: ['proofChecklist'],
          extensions: { code: 'FORBIDDEN', department: 'service' },
        }],
      },
    });
    expect(city.stack.service.gatewayRequests).toEqual([]);
    expect(city.stack.subgraphRequests).toEqual({ household: 0, residence: 0, license: 0 });
  });

  test('the gateway binds the checklist to the service items the caller is granted, before the bureau is called', async () => {
    let bureauRequests = 0;
    const count = () => void (bureauRequests += 1);
    city.stack.service.subgraph.httpServer.on('request', count);
    const headers = { ...(await officer(city.stack, [PERMIT])), 'x-service-item': ENROLMENT };
    const { status, body } = await city.stack.query(CHECKLIST, { item: ENROLMENT, applicant: ZHANG_WEI }, headers);
    city.stack.service.subgraph.httpServer.off('request', count);
    expect({ status, body }).toEqual({
      status: 403,
      body: { errors: [{ message: `application test-window is not granted service item ${ENROLMENT}`, extensions: { code: 'FORBIDDEN' } }] },
    });
    expect(bureauRequests).toBe(0);
  });
});

test.each([
  ['a related person the item\'s proofs need is missing', ZHANG_WEI, undefined, `proof HJZM of service item ${ENROLMENT} concerns the applicant's CHILD: related must name them, got none`],
  ['the related person is named under another role', ZHANG_WEI, [{ idNumber: ZHANG_ZIHAN, role: 'SPOUSE' }], `proof HJZM of service item ${ENROLMENT} concerns the applicant's CHILD: related must name them, got SPOUSE`],
  ['a role named twice', ZHANG_WEI, [{ idNumber: ZHANG_ZIHAN, role: 'CHILD' }, { idNumber: CHEN_QIANG, role: 'CHILD' }], 'related may name each role once, got CHILD twice'],
])('%s: BAD_USER_INPUT from the bureau, and nothing is read', async (_case, applicant, related, message) => {
  const { response } = await checklist(ENROLMENT, applicant, related);
  expect(response.body).toEqual({
    data: null,
    errors: [{ message, path: ['proofChecklist'], extensions: { code: 'BAD_USER_INPUT', department: 'service' } }],
  });
  expect(city.stack.service.gatewayRequests).toEqual([]);
});

test.each([
  ['a malformed applicant', '33010619750312', undefined, 'applicant must be 18 characters (GB 11643), got 14'],
  ['a malformed related ID number', ZHANG_WEI, [{ idNumber: '330106201509010028', role: 'CHILD' }], 'related[0].idNumber has a wrong check character (ISO 7064 MOD 11-2): expected 7, got 8'],
])('%s: BAD_USER_INPUT from the gateway, with the bureau\'s own message, and the bureau is not called', async (_case, applicant, related, message) => {
  const { response } = await checklist(ENROLMENT, applicant, related);
  expect({ status: response.status, body: response.body }).toEqual({ status: 400, body: { errors: [{ message, extensions: { code: 'BAD_USER_INPUT' } }] } });
  expect(city.stack.service.gatewayRequests).toEqual([]);
});
