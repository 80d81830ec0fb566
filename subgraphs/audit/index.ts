import type { KeyObject } from 'node:crypto';
import { loadAuditConfig, loadTrustedPublicKeys } from '../../audit/config';
import { openAuditStore } from '../../audit/open-store';
import { ensureSigningKeyFile } from '../../audit/signing';
import type { AuditStore } from '../../audit/store';
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
}

export function auditSubgraph(store: AuditStore, trustedKeys: KeyObject[]): SubgraphDefinition<AuditContext> {
  return { name: 'audit', resolvers, createContext: () => ({ store, trustedKeys }) };
}

if (require.main === module) {
  runDepartment('audit', async () => {
    const config = loadAuditConfig();
    // In development the key is made on first start (by whichever of this and the gateway comes first).
    if (process.env.NODE_ENV !== 'production') ensureSigningKeyFile(config.signingKeyFile);
    const store = await openAuditStore(config);
    return { definition: auditSubgraph(store, loadTrustedPublicKeys(config)), close: () => store.close() };
  });
}
