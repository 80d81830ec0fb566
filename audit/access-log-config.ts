import os from 'node:os';
import path from 'node:path';
import { ConfigError, integerFromEnv, stringFromEnv, urlFromEnv } from '../lib/env';
import { pkiDirFromEnv } from '../lib/federation-transport';
import { dataDirFromEnv } from '../lib/paths';
import { checkChainId } from './entry';
import { MAX_GROUP_SIZE } from './log';
import { isSchemaName } from './postgres-store';

/**
 * Where one department keeps its own access log (issue 18), and the key that signs its
 * checkpoints and its receipts: every setting a department process, the auditors'
 * commands (`audit:reconcile`, `audit:verify`, `department:log`) and the gateway read
 * about it, parsed once, in one place.
 *
 * The store is the gateway's kind of store (audit/store.ts): SQLite at
 * `<data dir>/access-log/<department>.sqlite` by default, PostgreSQL with a URL (a schema
 * of its own per department). The chain is the department instance's own.
 */
export interface AccessLogConfig {
  department: string;
  /** PROOFLESS_ACCESS_LOG_DATABASE_URL: a postgres:// URL; null = the SQLite file. */
  databaseUrl: string | null;
  /** `<PROOFLESS_ACCESS_LOG_DIR>/<department>.sqlite` (default dir `<PROOFLESS_DATA_DIR>/access-log`), used when no database URL is set. */
  sqliteFile: string;
  /** PROOFLESS_ACCESS_LOG_DATABASE_SCHEMA, default `proofless_access_<department>` (`-` becomes `_`). */
  postgresSchema: string;
  /** PROOFLESS_ACCESS_LOG_CHAIN_ID, default `<department>:<host name>`: this department instance's chain. */
  chainId: string;
  /**
   * PROOFLESS_DEPARTMENT_KEY_FILE: the department's Ed25519 private key (PKCS#8 PEM) that
   * signs its receipts and its log's checkpoints; development: `<pki>/<department>-signing-key.pem`,
   * listed in `<pki>/department-keys.json` (lib/trust-list.ts). Required in production.
   * Its ID, in receipts, checkpoints and the trust list, is the SHA-256 hex of its public
   * key (SPKI DER), as for the gateway's audit key (audit/signing.ts keyIdOf).
   */
  keyFile: string;
  /** PROOFLESS_ACCESS_LOG_GROUP_COMMIT_MS, default 2. */
  groupCommitWindowMs: number;
  /** PROOFLESS_ACCESS_LOG_GROUP_COMMIT_MAX, default 100. */
  maxGroupSize: number;
  /** PROOFLESS_ACCESS_LOG_CHECKPOINT_SECONDS, default 60; 0 = on shutdown only. */
  checkpointIntervalMs: number;
  /** PROOFLESS_ACCESS_LOG_TIMEOUT_MS, default 5000: how long an answer waits for its record before the department answers 503 instead. */
  writeTimeoutMs: number;
  /**
   * PROOFLESS_ACCESS_LOG_REFUSAL_WINDOW_MS, default 10000: refusals of requests whose
   * gateway signature did not verify, alike (code, status, client certificate's name),
   * within this window are recorded as one record standing for all of them.
   */
  refusalWindowMs: number;
}

/** The departments' trust list the gateway and the auditors verify receipts and department checkpoints with: PROOFLESS_DEPARTMENT_KEYS_FILE, default `<pki>/department-keys.json` (required in production). */
export function departmentKeysFileFromEnv(env: NodeJS.ProcessEnv): string {
  const file = env.PROOFLESS_DEPARTMENT_KEYS_FILE;
  if (!file && env.NODE_ENV === 'production') {
    throw new ConfigError('PROOFLESS_DEPARTMENT_KEYS_FILE is required in production: the trust list of the keys departments sign their receipts and log checkpoints with');
  }
  return path.resolve(file || path.join(pkiDirFromEnv(env), DEPARTMENT_KEYS_FILE_NAME));
}

/** The file name of the departments' trust list in the development PKI folder. */
export const DEPARTMENT_KEYS_FILE_NAME = 'department-keys.json';

/** Where a department's log is, and nothing else: what a reader needs (the auditors' department), without the writer's key. */
export type AccessLogLocation = Pick<AccessLogConfig, 'databaseUrl' | 'sqliteFile' | 'postgresSchema'>;

export function accessLogLocationFromEnv(env: NodeJS.ProcessEnv, department: string): AccessLogLocation {
  const schema = stringFromEnv(env, 'PROOFLESS_ACCESS_LOG_DATABASE_SCHEMA', `proofless_access_${department.replace(/-/g, '_')}`);
  if (!isSchemaName(schema)) throw new ConfigError(`PROOFLESS_ACCESS_LOG_DATABASE_SCHEMA must be a lower-case SQL identifier, got "${schema}"`);
  return {
    databaseUrl: urlFromEnv(env, 'PROOFLESS_ACCESS_LOG_DATABASE_URL', ['postgres:', 'postgresql:']) ?? null,
    sqliteFile: path.join(path.resolve(stringFromEnv(env, 'PROOFLESS_ACCESS_LOG_DIR', path.join(dataDirFromEnv(env), 'access-log'))), `${department}.sqlite`),
    postgresSchema: schema,
  };
}

export function accessLogConfigFromEnv(env: NodeJS.ProcessEnv, department: string): AccessLogConfig {
  const keyFile = env.PROOFLESS_DEPARTMENT_KEY_FILE;
  if (!keyFile && env.NODE_ENV === 'production') {
    throw new ConfigError('PROOFLESS_DEPARTMENT_KEY_FILE is required in production: the key this department signs its receipts and access-log checkpoints with');
  }
  return {
    department,
    ...accessLogLocationFromEnv(env, department),
    chainId: chainIdOf(env, department),
    keyFile: path.resolve(keyFile || path.join(pkiDirFromEnv(env), `${department}-signing-key.pem`)),
    groupCommitWindowMs: integerFromEnv(env, 'PROOFLESS_ACCESS_LOG_GROUP_COMMIT_MS', 2, { min: 0, max: 1000 }),
    maxGroupSize: integerFromEnv(env, 'PROOFLESS_ACCESS_LOG_GROUP_COMMIT_MAX', 100, { min: 1, max: MAX_GROUP_SIZE }),
    checkpointIntervalMs: integerFromEnv(env, 'PROOFLESS_ACCESS_LOG_CHECKPOINT_SECONDS', 60, { min: 0, max: 86400 }) * 1000,
    writeTimeoutMs: integerFromEnv(env, 'PROOFLESS_ACCESS_LOG_TIMEOUT_MS', 5000, { min: 1, max: 60000 }),
    refusalWindowMs: integerFromEnv(env, 'PROOFLESS_ACCESS_LOG_REFUSAL_WINDOW_MS', 10000, { min: 1, max: 600000 }),
  };
}

function chainIdOf(env: NodeJS.ProcessEnv, department: string): string {
  const raw = env.PROOFLESS_ACCESS_LOG_CHAIN_ID;
  if (raw === undefined || raw === '') return `${department}:${os.hostname().replace(/[^A-Za-z0-9._:-]/g, '-')}`.slice(0, 128);
  try {
    return checkChainId(raw, 'PROOFLESS_ACCESS_LOG_CHAIN_ID');
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}
