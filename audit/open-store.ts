import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Pool } from 'pg';
import type { AuditConfig } from './config';
import { openPostgresAuditStore } from './postgres-store';
import { openSqliteAuditStore } from './sqlite-store';
import type { AuditStore } from './store';

/**
 * The store the configuration names: PostgreSQL when PROOFLESS_AUDIT_DATABASE_URL is
 * set, the SQLite file in the data folder otherwise. `mustExist` is for the commands
 * that only read or archive: they must not create an empty log and report on it.
 */
export async function openAuditStore(
  config: Pick<AuditConfig, 'databaseUrl' | 'sqliteFile' | 'postgresSchema'>,
  options: { mustExist?: boolean } = {},
): Promise<AuditStore> {
  if (config.databaseUrl) {
    return openPostgresAuditStore(new Pool({ connectionString: config.databaseUrl }), { schema: config.postgresSchema, mustExist: options.mustExist });
  }
  if (!options.mustExist) mkdirSync(path.dirname(config.sqliteFile), { recursive: true });
  return openSqliteAuditStore(config.sqliteFile, { mustExist: options.mustExist });
}
