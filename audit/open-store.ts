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
 * `readOnly` (implies mustExist) is for a reader that may only look: the SQLite file is
 * opened read-only, the PostgreSQL sessions with `default_transaction_read_only`, and
 * no schema is made or upgraded.
 */
export async function openAuditStore(
  config: Pick<AuditConfig, 'databaseUrl' | 'sqliteFile' | 'postgresSchema'>,
  options: { mustExist?: boolean; readOnly?: boolean } = {},
): Promise<AuditStore> {
  const { mustExist, readOnly } = options;
  if (config.databaseUrl) {
    const pool = new Pool({ connectionString: config.databaseUrl, ...(readOnly ? { options: '-c default_transaction_read_only=on' } : {}) });
    return openPostgresAuditStore(pool, { schema: config.postgresSchema, mustExist, readOnly });
  }
  if (!mustExist && !readOnly) mkdirSync(path.dirname(config.sqliteFile), { recursive: true });
  return openSqliteAuditStore(config.sqliteFile, { mustExist, readOnly });
}
