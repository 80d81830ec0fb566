import type { StoredRecord } from './entry';
import type { AuditStore, RecordKey } from './store';

const PAGE_SIZE = 1000;

/**
 * Every record with from <= time < to, oldest first (time, chain, sequence), read in
 * keyset pages so an export of years of records holds one page in memory at a time.
 */
export async function* exportRecords(store: AuditStore, range: { from: string; to: string }): AsyncGenerator<StoredRecord> {
  let after: RecordKey | null = null;
  for (;;) {
    const page = await store.queryRecords({ filter: { from: range.from, to: range.to }, order: 'oldest-first', after, limit: PAGE_SIZE });
    yield* page;
    if (page.length < PAGE_SIZE) return;
    const last = page[page.length - 1];
    after = { time: last.time, chainId: last.chainId, sequence: last.sequence };
  }
}
