import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSupergraph } from '../gateway/supergraph';
import { CatalogError, catalogProblems, loadCatalog, PROOF_MODES } from '../lib/catalog';
import { SUPERGRAPH_FILE } from '../lib/composition';

/**
 * The proof catalog as the gateway and the service bureau read it at start: every proof
 * has a mode, and what a mode reads must fit the supergraph and the proof's own fields.
 */
const schema = loadSupergraph(SUPERGRAPH_FILE).apiSchema;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'proofless-catalog-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A catalog of one service item with the given proofs (and item fields), written to a file and loaded. */
function catalogWith(proofs: unknown[], item: Record<string, unknown> = {}) {
  const file = path.join(dir, `catalog-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({
    alwaysAllowed: ['Citizen.idNumber', 'Identity.provenance'],
    valueTypes: ['Provenance', 'Verification'],
    serviceItems: [{ code: '330100-XX-0001', name: '测试', nameEn: 'Test', department: 'x', highRisk: false, entryPoints: ['Query.citizen'], proofs, ...item }],
  }));
  return loadCatalog(file);
}

const IDENTITY_FIELDS = ['Citizen.identity', 'Identity.name'];

test('the seeded catalog fits the supergraph, has at least 8 service items, and uses every mode', () => {
  const catalog = loadCatalog();
  expect(catalogProblems(catalog, schema)).toEqual([]);
  expect(catalog.items.size).toBeGreaterThanOrEqual(8);
  const modes = new Set([...catalog.items.values()].flatMap((item) => item.proofs.map((proof) => proof.mode)));
  expect([...modes].sort()).toEqual([...PROOF_MODES].sort());
  const highRiskModes = [...catalog.items.values()].filter((item) => item.highRisk).flatMap((item) => item.proofs.map((proof) => proof.mode));
  expect(highRiskModes.length).toBeGreaterThan(0);
  expect(highRiskModes).not.toContain('COMMITMENT');
  for (const item of catalog.items.values()) expect(item.entryPoints).toContain('Query.proofChecklist');
});

test('a high-risk service item may not take a commitment', () => {
  expect(() => catalogWith(
    [{ code: 'JZZM', name: '居住证明', mode: 'COMMITMENT', followUp: { field: 'residesIn', arguments: { division: '3301', forAtLeastMonths: 6 } }, deadlineDays: 90, fields: ['Citizen.residesIn'] }],
    { highRisk: true },
  )).toThrow(new CatalogError('proof catalog: service item 330100-XX-0001 is high-risk, so proof JZZM may not be satisfied by COMMITMENT (国办发〔2020〕42号)'));
});

test.each([
  ['no mode', { code: 'P', name: 'p', fields: [] }, 'proof catalog: serviceItems[0].proofs[0].mode must be one of CANCELLED, DATA_SHARING, VERIFICATION, COMMITMENT, got undefined'],
  ['a code that cannot name a read', { code: 'hj-zm', name: 'p', mode: 'CANCELLED', fields: [] }, 'proof catalog: serviceItems[0].proofs[0].code must be 1-32 capital letters, digits and underscores, starting with a letter, got "hj-zm"'],
  ['a cancelled proof with fields', { code: 'P', name: 'p', mode: 'CANCELLED', fields: IDENTITY_FIELDS }, 'proof catalog: serviceItems[0].proofs[0] is CANCELLED and reads nothing, so its fields must be empty, got 2'],
  ['data sharing without facts', { code: 'P', name: 'p', mode: 'DATA_SHARING', fields: IDENTITY_FIELDS }, 'proof catalog: serviceItems[0].proofs[0].facts must be a GraphQL selection on Citizen'],
  ['a related person who is not a role', { code: 'P', name: 'p', mode: 'DATA_SHARING', concerns: 'COUSIN', facts: 'identity { name }', fields: IDENTITY_FIELDS }, 'proof catalog: serviceItems[0].proofs[0].concerns must be one of SPOUSE, CHILD, PARENT (or absent, for the applicant), got "COUSIN"'],
  ['a follow-up about a related person', { code: 'P', name: 'p', mode: 'COMMITMENT', followUp: { field: 'inSameHouseholdAs', arguments: { idNumber: { person: 'CHILD' }, relation: 'CHILD' } }, deadlineDays: 30, fields: ['Citizen.inSameHouseholdAs'] }, 'proof catalog: serviceItems[0].proofs[0].followUp.arguments.idNumber may name only the APPLICANT (a commitment records no related persons), got CHILD'],
  ['a commitment without a deadline', { code: 'P', name: 'p', mode: 'COMMITMENT', followUp: { field: 'residesIn', arguments: {} }, fields: ['Citizen.residesIn'] }, 'proof catalog: serviceItems[0].proofs[0].deadlineDays must be a whole number of days from 1 to 366, got undefined'],
])('a proof with %s is refused when the catalog is read', (_case, proof, message) => {
  expect(() => catalogWith([proof])).toThrow(new CatalogError(message));
});

test.each([
  [
    'facts outside the proof\'s fields',
    { code: 'SFZM', name: '身份证明', mode: 'DATA_SHARING', facts: 'identity { name birthDate provenance { updatedAt } } licences { kind }', fields: IDENTITY_FIELDS },
    [
      'service item 330100-XX-0001 proof SFZM facts select Citizen.licences, which the proof\'s fields do not list',
      'service item 330100-XX-0001 proof SFZM facts select Identity.birthDate, which the proof\'s fields do not list',
      'service item 330100-XX-0001 proof SFZM facts select Licence.kind, which the proof\'s fields do not list',
    ],
  ],
  [
    'facts that are not a selection on Citizen',
    { code: 'SFZM', name: '身份证明', mode: 'DATA_SHARING', facts: 'identity { name } housework', fields: IDENTITY_FIELDS },
    ['service item 330100-XX-0001 proof SFZM facts: Cannot query field "housework" on type "Citizen". Did you mean "household"?'],
  ],
  [
    'a verification that also lists data fields',
    { code: 'JZZM', name: '居住证明', mode: 'VERIFICATION', check: { field: 'residesIn', arguments: { division: '3301', forAtLeastMonths: 12 } }, fields: ['Citizen.residesIn', 'Citizen.residence', 'Residence.address'] },
    ['service item 330100-XX-0001 proof JZZM is a VERIFICATION proof, which discloses only its check: its fields must be exactly Citizen.residesIn, got Citizen.residesIn, Citizen.residence, Residence.address'],
  ],
  [
    'a check that is not a yes/no answer',
    { code: 'JZZM', name: '居住证明', mode: 'VERIFICATION', check: { field: 'residence', arguments: {} }, fields: ['Citizen.residence'] },
    ['service item 330100-XX-0001 proof JZZM check Citizen.residence must return Verification, got Residence'],
  ],
  [
    'a check the supergraph does not have',
    { code: 'JZZM', name: '居住证明', mode: 'VERIFICATION', check: { field: 'livesIn', arguments: {} }, fields: ['Citizen.residesIn'] },
    ['service item 330100-XX-0001 proof JZZM check names Citizen.livesIn, which the supergraph does not have'],
  ],
  [
    'check arguments of the wrong type, unknown, or missing',
    { code: 'JZZM', name: '居住证明', mode: 'VERIFICATION', check: { field: 'residesIn', arguments: { division: 3301, months: 12 } }, fields: ['Citizen.residesIn'] },
    [
      'service item 330100-XX-0001 proof JZZM check division must be a String!, got 3301',
      'service item 330100-XX-0001 proof JZZM check gives months, which Citizen.residesIn does not take',
      'service item 330100-XX-0001 proof JZZM check must give forAtLeastMonths: Citizen.residesIn requires it',
    ],
  ],
  [
    'a person given for an argument that is not an ID number',
    { code: 'GX', name: '亲属关系证明', mode: 'VERIFICATION', check: { field: 'inSameHouseholdAs', arguments: { idNumber: { person: 'CHILD' }, relation: { person: 'CHILD' } } }, fields: ['Citizen.inSameHouseholdAs'] },
    ['service item 330100-XX-0001 proof GX check relation takes Relation!, not a person\'s ID number'],
  ],
  [
    'a follow-up check with an unknown enum value',
    { code: 'JYCS', name: '经营场所证明', mode: 'COMMITMENT', followUp: { field: 'holdsActiveLicence', arguments: { kind: 'FISHING_LICENCE' } }, deadlineDays: 60, fields: ['Citizen.holdsActiveLicence'] },
    ['service item 330100-XX-0001 proof JYCS followUp kind must be a LicenceKind!, got "FISHING_LICENCE"'],
  ],
])('the supergraph check refuses %s, naming the item, the proof and the coordinate', (_case, proof, problems) => {
  expect(catalogProblems(catalogWith([proof]), schema)).toEqual(problems);
});

test('a service item whose proofs read citizens must be allowed to start from Query.citizen', () => {
  const catalog = catalogWith(
    [{ code: 'SFZM', name: '身份证明', mode: 'DATA_SHARING', facts: 'identity { name }', fields: IDENTITY_FIELDS }],
    { entryPoints: ['Query.proofChecklist'] },
  );
  expect(catalogProblems(catalog, schema)).toEqual(['service item 330100-XX-0001 proof SFZM is read through Query.citizen, which the item\'s entryPoints do not list']);
});
