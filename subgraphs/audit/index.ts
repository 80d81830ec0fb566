import type { KeyObject } from 'node:crypto';
import { configuredExpectedChains, configuredWitnessFiles, loadAuditConfig, loadTrustedPublicKeys, type AuditConfig } from '../../audit/config';
import { openAuditStore } from '../../audit/open-store';
import { ensureSigningKeyFile } from '../../audit/signing';
import type { AuditStore } from '../../audit/store';
import type { VerifyOptions } from '../../audit/verify';
import { readWitnesses } from '../../audit/witness';
import { runDepartment } from '../shared/run';
import type { SubgraphDefinition } from '../shared/server';
import { resolvers } from './resolvers';

/**
 * The auditors' window on the audit log: the same store the gateway writes (the SQLite
 * file in the data folder, or PostgreSQL), read through audit/review.ts and
 * audit/verify.ts. The gateway lets only role auditor ask for these fields.
 */
export interface AuditContext {
  store: AuditStore;
  /** Public keys whose checkpoint signatures verification accepts. */
  trustedKeys: KeyObject[];
  /** What else `auditChains` checks the store against, read when asked: the chains that must exist, the witness file. */
  verifyOptions(): Promise<VerifyOptions>;
}

/**
 * `checks`: PROOFLESS_AUDIT_EXPECTED_CHAINS and PROOFLESS_AUDIT_WITNESS_FILE as loaded;
 * default none of either. Unlike `audit:verify`, this department expects no chain of its
 * own: it is not a gateway instance.
 */
export function auditSubgraph(
  store: AuditStore,
  trustedKeys: KeyObject[],
  checks: Pick<AuditConfig, 'expectedChains' | 'witnessFile'> = { expectedChains: [], witnessFile: null },
): SubgraphDefinition<AuditContext> {
  const verifyOptions = async (): Promise<VerifyOptions> => ({
    expectedChains: configuredExpectedChains(checks),
    witnessed: await readWitnesses(configuredWitnessFiles(checks)),
  });
  return { name: 'audit', resolvers, createContext: () => ({ store, trustedKeys, verifyOptions }) };
}

if (require.main === module) {
  runDepartment('audit', async () => {
    const config = loadAuditConfig();
    // In development the key is made on first start (by whichever of this and the gateway comes first).
    if (process.env.NODE_ENV !== 'production') ensureSigningKeyFile(config.signingKeyFile);
    const store = await openAuditStore(config);
    return { definition: auditSubgraph(store, loadTrustedPublicKeys(config), config), close: () => store.close() };
  });
}
