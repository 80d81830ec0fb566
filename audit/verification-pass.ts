import type { KeyObject } from 'node:crypto';
import { configuredExpectedChains, configuredWitnessFiles, type AuditConfig } from './config';
import { openAuditStore } from './open-store';
import { verifyChains, type ChainVerification } from './verify';
import { readWitnesses } from './witness';

/** What one verification of the store needs, all of it cloneable to a worker thread. */
export interface VerificationPassInput {
  /** The store, as the configuration names it: the pass opens a connection of its own. */
  store: Pick<AuditConfig, 'databaseUrl' | 'sqliteFile' | 'postgresSchema'>;
  /** Public keys whose signatures verification accepts (KeyObjects are cloned to a worker as they are). */
  trustedKeys: KeyObject[];
  /** The chains that must exist and the witness file, read afresh by every pass. */
  checks: Pick<AuditConfig, 'expectedChains' | 'witnessFile'>;
}

/**
 * Verifies the whole store as `auditChains` reports it: every chain, with the chains that
 * must exist and the witness file, on a connection of its own that it closes. The audit
 * department runs it in a worker thread (background-verification.ts).
 */
export async function runVerificationPass(input: VerificationPassInput): Promise<ChainVerification[]> {
  const store = await openAuditStore(input.store, { mustExist: true });
  try {
    return await verifyChains(store, input.trustedKeys, {
      expectedChains: configuredExpectedChains(input.checks),
      witnessed: await readWitnesses(configuredWitnessFiles(input.checks)),
    });
  } finally {
    await store.close();
  }
}
