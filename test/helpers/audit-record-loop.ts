import { Pool } from 'pg';
import { openAuditLog } from '../../audit/log';
import { openPostgresAuditStore } from '../../audit/postgres-store';
import { openSqliteAuditStore } from '../../audit/sqlite-store';
import { auditEntry } from './audit-stores';

/**
 * `node --import tsx test/helpers/audit-record-loop.ts KEY_FILE sqlite FILE` or `... KEY_FILE postgres URL SCHEMA`:
 * records entries on chain gw-kill, eight at a time, for ever, and prints each record's
 * sequence number on stdout only after record() resolved, i.e. once the log says it is
 * durable. The durability test SIGKILLs it mid-run and checks every printed number is in
 * the store. stdout to a pipe is synchronous on Linux, so a printed number was written.
 * It runs under `node --import tsx`, not the `tsx` command, so that the signal reaches
 * this process and not a wrapper that would leave it running.
 */
async function main(): Promise<void> {
  // Never outlive the test that started it, whatever killed the test.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && process.exit(1), 100).unref();
  const [signingKeyFile, kind, location, schema] = process.argv.slice(2);
  const store = kind === 'sqlite'
    ? await openSqliteAuditStore(location)
    : await openPostgresAuditStore(new Pool({ connectionString: location }), { schema });
  const log = await openAuditLog({ store, chainId: 'gw-kill', signingKeyFile, checkpointIntervalMs: 25 });
  for (let request = 0; ; request += 8) {
    const records = await Promise.all(Array.from({ length: 8 }, (_, i) => log.record(auditEntry({ requestId: `req-${request + i}` }))));
    process.stdout.write(records.map((record) => `${record.sequence}\n`).join(''));
  }
}

main().catch((error: Error) => {
  process.stderr.write(`audit-record-loop: ${error.message}\n`);
  process.exit(1);
});
