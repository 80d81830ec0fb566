import { existsSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { Pool } from 'pg';
import { ConfigError } from '../lib/env';
import { loadTrustList } from '../lib/trust-list';
import { accessLogConfigFromEnv, departmentKeysFileFromEnv, type AccessLogLocation } from './access-log-config';
import { openAuditStore } from './open-store';
import type { StoredRecord } from './entry';
import type { AuditStore } from './store';

/**
 * The departments' access logs (issue 18) as the auditors' commands open them: read only,
 * each where its department's environment puts it (access-log-config.ts), never created.
 */
export interface DepartmentLog {
  department: string;
  store: AuditStore;
  /** How reports name this log: "the household department's access log". */
  label: string;
}

export function departmentLogLabel(department: string): string {
  return `the ${department} department's access log`;
}

/** Whether the department's log exists where its settings put it: the SQLite file, or the record table in its PostgreSQL schema. */
export async function departmentLogExists(config: AccessLogLocation): Promise<boolean> {
  if (config.databaseUrl === null) return existsSync(config.sqliteFile);
  const pool = new Pool({ connectionString: config.databaseUrl, max: 1 });
  try {
    const { rows } = await pool.query('SELECT to_regclass($1) AS found', [`"${config.postgresSchema}".audit_record`]);
    return rows[0].found !== null;
  } finally {
    await pool.end();
  }
}

/** Opens one department's log; it must exist. */
export async function openDepartmentLog(env: NodeJS.ProcessEnv, department: string): Promise<DepartmentLog> {
  const config = accessLogConfigFromEnv(env, department);
  const store = await openAuditStore(config, { mustExist: true });
  return { department, store, label: departmentLogLabel(department) };
}

/**
 * The logs to read: those `named` (each must exist), or, when none is named, every
 * department in `known` whose log exists (a department that never ran has none).
 */
export async function openDepartmentLogs(env: NodeJS.ProcessEnv, known: readonly string[], named: readonly string[] | undefined): Promise<DepartmentLog[]> {
  const chosen: string[] = [];
  if (named && named.length > 0) chosen.push(...named);
  else {
    // One schema for every department would read one log as each department's.
    if (env.PROOFLESS_ACCESS_LOG_DATABASE_URL && env.PROOFLESS_ACCESS_LOG_DATABASE_SCHEMA) {
      throw new ConfigError('PROOFLESS_ACCESS_LOG_DATABASE_SCHEMA names one schema for every department: name the department whose log it is (--department NAME)');
    }
    for (const department of known) if (await departmentLogExists(accessLogConfigFromEnv(env, department))) chosen.push(department);
  }
  const logs: DepartmentLog[] = [];
  try {
    for (const department of chosen) logs.push(await openDepartmentLog(env, department));
  } catch (error) {
    await closeDepartmentLogs(logs);
    throw error;
  }
  return logs;
}

export async function closeDepartmentLogs(logs: readonly DepartmentLog[]): Promise<void> {
  for (const log of logs) await log.store.close();
}

/** The public keys the departments' trust list holds for `department`: what its log's checkpoints are verified with. */
export function departmentPublicKeys(env: NodeJS.ProcessEnv, department: string): KeyObject[] {
  const trustList = loadTrustList(departmentKeysFileFromEnv(env), { mayBeEmpty: true });
  return [...trustList.keys.values()].filter((key) => key.holder === department).map((key) => key.publicKey);
}

const PAGE_SIZE = 1000;

/** Every record of every chain in the store, chain by chain in sequence order, a page at a time. */
export async function* allRecords(store: AuditStore): AsyncGenerator<StoredRecord> {
  for (const chainId of await store.listChains()) {
    for (let after = 0; ;) {
      const page = await store.readChain(chainId, after, PAGE_SIZE);
      yield* page;
      if (page.length < PAGE_SIZE) break;
      after = page[page.length - 1].sequence;
    }
  }
}
