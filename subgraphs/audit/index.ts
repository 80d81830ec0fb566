import { startBackgroundVerifier, verifyInWorker, type BackgroundVerifier } from '../../audit/background-verification';
import { loadAuditConfig, loadTrustedPublicKeys, type AuditConfig } from '../../audit/config';
import { openAuditStore } from '../../audit/open-store';
import { ensureSigningKeyFile } from '../../audit/signing';
import type { AuditStore } from '../../audit/store';
import { departmentLogLocationsFromEnv, departmentTrafficReader, type DepartmentTrafficReader } from '../../audit/department-traffic';
import { listDepartments } from '../../lib/composition';
import { createLogger, type Logger } from '../../lib/logger';
import { runDepartment, type DepartmentBuilder } from '../shared/run';
import type { SubgraphDefinition } from '../shared/server';
import { resolvers } from './resolvers';

/**
 * The auditors' window on the audit log: the same store the gateway writes (the SQLite
 * file in the data folder, or PostgreSQL), read through audit/review.ts, and verified in
 * the background (audit/background-verification.ts). The gateway lets only role auditor
 * ask for these fields.
 */
export interface AuditContext {
  store: AuditStore;
  /** The latest verification of the whole store, which `auditChains` answers. */
  verifier: BackgroundVerifier;
  /** The departments' names (schema/departments.json), in order: whose traffic `departmentTraffic` may be asked. */
  departments: readonly string[];
  /** Reads one department's own access log, read-only, for `departmentTraffic`. */
  readTraffic: DepartmentTrafficReader;
}

export function auditSubgraph(store: AuditStore, verifier: BackgroundVerifier, readTraffic: DepartmentTrafficReader): SubgraphDefinition<AuditContext> {
  const departments = listDepartments().map((entry) => entry.name);
  return { name: 'audit', resolvers, createContext: () => ({ store, verifier, departments, readTraffic }) };
}

/** Every department's access log where this process's environment says it is (audit/department-traffic.ts). */
export function departmentTrafficFromEnv(env: NodeJS.ProcessEnv, logger?: Logger): DepartmentTrafficReader {
  return departmentTrafficReader(departmentLogLocationsFromEnv(env, listDepartments().map((entry) => entry.name)), logger);
}

/**
 * The department's verification of the store `config` names, with its trusted keys, the
 * chains that must exist (PROOFLESS_AUDIT_EXPECTED_CHAINS) and the witness file
 * (PROOFLESS_AUDIT_WITNESS_FILE), how fresh and how long to wait as configured, each pass
 * in a worker thread; the first pass starts now. Unlike `audit:verify`, it expects no chain
 * of its own: the department is not a gateway instance.
 */
export function startAuditVerifier(config: AuditConfig): BackgroundVerifier {
  const verifier = startBackgroundVerifier({
    runPass: verifyInWorker({ store: config, trustedKeys: loadTrustedPublicKeys(config), checks: config }),
    maxAgeMs: config.chainsMaxAgeMs,
    waitMs: config.chainsWaitMs,
  });
  verifier.start();
  return verifier;
}

/** The audit department as its process builds it (shared/run.ts runs it; the benchmark's baseline runs it without its guard). */
export const auditDepartment: DepartmentBuilder = async () => {
  const config = loadAuditConfig();
  // Parsed before anything opens, so a bad setting stops the process with nothing to close.
  const readTraffic = departmentTrafficFromEnv(process.env, createLogger('audit'));
  // In development the key is made on first start (by whichever of this and the gateway comes first).
  if (process.env.NODE_ENV !== 'production') ensureSigningKeyFile(config.signingKeyFile);
  const store = await openAuditStore(config);
  const verifier = startAuditVerifier(config);
  return {
    definition: auditSubgraph(store, verifier, readTraffic),
    close: async () => {
      await verifier.close();
      await store.close();
    },
  };
};

if (require.main === module) runDepartment('audit', auditDepartment);
