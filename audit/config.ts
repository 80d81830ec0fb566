import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, integerFromEnv, stringFromEnv, urlFromEnv } from '../lib/env';
import { dataDirFromEnv } from '../lib/paths';
import { DEFAULT_RETENTION_YEARS } from './archive';
import { checkChainId } from './entry';
import { MAX_GROUP_SIZE } from './log';
import { DEFAULT_POSTGRES_SCHEMA, isSchemaName } from './postgres-store';
import { loadPublicKey } from './signing';

/** Everything the audit log and its commands read from the environment, parsed once. */
export interface AuditConfig {
  /** PROOFLESS_AUDIT_DATABASE_URL: a postgres:// URL shared by every gateway instance; null = the SQLite file. */
  databaseUrl: string | null;
  /** `<PROOFLESS_DATA_DIR>/audit.sqlite`, used when no database URL is set. */
  sqliteFile: string;
  /** PROOFLESS_AUDIT_DATABASE_SCHEMA, default proofless_audit: where the PostgreSQL tables live. */
  postgresSchema: string;
  /** PROOFLESS_AUDIT_KEY_FILE, default `<data dir>/audit-signing-key.pem`: Ed25519 key signing checkpoints and anchors. */
  signingKeyFile: string;
  /**
   * PROOFLESS_AUDIT_TRUSTED_KEY_FILES, comma-separated PEM files (public or private keys):
   * whose signatures verification accepts. Default: the signing key file alone; with
   * several instances on one database, list each instance's key.
   */
  trustedKeyFiles: string[];
  /** PROOFLESS_AUDIT_CHAIN_ID, default the host name: this instance's chain. */
  chainId: string;
  /** PROOFLESS_AUDIT_GROUP_COMMIT_MS, default 2: how long a record waits for others to share its transaction. */
  groupCommitWindowMs: number;
  /** PROOFLESS_AUDIT_GROUP_COMMIT_MAX, default 100: the most records in one transaction. */
  maxGroupSize: number;
  /** PROOFLESS_AUDIT_CHECKPOINT_SECONDS, default 60: how often the chain head is signed; 0 = on shutdown only. */
  checkpointIntervalMs: number;
  /** PROOFLESS_AUDIT_RETENTION_YEARS, default 3: records younger than this are never archived. */
  retentionYears: number;
  /**
   * PROOFLESS_AUDIT_WITNESS_FILE: an append-only JSON Lines file outside the audit store
   * that every checkpoint is also written to (witness.ts), and that `audit:verify` and
   * `auditChains` check the store against when it exists. Default
   * `<data dir>/audit-witness.jsonl` in development; none in production (NODE_ENV=production),
   * where it is optional but recommended, on storage that whoever can write to the audit
   * store cannot (another volume, host or owner). Several instances may share one file.
   */
  witnessFile: string | null;
  /**
   * PROOFLESS_AUDIT_EXPECTED_CHAINS, comma-separated chain IDs that must be in the store:
   * verification fails naming any that is missing (a whole chain deleted). Default none;
   * `audit:verify` then expects this instance's own chain when the store is its SQLite file.
   */
  expectedChains: string[];
  /**
   * PROOFLESS_AUDIT_CHAINS_MAX_AGE_SECONDS, default 60: `auditChains` answers the latest
   * verification the audit department finished in the background, and starts a new one
   * when the latest began longer ago than this (background-verification.ts).
   */
  chainsMaxAgeMs: number;
  /**
   * PROOFLESS_AUDIT_CHAINS_WAIT_MS, default 0: how long `auditChains` waits for the
   * verification running to finish before answering the latest finished one. Keep it
   * well under the gateway's PROOFLESS_AUDIT_TIMEOUT_MS: an answer later than that counts
   * against the audit department's circuit. 0 answers at once, whatever the store holds.
   */
  chainsWaitMs: number;
}

export function loadAuditConfig(env: NodeJS.ProcessEnv = process.env): AuditConfig {
  const dataDir = dataDirFromEnv(env);
  const signingKeyFile = path.resolve(stringFromEnv(env, 'PROOFLESS_AUDIT_KEY_FILE', path.join(dataDir, 'audit-signing-key.pem')));
  const trusted = stringFromEnv(env, 'PROOFLESS_AUDIT_TRUSTED_KEY_FILES', '');
  const witness = stringFromEnv(env, 'PROOFLESS_AUDIT_WITNESS_FILE', env.NODE_ENV === 'production' ? '' : path.join(dataDir, 'audit-witness.jsonl'));
  return {
    databaseUrl: urlFromEnv(env, 'PROOFLESS_AUDIT_DATABASE_URL', ['postgres:', 'postgresql:']) ?? null,
    sqliteFile: path.join(dataDir, 'audit.sqlite'),
    postgresSchema: schemaFromEnv(env, 'PROOFLESS_AUDIT_DATABASE_SCHEMA'),
    signingKeyFile,
    trustedKeyFiles: trusted === '' ? [signingKeyFile] : trusted.split(',').map((file) => path.resolve(file.trim())),
    chainId: chainIdFromEnv(env, 'PROOFLESS_AUDIT_CHAIN_ID'),
    groupCommitWindowMs: integerFromEnv(env, 'PROOFLESS_AUDIT_GROUP_COMMIT_MS', 2, { min: 0, max: 1000 }),
    maxGroupSize: integerFromEnv(env, 'PROOFLESS_AUDIT_GROUP_COMMIT_MAX', 100, { min: 1, max: MAX_GROUP_SIZE }),
    checkpointIntervalMs: integerFromEnv(env, 'PROOFLESS_AUDIT_CHECKPOINT_SECONDS', 60, { min: 0, max: 86400 }) * 1000,
    retentionYears: integerFromEnv(env, 'PROOFLESS_AUDIT_RETENTION_YEARS', DEFAULT_RETENTION_YEARS, { min: 1, max: 100 }),
    witnessFile: witness === '' ? null : path.resolve(witness),
    expectedChains: chainListFromEnv(env, 'PROOFLESS_AUDIT_EXPECTED_CHAINS'),
    chainsMaxAgeMs: integerFromEnv(env, 'PROOFLESS_AUDIT_CHAINS_MAX_AGE_SECONDS', 60, { min: 0, max: 86400 }) * 1000,
    chainsWaitMs: integerFromEnv(env, 'PROOFLESS_AUDIT_CHAINS_WAIT_MS', 0, { min: 0, max: 300000 }),
  };
}

/** The chains PROOFLESS_AUDIT_EXPECTED_CHAINS names, each with why it is expected, as verification quotes it. */
export function configuredExpectedChains(config: Pick<AuditConfig, 'expectedChains'>): Map<string, string> {
  return new Map(config.expectedChains.map((chainId) => [chainId, 'PROOFLESS_AUDIT_EXPECTED_CHAINS names it']));
}

/**
 * The chains the audit commands expect when the command line names none:
 * PROOFLESS_AUDIT_EXPECTED_CHAINS, else this instance's own chain when the store is its
 * SQLite file (a PostgreSQL store is shared: no one instance's chain says enough).
 */
export function defaultExpectedChains(config: Pick<AuditConfig, 'expectedChains' | 'databaseUrl' | 'chainId'>): Map<string, string> {
  if (config.expectedChains.length > 0) return configuredExpectedChains(config);
  if (config.databaseUrl === null) return new Map([[config.chainId, 'it is this instance\'s own chain (PROOFLESS_AUDIT_CHAIN_ID)']]);
  return new Map();
}

/** The configured witness file, when it exists: a gateway that never ran has written none. */
export function configuredWitnessFiles(config: Pick<AuditConfig, 'witnessFile'>): string[] {
  return config.witnessFile !== null && existsSync(config.witnessFile) ? [config.witnessFile] : [];
}

/** A comma-separated list of chain IDs, each checked; empty when unset. */
export function parseChainList(raw: string, source: string): string[] {
  return [...new Set(raw.split(',').map((chainId) => chainId.trim()).filter((chainId) => chainId !== ''))].map((chainId) => checkChainId(chainId, `each chain in ${source}`));
}

function chainListFromEnv(env: NodeJS.ProcessEnv, name: string): string[] {
  try {
    return parseChainList(env[name] ?? '', name);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** The public keys verification trusts, read from the configured files; one that cannot be used is a configuration error. */
export function loadTrustedPublicKeys(config: Pick<AuditConfig, 'trustedKeyFiles'>): KeyObject[] {
  return config.trustedKeyFiles.map((file) => {
    try {
      return loadPublicKey(file);
    } catch (error) {
      throw new ConfigError(`${(error as Error).message} (set PROOFLESS_AUDIT_TRUSTED_KEY_FILES or PROOFLESS_AUDIT_KEY_FILE)`);
    }
  });
}

function schemaFromEnv(env: NodeJS.ProcessEnv, name: string): string {
  const schema = stringFromEnv(env, name, DEFAULT_POSTGRES_SCHEMA);
  if (!isSchemaName(schema)) throw new ConfigError(`${name} must be a lower-case SQL identifier, got "${schema}"`);
  return schema;
}

function chainIdFromEnv(env: NodeJS.ProcessEnv, name: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return os.hostname().replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 128) || 'gateway';
  try {
    return checkChainId(raw, name);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}
