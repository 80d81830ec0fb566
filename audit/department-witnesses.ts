import { allRecords, type DepartmentLog } from './department-logs';
import type { AuditStore, SignedCheckpoint } from './store';
import type { WitnessedCheckpoint } from './witness';

/**
 * The gateway's checkpoints the departments witnessed (issue 18): each department records
 * every checkpoint the gateway sends it in its own access log (WitnessedCheckpointEvidence),
 * in its own chain, in its own store. `audit:verify` checks the gateway's store against
 * them as it does against a witness file, so a checkpoint a department holds and the
 * gateway's store lacks (the tail cut with its checkpoints) fails verification, naming
 * the department: `file` is the log's label, `line` the sequence of the department's
 * record that holds it.
 */
export async function readDepartmentWitnesses(logs: readonly DepartmentLog[]): Promise<Map<string, WitnessedCheckpoint[]>> {
  const byChain = new Map<string, WitnessedCheckpoint[]>();
  for (const log of logs) {
    for await (const record of allRecords(log.store)) {
      if (record.exchange?.kind !== 'witnessed-checkpoint') continue;
      const checkpoint = record.exchange.checkpoint as SignedCheckpoint | undefined;
      if (typeof checkpoint?.chainId !== 'string' || !Number.isSafeInteger(checkpoint.sequence)) {
        throw new Error(`${log.label}: record ${record.sequence} of chain ${record.chainId} holds a witnessed checkpoint that is not a checkpoint`);
      }
      const ofChain = byChain.get(checkpoint.chainId) ?? [];
      ofChain.push({ checkpoint, file: `${log.label}, record ${record.sequence} of chain ${record.chainId}`, line: record.sequence });
      byChain.set(checkpoint.chainId, ofChain);
    }
  }
  return byChain;
}

/** Two witnesses' checkpoints by chain, as one. */
export function mergeWitnesses(...sources: ReadonlyMap<string, readonly WitnessedCheckpoint[]>[]): Map<string, WitnessedCheckpoint[]> {
  const merged = new Map<string, WitnessedCheckpoint[]>();
  for (const source of sources) for (const [chainId, seen] of source) merged.set(chainId, [...(merged.get(chainId) ?? []), ...seen]);
  return merged;
}

/** How reports name the gateway's store as a witness of a department's checkpoints. */
export const GATEWAY_STORE_LABEL = 'the gateway\'s audit store';

/**
 * The department's checkpoints the gateway witnessed: those that came with the
 * department's answers and that the gateway recorded in its own records
 * (GatewayCallsEvidence.departmentCheckpoints), signed by one of `keyIds` (the
 * department's keys in the departments' trust list). `audit:verify -- --department`
 * checks the department's log against them, so its tail cannot be cut past a checkpoint
 * the gateway holds.
 */
export async function readGatewayWitnesses(gateway: AuditStore, keyIds: ReadonlySet<string>): Promise<Map<string, WitnessedCheckpoint[]>> {
  const byChain = new Map<string, WitnessedCheckpoint[]>();
  for await (const record of allRecords(gateway)) {
    if (record.exchange?.kind !== 'gateway-calls') continue;
    for (const checkpoint of record.exchange.departmentCheckpoints ?? []) {
      if (!keyIds.has(checkpoint.keyId)) continue;
      const ofChain = byChain.get(checkpoint.chainId) ?? [];
      ofChain.push({ checkpoint, file: `${GATEWAY_STORE_LABEL}, record ${record.sequence} of chain ${record.chainId}`, line: record.sequence });
      byChain.set(checkpoint.chainId, ofChain);
    }
  }
  return byChain;
}
