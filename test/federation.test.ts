import { CHEN_QIANG, LI_NA, SNACK_SHOP, UNKNOWN_CITIZEN, WANG_XIUYING, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { callDepartmentAsGateway } from './helpers/federation-security';
import { useFixtureStack } from './helpers/stack';

const city = useFixtureStack({ clock: () => new Date('2026-11-26T08:00:00Z') });

const HOUSEHOLD_PROVENANCE = (updatedAt: string) => ({ department: 'household', authority: '杭州市公安局', updatedAt });
const XIHU = { code: '330106', name: '浙江省杭州市西湖区' };

test('one request returns identity, household members, residence and licences, each with provenance', async () => {
  const { status, body } = await city.stack.query(
    `query CitizenFacts($id: ID!) {
      citizen(idNumber: $id) {
        idNumber
        identity { name gender birthDate ethnicity nativePlace provenance { department authority updatedAt } }
        household {
          householdNumber type
          address { division { code name } detail }
          head { idNumber }
          members { relation citizen { idNumber identity { name } } }
          provenance { department authority updatedAt }
        }
        residence { address { division { code name } detail } registeredSince permitNumber permitValidUntil status provenance { department updatedAt } }
        licences { number kind name issuingDepartment issuedOn validUntil status business { creditCode name } provenance { department authority updatedAt } }
      }
    }`,
    { id: ZHANG_WEI },
  );
  expect(status).toBe(200);
  expect(body).toEqual({
    data: {
      citizen: {
        idNumber: ZHANG_WEI,
        identity: {
          name: '张伟', gender: 'MALE', birthDate: '1975-03-12', ethnicity: '汉族', nativePlace: '浙江杭州',
          provenance: HOUSEHOLD_PROVENANCE('2024-05-06T02:00:00.000Z'),
        },
        household: {
          householdNumber: '330106001234',
          type: 'FAMILY',
          address: { division: XIHU, detail: '文三路 138 号 2 幢 301 室' },
          head: { idNumber: ZHANG_WEI },
          members: [
            { relation: 'HEAD', citizen: { idNumber: ZHANG_WEI, identity: { name: '张伟' } } },
            { relation: 'SPOUSE', citizen: { idNumber: LI_NA, identity: { name: '李娜' } } },
            { relation: 'PARENT', citizen: { idNumber: WANG_XIUYING, identity: { name: '王秀英' } } },
            { relation: 'CHILD', citizen: { idNumber: ZHANG_ZIHAN, identity: { name: '张子涵' } } },
          ],
          provenance: HOUSEHOLD_PROVENANCE('2024-05-06T02:00:00.000Z'),
        },
        residence: {
          address: { division: XIHU, detail: '文三路 138 号 2 幢 301 室' },
          registeredSince: '2001-07-01', permitNumber: null, permitValidUntil: null, status: 'HOUSEHOLD_ADDRESS',
          provenance: { department: 'residence', updatedAt: '2021-03-02T00:00:00.000Z' },
        },
        licences: [
          {
            number: ZHANG_WEI, kind: 'DRIVING_LICENCE', name: '机动车驾驶证', issuingDepartment: '杭州市公安局交通警察支队',
            issuedOn: '2010-06-01', validUntil: null, status: 'ACTIVE', business: null,
            provenance: { department: 'license', authority: '杭州市公安局交通警察支队', updatedAt: '2020-06-01T00:00:00.000Z' },
          },
          {
            number: SNACK_SHOP, kind: 'BUSINESS_LICENCE', name: '营业执照', issuingDepartment: '杭州市西湖区市场监督管理局',
            issuedOn: '2016-04-18', validUntil: null, status: 'ACTIVE', business: { creditCode: SNACK_SHOP, name: '杭州市西湖区张记小吃店' },
            provenance: { department: 'license', authority: '杭州市西湖区市场监督管理局', updatedAt: '2024-01-09T00:00:00.000Z' },
          },
          {
            number: 'JY23301060012345', kind: 'FOOD_BUSINESS_LICENCE', name: '食品经营许可证', issuingDepartment: '杭州市西湖区市场监督管理局',
            issuedOn: '2021-05-10', validUntil: '2026-05-09', status: 'EXPIRED', business: { creditCode: SNACK_SHOP, name: '杭州市西湖区张记小吃店' },
            provenance: { department: 'license', authority: '杭州市西湖区市场监督管理局', updatedAt: '2026-05-10T00:00:00.000Z' },
          },
        ],
      },
    },
  });
});

test('a migrant has no household here, a permit-backed residence and a residence history, newest first', async () => {
  const { body } = await city.stack.query(
    `{ citizen(idNumber: "${CHEN_QIANG}") {
        identity { name } household { householdNumber }
        residence { address { division { code } } registeredSince permitNumber permitValidUntil status }
        residenceHistory { address { division { code } detail } from to }
    } }`,
  );
  expect(body).toEqual({
    data: {
      citizen: {
        identity: { name: '陈强' },
        household: null,
        residence: { address: { division: { code: '330106' } }, registeredSince: '2022-02-01', permitNumber: '330106202300456', permitValidUntil: '2030-08-31', status: 'PERMIT_VALID' },
        residenceHistory: [
          { address: { division: { code: '330106' }, detail: '古墩路 701 号 3 幢 502 室' }, from: '2022-02-01', to: null },
          { address: { division: { code: '330108' }, detail: '江南大道 588 号 5 幢 1102 室' }, from: '2019-03-01', to: '2022-01-31' },
        ],
      },
    },
  });
});

test('a business, its licences and its legal representative across departments', async () => {
  const { body } = await city.stack.query(
    `{ business(creditCode: "${SNACK_SHOP.toLowerCase()}") {
        creditCode name type status establishedOn address { detail }
        legalRepresentative { identity { name } residence { status } }
        licences { kind status }
        provenance { department authority }
    } }`,
  );
  expect(body).toEqual({
    data: {
      business: {
        creditCode: SNACK_SHOP, name: '杭州市西湖区张记小吃店', type: 'SOLE_PROPRIETOR', status: 'ACTIVE', establishedOn: '2016-04-18',
        address: { detail: '文二路 56 号' },
        legalRepresentative: { identity: { name: '张伟' }, residence: { status: 'HOUSEHOLD_ADDRESS' } },
        licences: [{ kind: 'BUSINESS_LICENCE', status: 'ACTIVE' }, { kind: 'FOOD_BUSINESS_LICENCE', status: 'EXPIRED' }],
        provenance: { department: 'license', authority: '杭州市市场监督管理局' },
      },
    },
  });
});

test('well-formed but unknown identifiers give null without an error', async () => {
  const { status, body } = await city.stack.query(
    `{ citizen(idNumber: "${UNKNOWN_CITIZEN}") { idNumber }
       citizens(idNumbers: ["${UNKNOWN_CITIZEN}", "${LI_NA}"]) { idNumber identity { name } }
       business(creditCode: "91330100716105852F") { name } }`,
  );
  expect(status).toBe(200);
  expect(body).toEqual({
    data: { citizen: null, citizens: [null, { idNumber: LI_NA, identity: { name: '李娜' } }], business: null },
  });
});

test('a lower-case x check character is normalised', async () => {
  expect(LI_NA.endsWith('X')).toBe(true);
  const { body } = await city.stack.query('query ($id: ID!) { citizen(idNumber: $id) { idNumber identity { name } } }', { id: LI_NA.toLowerCase() });
  expect(body).toEqual({ data: { citizen: { idNumber: LI_NA, identity: { name: '李娜' } } } });
});

test.each(['household', 'residence', 'license'] as const)('the %s department answers with cache-control: no-store: its answers hold personal data no cache on the way may keep', async (department) => {
  const response = await callDepartmentAsGateway(city.stack.subgraphs[department].url, department, { query: '{ __typename }' });
  expect(response.status).toBe(200);
  expect(response.headers['cache-control']).toBe('no-store');
});
