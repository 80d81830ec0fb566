import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Pool } from 'pg';
import { openPostgresAuditStore } from '../../audit/postgres-store';
import { openSqliteAuditStore } from '../../audit/sqlite-store';
import type { AuditStore } from '../../audit/store';
import { REPO_ROOT } from '../../lib/paths';
import { signingKeyFileIn, TEST_DATABASE_URL } from './audit-stores';
import { openExchangeWorld, pkiDirIn, type ExchangeWorld } from './exchanges';

/**
 * The gateway's audit store and departments' access logs where the commands find them from
 * the environment alone: SQLite files in a data folder, or PostgreSQL schemas.
 */

/** The stores of one test: the gateway's and each department's, files or schemas, and the environment pointing the commands at them. */
export interface Stores {
  dataDir: string;
  gateway: AuditStore;
  departments: Record<string, AuditStore>;
  env: NodeJS.ProcessEnv;
  /** Runs SQL on a side's database: `gateway` or a department's name. */
  sql(side: string, text: string): Promise<void>;
  close(): Promise<void>;
}

export async function sqliteStores(departments: string[]): Promise<Stores> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'proofless-exchange-'));
  mkdirSync(path.join(dataDir, 'access-log'));
  const fileOf = (side: string) => (side === 'gateway' ? path.join(dataDir, 'audit.sqlite') : path.join(dataDir, 'access-log', `${side}.sqlite`));
  const gateway = await openSqliteAuditStore(fileOf('gateway'));
  const opened: Record<string, AuditStore> = {};
  for (const department of departments) opened[department] = await openSqliteAuditStore(fileOf(department));
  return {
    dataDir, gateway, departments: opened, env: {},
    async sql(side, text) {
      const db = new Database(fileOf(side));
      db.exec(text);
      db.close();
    },
    async close() {
      await gateway.close().catch(() => undefined);
      for (const store of Object.values(opened)) await store.close().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let schemas = 0;

/** PostgreSQL: one schema for the gateway, one for the department (PROOFLESS_ACCESS_LOG_DATABASE_SCHEMA names one for every department, so one department). */
export async function postgresStores(department: string): Promise<Stores> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'proofless-exchange-'));
  schemas += 1;
  const suffix = `${process.pid}_${schemas}_${Math.random().toString(36).slice(2, 8)}`;
  const schemaOf = (side: string) => (side === 'gateway' ? `reconcile_gw_${suffix}` : `reconcile_dept_${suffix}`);
  const open = (side: string) => openPostgresAuditStore(new Pool({ connectionString: TEST_DATABASE_URL, max: 2 }), { schema: schemaOf(side) });
  const gateway = await open('gateway');
  const store = await open(department);
  const direct = new Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
  return {
    dataDir, gateway, departments: { [department]: store },
    env: {
      PROOFLESS_AUDIT_DATABASE_URL: TEST_DATABASE_URL, PROOFLESS_AUDIT_DATABASE_SCHEMA: schemaOf('gateway'),
      PROOFLESS_ACCESS_LOG_DATABASE_URL: TEST_DATABASE_URL, PROOFLESS_ACCESS_LOG_DATABASE_SCHEMA: schemaOf(department),
    },
    async sql(side, text) {
      await direct.query(`SET search_path TO "${schemaOf(side)}"; ${text}`);
    },
    async close() {
      await gateway.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      for (const side of ['gateway', department]) await direct.query(`DROP SCHEMA IF EXISTS "${schemaOf(side)}" CASCADE`);
      await direct.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `scripts/<script>.ts` as an operator does: configured by the environment only. */
export function runScript(script: string, stores: Pick<Stores, 'dataDir' | 'env'>, args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PROOFLESS_')));
  const result = spawnSync(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), [`scripts/${script}.ts`, ...args], {
    cwd: REPO_ROOT,
    env: { ...clean, PROOFLESS_DATA_DIR: stores.dataDir, PROOFLESS_AUDIT_CHAIN_ID: 'gw-1', ...stores.env, ...env },
    encoding: 'utf8',
    // An export of a thousand records is past spawnSync's 1 MiB default, which kills the command (tsx then exits 143).
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function openWorld(stores: Stores, gatewayClock?: () => Date): Promise<ExchangeWorld> {
  return openExchangeWorld({ pkiDir: pkiDirIn(stores.dataDir), auditKeyFile: signingKeyFileIn(stores.dataDir), gateway: stores.gateway, departments: stores.departments, gatewayClock });
}
