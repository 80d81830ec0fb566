import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadCatalog } from '../lib/catalog';
import { CHECKLIST_OPERATION, checklistReads, readOperation } from '../lib/proof-reads';
import { loadSupergraph } from '../gateway/supergraph';
import { SUPERGRAPH_FILE } from '../lib/composition';
import { CHEN_QIANG, LI_NA, writeFixtureRegistries, ZHANG_WEI } from './fixtures/registries';
import { startStack, type Stack } from './helpers/stack';

/**
 * Red team, issue 16, areas 1 and 8: a VERIFICATION proof "discloses nothing but the
 * answer" (README: residesIn "discloses no address and no date"). The catalog fixes each
 * check's arguments (330100-GA-0002, a residence permit: residesIn(division: "3301",
 * forAtLeastMonths: 6)), but the gateway binds only field coordinates, never arguments:
 * an officer acting for the item may ask residesIn with any division and any number of
 * months, and a handful of yes/no answers give the district a person lives in and since
 * when. The audit record keeps no argument values, so an auditor cannot see the probing.
 * With PROOFLESS_TRUSTED_OPERATIONS on, the service bureau's own registered document,
 * whose check arguments are variables, carries the same probe through.
 */
const RESIDENCE_PERMIT = '330100-GA-0002';

let fixture: ReturnType<typeof writeFixtureRegistries>;
/** A gateway as development runs it, and one accepting registered operations only (production's advice). */
let stack: Stack;
let trusted: Stack;

beforeAll(async () => {
  fixture = writeFixtureRegistries();
  const manifest = path.join(fixture.dataDir, 'empty-manifest.json');
  writeFileSync(manifest, JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [] }));
  const clock = () => new Date('2026-11-02T03:00:00.000Z');
  stack = await startStack({ dataDir: fixture.dataDir, clock });
  trusted = await startStack({ dataDir: fixture.dataDir, clock, env: { PROOFLESS_TRUSTED_OPERATIONS: manifest } });
});

afterAll(async () => {
  await stack?.stop();
  await trusted?.stop();
  fixture?.remove();
});

async function officer(item: string, on: Stack = stack) {
  return { authorization: `Bearer ${await on.token({ serviceItems: [item], scopes: [] })}`, 'x-service-item': item, 'x-case-number': 'GA-2026-000001' };
}

/** The service bureau's checklist read for the residence permit, exactly as the gateway registers it, with the check's arguments chosen by the caller. */
function bureauChecklistRead(subject: string, division: string, forAtLeastMonths: number) {
  const catalog = loadCatalog();
  const schema = loadSupergraph(SUPERGRAPH_FILE).apiSchema;
  const item = catalog.items.get(RESIDENCE_PERMIT);
  if (!item) throw new Error(`${RESIDENCE_PERMIT} is not in the catalog`);
  const { query, variables } = readOperation(CHECKLIST_OPERATION, checklistReads(schema, item, () => subject));
  return { query, variables: { ...variables, JZZM_division: division, JZZM_forAtLeastMonths: forAtLeastMonths } };
}

describe('a check asked with arguments other than the catalog\'s is not answered', () => {
  test('residesIn for one district (330106) rather than the catalog\'s city (3301): refused, nothing read', async () => {
    const response = await stack.query(
      `{ citizen(idNumber: "${CHEN_QIANG}") { residesIn(division: "330106", forAtLeastMonths: 1) { holds } } }`,
      undefined,
      await officer(RESIDENCE_PERMIT),
    );
    // Today: 200 {"data":{"citizen":{"residesIn":{"holds":true}}}}, and false for 330108: the district is found.
    expect({ status: response.status, code: response.body.errors?.[0]?.extensions?.code, data: response.body.data ?? null }).toEqual({ status: 403, code: 'FORBIDDEN', data: null });
  });

  test('residesIn for 40 months rather than 6: refused (bisecting the months gives the date the stay began)', async () => {
    const response = await stack.query(
      `{ citizen(idNumber: "${CHEN_QIANG}") { residesIn(division: "3301", forAtLeastMonths: 40) { holds } } }`,
      undefined,
      await officer(RESIDENCE_PERMIT),
    );
    expect({ status: response.status, code: response.body.errors?.[0]?.extensions?.code, data: response.body.data ?? null }).toEqual({ status: 403, code: 'FORBIDDEN', data: null });
  });

  test('the service bureau\'s registered checklist document, sent by a front end with its own check arguments: refused', async () => {
    const { query, variables } = bureauChecklistRead(CHEN_QIANG, '330106', 1);
    const response = await trusted.query(query, variables, await officer(RESIDENCE_PERMIT, trusted));
    // Today: 200, with JZZM.residesIn.holds true for 330106 and false for 330108.
    expect({ status: response.status, code: response.body.errors?.[0]?.extensions?.code, data: response.body.data ?? null }).toEqual({ status: 403, code: 'FORBIDDEN', data: null });
  });

  test('inSameHouseholdAs with a relation the catalog\'s check does not ask (SPOUSE, for a pupil\'s enrolment): refused', async () => {
    const response = await stack.query(
      `{ citizen(idNumber: "${ZHANG_WEI}") { inSameHouseholdAs(idNumber: "${LI_NA}", relation: SPOUSE) { holds } } }`,
      undefined,
      await officer('330100-JY-0001'),
    );
    // Today: 200, holds true: the enrolment's check (relation CHILD) becomes a marriage check on any two people.
    expect({ status: response.status, code: response.body.errors?.[0]?.extensions?.code, data: response.body.data ?? null }).toEqual({ status: 403, code: 'FORBIDDEN', data: null });
  });
});
