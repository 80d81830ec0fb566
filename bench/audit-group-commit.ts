import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { openAuditLog } from '../audit/log';
import { openPostgresAuditStore } from '../audit/postgres-store';
import { ensureSigningKeyFile } from '../audit/signing';
import { openSqliteAuditStore } from '../audit/sqlite-store';
import type { AuditStore } from '../audit/store';

/**
 * `npx tsx bench/audit-group-commit.ts [seconds] [concurrency]`: records/s with group
 * commit (the defaults: 2 ms window, up to 100 per transaction) against one transaction
 * per record (`maxGroupSize: 1`), on SQLite (WAL, synchronous = FULL) and PostgreSQL,
 * with `concurrency` requests each recording one entry after another, as a loaded
 * gateway would. Prints figures and the ratio; the ratio is what to compare across machines.
 */
const seconds = Number(process.argv[2] ?? 3);
const concurrency = Number(process.argv[3] ?? 50);
const DATABASE_URL = process.env.PROOFLESS_AUDIT_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const entry = (i: number) => ({
  time: new Date().toISOString(), requestId: `bench-${i}`, application: 'bench', officer: 'officer-1', role: 'service',
  serviceItem: 'pension-application', caseNumber: 'CASE-1', operationName: 'CitizenFacts', documentHash: 'a'.repeat(64),
  coordinates: ['Citizen.household', 'Citizen.identity'], citizens: ['110101199003077777'], departments: ['household'],
  outcome: 'ok' as const, errorCodes: [], latencyMs: 12,
});

async function measure(store: AuditStore, keyFile: string, maxGroupSize: number, chainId: string): Promise<number> {
  const log = await openAuditLog({ store, chainId, signingKeyFile: keyFile, maxGroupSize });
  let recorded = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      await log.record(entry(recorded));
      recorded += 1;
    }
  }));
  const rate = recorded / ((performance.now() - started) / 1000);
  await log.close();
  return rate;
}

async function main(): Promise<void> {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'proofless-audit-bench-'));
  const keyFile = path.join(folder, 'key.pem');
  ensureSigningKeyFile(keyFile);
  const schema = `audit_bench_${process.pid}`;
  const stores: Array<[string, () => Promise<AuditStore>]> = [
    ['SQLite', () => openSqliteAuditStore(path.join(folder, 'audit.sqlite'))],
    ['PostgreSQL', () => openPostgresAuditStore(new Pool({ connectionString: DATABASE_URL }), { schema })],
  ];
  try {
    console.log(`${concurrency} concurrent requests, ${seconds} s per run, on ${os.cpus().length} cores`);
    for (const [name, open] of stores) {
      const store = await open();
      const perRecord = await measure(store, keyFile, 1, 'one-per-transaction');
      const grouped = await measure(store, keyFile, 100, 'group-commit');
      console.log(`${name}: one transaction per record ${perRecord.toFixed(0)} records/s, group commit ${grouped.toFixed(0)} records/s (x${(grouped / perRecord).toFixed(1)})`);
      await store.close();
    }
  } finally {
    const pool = new Pool({ connectionString: DATABASE_URL });
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => pool.end());
    rmSync(folder, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(`audit-group-commit: ${error.message}`);
  process.exit(1);
});
