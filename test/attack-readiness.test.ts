import path from 'node:path';
import Database from 'better-sqlite3';
import { ZHANG_WEI } from './fixtures/registries';
import { useFixtureStack } from './helpers/stack';

/**
 * Red team, issue 16, area 9: "/readyz ... unavailable (the audit store is out of reach or
 * cannot take writes ...)". Whether the store can write is decided by the last write
 * through it, and a write probe to a table of its own (`audit_probe`) after a failure.
 * When the store refuses records but not probes (a trigger, a constraint, a table-level
 * privilege or tablespace, an index gone bad: anything that fails inserts into
 * `audit_record` only), the failed record write makes the next check probe, the probe
 * succeeds, and that success clears the failure: /readyz says ready while every answer is
 * 503 AUDIT_UNAVAILABLE, so a load balancer keeps sending traffic to an instance that
 * answers nothing. Reproduced against `npm start` with one sqlite3 statement (report).
 */
const city = useFixtureStack();

test('with the audit store refusing records (but not the probe), every answer is 503 and /readyz must not say ready', async () => {
  const db = new Database(path.join(city.dataDir, 'audit.sqlite'));
  db.exec("CREATE TRIGGER refuse_records BEFORE INSERT ON audit_record BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
  try {
    const refused = await city.stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`);
    expect({ status: refused.status, body: refused.body }).toEqual({
      status: 503,
      body: { errors: [{ message: 'the audit log cannot be written; no data is released until it can', extensions: { code: 'AUDIT_UNAVAILABLE' } }] },
    });
    const readiness = await fetch(`${new URL(city.stack.gatewayUrl).origin}/readyz`);
    const body = (await readiness.json()) as { status: string; auditStore: unknown };
    // Today: 200, status "ready", auditStore { isReachable: true, isWritable: true }.
    expect({ status: readiness.status, readiness: body.status, auditStore: body.auditStore }).toEqual({
      status: 503,
      readiness: 'unavailable',
      auditStore: { isReachable: true, isWritable: false },
    });
  } finally {
    db.exec('DROP TRIGGER refuse_records');
    db.close();
  }
});
