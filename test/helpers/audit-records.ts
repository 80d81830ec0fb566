import { loadAuditConfig } from '../../audit/config';
import type { StoredRecord } from '../../audit/entry';
import { openAuditStore } from '../../audit/open-store';
import type { AuditStore } from '../../audit/store';

/** The record a gateway wrote for the request answered with this `x-request-id`, in whichever chain holds it; undefined when none does. */
export async function auditRecordOf(store: AuditStore, requestId: string): Promise<StoredRecord | undefined> {
  for (const chainId of await store.listChains()) {
    const found = (await store.readChain(chainId, 0, Number.MAX_SAFE_INTEGER)).find((record) => record.requestId === requestId);
    if (found) return found;
  }
  return undefined;
}

/** Every record, in any chain, of the request answered with this `x-request-id`. */
export async function auditRecordsOf(store: AuditStore, requestId: string): Promise<StoredRecord[]> {
  const records: StoredRecord[] = [];
  for (const chainId of await store.listChains()) {
    records.push(...(await store.readChain(chainId, 0, Number.MAX_SAFE_INTEGER)).filter((record) => record.requestId === requestId));
  }
  return records;
}

/** Every record of one chain in the audit store of a data folder, read by a store of its own (the gateway that wrote them may be stopped). */
export async function chainInDataDir(dataDir: string, chainId: string): Promise<StoredRecord[]> {
  const store = await openAuditStore(loadAuditConfig({ PROOFLESS_DATA_DIR: dataDir }));
  try {
    return await store.readChain(chainId, 0, Number.MAX_SAFE_INTEGER);
  } finally {
    await store.close();
  }
}
