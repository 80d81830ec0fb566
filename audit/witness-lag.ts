import type { AuditStore, SignedCheckpoint } from './store';
import type { WitnessedCheckpoint } from './witness';

/** How far one department's witness of one gateway chain is behind the gateway's store. */
export interface WitnessLag {
  department: string;
  chainId: string;
  /** The checkpoint of the chain with the highest sequence the department recorded as witnessed; null for none. */
  lastWitnessed: SignedCheckpoint | null;
  /** The store's latest checkpoint of the chain. */
  latest: SignedCheckpoint;
  /**
   * The first checkpoint after `lastWitnessed` the gateway owed the department: the
   * first covering a record that called it (the gateway sends each checkpoint to the
   * departments it called since the checkpoint before). Null when it was not called after.
   */
  owed: SignedCheckpoint | null;
  /** Seconds from `owed` to `latest`: how long the department has been owed a checkpoint it does not hold; null when none is owed. */
  unwitnessedSeconds: number | null;
}

const PAGE_SIZE = 1000;

/**
 * Issue 18, red-team finding 11: the gateway's operator can stop pushing checkpoints (a
 * firewall on the departments' witness route) and the departments' logs just stop
 * growing, which nothing reported. For each chain of the gateway's store with a
 * checkpoint, compares `department`'s last witnessed checkpoint with the store's latest,
 * and finds the first checkpoint it was owed and did not get. `witnessed` holds the
 * department's witnessed checkpoints by chain (department-witnesses.ts).
 */
export async function witnessLags(store: AuditStore, department: string, witnessed: ReadonlyMap<string, readonly WitnessedCheckpoint[]>): Promise<WitnessLag[]> {
  const lags: WitnessLag[] = [];
  for (const chainId of await store.listChains()) {
    const latest = await store.lastCheckpoint(chainId);
    if (!latest) continue;
    const lastWitnessed = (witnessed.get(chainId) ?? []).map((entry) => entry.checkpoint).reduce<SignedCheckpoint | null>((last, checkpoint) => (!last || checkpoint.sequence > last.sequence ? checkpoint : last), null);
    const owed = lastWitnessed && lastWitnessed.sequence >= latest.sequence ? null : await firstOwed(store, department, chainId, lastWitnessed?.sequence ?? 0, latest.sequence);
    const unwitnessedSeconds = owed ? Math.max(0, Math.round((Date.parse(latest.time) - Date.parse(owed.time)) / 1000)) : null;
    lags.push({ department, chainId, lastWitnessed, latest, owed, unwitnessedSeconds });
  }
  return lags;
}

/** The first checkpoint through `latestSequence` covering a record after `afterSequence` that called `department`, or null. */
async function firstOwed(store: AuditStore, department: string, chainId: string, afterSequence: number, latestSequence: number): Promise<SignedCheckpoint | null> {
  let calledAt: number | null = null;
  for (let after = afterSequence; calledAt === null && after < latestSequence; ) {
    const page = await store.readChain(chainId, after, Math.min(PAGE_SIZE, latestSequence - after));
    if (page.length === 0) break;
    calledAt = page.find((record) => record.exchange?.kind === 'gateway-calls' && record.departments.includes(department))?.sequence ?? null;
    after = page[page.length - 1].sequence;
  }
  if (calledAt === null) return null;
  const at = calledAt;
  return (await store.readCheckpoints(chainId)).filter((checkpoint) => checkpoint.sequence >= at).sort((a, b) => a.sequence - b.sequence)[0] ?? null;
}
