import type { StoredRecord } from '../audit/entry';
import { CHEN_QIANG, LI_NA, WANG_XIUYING, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { useFixtureStack } from './helpers/stack';

/**
 * Red team, issue 16, area 1: "no answer ever leaves with citizen data that its audit
 * record does not name, whatever the document". The gateway names the citizens of Citizen
 * and Commitment selections (audit-identifiers.ts), but ID numbers also leave in
 * `AuditRecord.citizens`: an auditor pages through the whole log (100 records a page) and
 * receives the ID number of everyone it ever named, while the auditor's own record names
 * none of them (its `citizens` is []) and the distinct-citizens limit counts none of them.
 * `auditRecords(idNumber:)` for one of those citizens does not show that an auditor
 * received their ID number. (A breached commitment's applicant, read by the same auditor,
 * is named: the same promise kept for one type and not the other.)
 */
const city = useFixtureStack();

async function recordOf(requestId: string | null): Promise<StoredRecord> {
  expect(requestId).toEqual(expect.any(String));
  for (const chainId of await city.stack.audit.store.listChains()) {
    const found = (await city.stack.audit.store.readChain(chainId, 0, 100000)).find((record) => record.requestId === requestId);
    if (found) return found;
  }
  throw new Error(`no audit record for request ${requestId}`);
}

test('an auditor listing audit records receives their citizens\' ID numbers: the auditor\'s own record names them', async () => {
  // Officers' lookups, which the log then holds.
  await city.stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { household { members { citizen { identity { name } } } } } }`);
  await city.stack.query(`{ citizen(idNumber: "${CHEN_QIANG}") { identity { name } } }`);
  const auditor = { authorization: `Bearer ${await city.stack.token({ role: 'auditor', officer: 'auditor-01', serviceItems: [], scopes: [] })}` };

  const response = await city.stack.query('{ auditRecords(first: 100) { records { citizens } } }', undefined, auditor);
  expect(response.status).toBe(200);
  const disclosed = [...new Set(response.body.data.auditRecords.records.flatMap((record: { citizens: string[] }) => record.citizens))].sort();
  expect(disclosed).toEqual(expect.arrayContaining([ZHANG_WEI, LI_NA, ZHANG_ZIHAN, WANG_XIUYING, CHEN_QIANG]));

  // Today: [] (and coordinates ["AuditRecord.citizens", ...]): whom the auditor saw is in no record.
  expect((await recordOf(response.headers.get('x-request-id'))).citizens).toEqual(disclosed);
});
