import path from 'node:path';
import { licenseSubgraph } from '../subgraphs/license';
import type { LicenceRow, LicenseRegistry } from '../subgraphs/license/registry';
import { startSubgraph } from '../subgraphs/shared/server';
import { CHEN_QIANG, LI_NA, UNKNOWN_CITIZEN, WANG_XIUYING, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { callDepartmentAsGateway, departmentSecurityForTest } from './helpers/federation-security';
import { EVERY_FIELD_ITEM, useFixtureStack } from './helpers/stack';

/**
 * Yes/no checks (核验) each department answers about its own data: whether it holds, who
 * checked and when, and nothing else.
 */
const NOW = '2026-11-02T03:00:00.000Z';
const city = useFixtureStack({ clock: () => new Date(NOW) });

const answer = (field: string, holds: boolean, department: string) => ({ data: { citizen: { [field]: { holds, department, checkedAt: NOW } } } });

describe('residence: residesIn(division, forAtLeastMonths)', () => {
  const ask = (id: string, division: string, months: number) => city.stack.query(
    'query ($id: ID!, $division: String!, $months: Int!) { citizen(idNumber: $id) { residesIn(division: $division, forAtLeastMonths: $months) { holds department checkedAt } } }',
    { id, division, months },
  );

  test.each([
    ['a local in their district since 2001', ZHANG_WEI, '330106', 12, true],
    ['a migrant in 西湖区 since 2022-02-01, for 57 months as of 2026-11-02', CHEN_QIANG, '330106', 57, true],
    ['the same migrant, for 58 months', CHEN_QIANG, '330106', 58, false],
    ['the same migrant in 杭州市 (3301): 滨江区 from 2019-03-01, then 西湖区 the day after, is one stay of 92 months', CHEN_QIANG, '3301', 92, true],
    ['the same migrant in 杭州市, for 93 months', CHEN_QIANG, '3301', 93, false],
    ['the same migrant in 滨江区, where he no longer lives', CHEN_QIANG, '330108', 0, false],
    ['a child in 浙江省 (33) since birth', ZHANG_ZIHAN, '33', 134, true],
    ['a citizen with no residence registration', WANG_XIUYING, '330106', 0, false],
  ])('%s', async (_case, id, division, months, holds) => {
    expect((await ask(id, division, months)).body).toEqual(answer('residesIn', holds, 'residence'));
  });

  test.each([
    ['division', '3301a', 12, 'division must be a GB/T 2260 code of 2, 4 or 6 digits (33, 3301, 330106), got "3301a"'],
    ['forAtLeastMonths', '3301', -1, 'forAtLeastMonths must be from 0 to 1200, got -1'],
  ])('a malformed %s: BAD_USER_INPUT from the department, saying what was expected', async (_argument, division, months, message) => {
    // residesIn is nullable (a department contributing to Citizen loses only its own field), so the citizen stays.
    expect((await ask(ZHANG_WEI, division, months)).body).toEqual({
      data: { citizen: { residesIn: null } },
      errors: [{ message, path: ['citizen', 'residesIn'], extensions: { code: 'BAD_USER_INPUT', department: 'residence' } }],
    });
  });
});

describe('household: inSameHouseholdAs(idNumber, relation)', () => {
  const ask = (id: string, other: string, relation: string) => city.stack.query(
    'query ($id: ID!, $other: ID!, $relation: Relation!) { citizen(idNumber: $id) { inSameHouseholdAs(idNumber: $other, relation: $relation) { holds department checkedAt } } }',
    { id, other, relation },
  );

  // The Zhang household: 张伟 HEAD, 李娜 SPOUSE, 张子涵 CHILD, 王秀英 PARENT (of the head).
  test.each([
    ['the head\'s child is the head\'s CHILD', ZHANG_WEI, ZHANG_ZIHAN, 'CHILD', true],
    ['the head\'s child is the spouse\'s CHILD', LI_NA, ZHANG_ZIHAN, 'CHILD', true],
    ['the head is the child\'s PARENT', ZHANG_ZIHAN, ZHANG_WEI, 'PARENT', true],
    ['the spouse is the child\'s PARENT', ZHANG_ZIHAN, LI_NA, 'PARENT', true],
    ['the head is his own parent\'s CHILD', WANG_XIUYING, ZHANG_WEI, 'CHILD', true],
    ['the head\'s parent is the head\'s PARENT', ZHANG_WEI, WANG_XIUYING, 'PARENT', true],
    ['the head and the spouse are SPOUSE either way', ZHANG_WEI, LI_NA, 'SPOUSE', true],
    ['the spouse and the head', LI_NA, ZHANG_WEI, 'SPOUSE', true],
    ['a child is not a SPOUSE', ZHANG_WEI, ZHANG_ZIHAN, 'SPOUSE', false],
    ['the direction matters: the head is not the child\'s CHILD', ZHANG_ZIHAN, ZHANG_WEI, 'CHILD', false],
    ['the booklet does not establish the head\'s parent and the head\'s child as GRANDCHILD', WANG_XIUYING, ZHANG_ZIHAN, 'GRANDCHILD', false],
    ['HEAD is never a relation between two people', ZHANG_ZIHAN, ZHANG_WEI, 'HEAD', false],
    ['the same person twice', ZHANG_WEI, ZHANG_WEI, 'SPOUSE', false],
    ['someone with no household here', ZHANG_WEI, CHEN_QIANG, 'CHILD', false],
    ['someone no registry knows', ZHANG_WEI, UNKNOWN_CITIZEN, 'CHILD', false],
  ])('%s', async (_case, id, other, relation, holds) => {
    expect((await ask(id, other, relation)).body).toEqual(answer('inSameHouseholdAs', holds, 'household'));
  });

  test('a malformed idNumber is refused at the gateway before any department is called', async () => {
    expect(await ask(ZHANG_WEI, '330106', 'CHILD')).toEqual(expect.objectContaining({
      status: 400,
      body: { errors: [{ message: 'idNumber must be 18 characters (GB 11643), got 6', extensions: { code: 'BAD_USER_INPUT' } }] },
    }));
    expect(city.stack.subgraphRequests).toEqual({ household: 0, residence: 0, license: 0 });
  });
});

describe('license: holdsActiveLicence(kind)', () => {
  test.each([
    [ZHANG_WEI, 'BUSINESS_LICENCE', true],
    [ZHANG_WEI, 'FOOD_BUSINESS_LICENCE', false],
    [ZHANG_WEI, 'DRIVING_LICENCE', true],
    [ZHANG_WEI, 'PROFESSIONAL_QUALIFICATION', false],
    [CHEN_QIANG, 'BUSINESS_LICENCE', false],
  ])('%s %s: %s', async (id, kind, holds) => {
    const { body } = await city.stack.query(
      'query ($id: ID!, $kind: LicenceKind!) { citizen(idNumber: $id) { holdsActiveLicence(kind: $kind) { holds department checkedAt } } }',
      { id, kind },
    );
    expect(body).toEqual(answer('holdsActiveLicence', holds, 'license'));
  });

  test('a licence the registry still marks ACTIVE holds through its last valid day, not after', async () => {
    const licence = (number: string, validUntil: string): LicenceRow => ({
      number, kind: 'FOOD_BUSINESS_LICENCE', name: '食品经营许可证', holderIdNumber: number === 'A' ? ZHANG_WEI : LI_NA, businessCreditCode: null,
      issuingDepartment: '杭州市西湖区市场监督管理局', issuedOn: '2021-11-02', validUntil, status: 'ACTIVE', updatedAt: '2021-11-02T00:00:00.000Z',
    });
    const registry: LicenseRegistry = {
      readLicencesByHolders: async () => [licence('A', '2026-11-01'), licence('B', '2026-11-02')],
      readLicencesByBusinesses: async () => [],
      readBusinesses: async () => [],
      close: () => undefined,
    };
    const security = departmentSecurityForTest('license', { catalogFile: path.join(city.dataDir, 'test-catalog.json') });
    const department = await startSubgraph(licenseSubgraph(registry, () => new Date(NOW)), { host: '127.0.0.1', port: 0 }, security);
    try {
      const response = await callDepartmentAsGateway(department.url, 'license', {
        query: 'query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Citizen { holdsActiveLicence(kind: FOOD_BUSINESS_LICENCE) { holds } } } }',
        variables: { representations: [{ __typename: 'Citizen', idNumber: ZHANG_WEI }, { __typename: 'Citizen', idNumber: LI_NA }] },
        caller: { application: 'test-window', officer: 'officer-001', role: 'service', serviceItems: [EVERY_FIELD_ITEM], scopes: [] },
        headers: { 'x-service-item': EVERY_FIELD_ITEM, 'x-case-number': 'CASE-2026-0001' },
      });
      expect(response.body).toEqual({ data: { _entities: [{ holdsActiveLicence: { holds: false } }, { holdsActiveLicence: { holds: true } }] } });
    } finally {
      await department.stop();
      security.close();
    }
  });
});

test('checks on many citizens: one registry read per department, whatever the number of citizens', async () => {
  const { body } = await city.stack.query(
    `query ($ids: [ID!]!) {
      citizens(idNumbers: $ids) {
        idNumber
        residesIn(division: "330106", forAtLeastMonths: 24) { holds }
        holdsActiveLicence(kind: BUSINESS_LICENCE) { holds }
        inSameHouseholdAs(idNumber: "${WANG_XIUYING}", relation: PARENT) { holds }
      }
    }`,
    { ids: [ZHANG_WEI, LI_NA, ZHANG_ZIHAN, CHEN_QIANG] },
  );
  const holds = (residence: boolean, licence: boolean, parent: boolean) => ({ residesIn: { holds: residence }, holdsActiveLicence: { holds: licence }, inSameHouseholdAs: { holds: parent } });
  expect(body).toEqual({
    data: {
      citizens: [
        { idNumber: ZHANG_WEI, ...holds(true, true, true) },
        { idNumber: LI_NA, ...holds(true, false, false) },
        { idNumber: ZHANG_ZIHAN, ...holds(true, false, false) },
        { idNumber: CHEN_QIANG, ...holds(true, false, false) },
      ],
    },
  });
  expect(city.stack.registryCalls.household.readPersons).toEqual([[ZHANG_WEI, LI_NA, ZHANG_ZIHAN, CHEN_QIANG], [WANG_XIUYING]]);
  expect(city.stack.registryCalls.residence.readPeriods).toEqual([[ZHANG_WEI, LI_NA, ZHANG_ZIHAN, CHEN_QIANG]]);
  expect(city.stack.registryCalls.license.readLicencesByHolders).toEqual([[ZHANG_WEI, LI_NA, ZHANG_ZIHAN, CHEN_QIANG]]);
});
