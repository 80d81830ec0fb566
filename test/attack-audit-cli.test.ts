import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openAuditLog } from '../audit/log';
import { openSqliteAuditStore } from '../audit/sqlite-store';
import { REPO_ROOT } from '../lib/paths';
import { auditEntry, signingKeyFileIn } from './helpers/audit-stores';

/**
 * Red team, issue 16, area 5: `audit:verify` "names what it found". Chain IDs are checked
 * where they enter configuration (audit/entry.ts checkChainId), never where they are read
 * back from the store, and the command prints them as they are. A writer of the store adds
 * one row whose chain ID holds terminal control sequences: cursor up, erase line, a
 * forged "chain gw-1: ok ..." and "conceal" for the rest. On an operator's terminal the
 * real "chain gw-1: BAD ..." line is erased and "chain gw-1: ok" shows in its place (the
 * exit status is still 1; a person reading the screen sees only ok).
 */
let dataDir: string;

beforeEach(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'proofless-attack-cli-'));
  const store = await openSqliteAuditStore(path.join(dataDir, 'audit.sqlite'));
  const log = await openAuditLog({ store, chainId: 'gw-1', signingKeyFile: signingKeyFileIn(dataDir), witnessFile: path.join(dataDir, 'audit-witness.jsonl') });
  for (let m = 1; m <= 5; m += 1) await log.record(auditEntry({ requestId: `req-${m}`, time: `2020-0${m}-15T08:00:00.000Z` }));
  await log.close();
  await store.close();
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

test('a chain ID holding terminal control sequences cannot print over the verdict on another chain', () => {
  const db = new Database(path.join(dataDir, 'audit.sqlite'));
  // The tampering being hidden: a record of gw-1 edited.
  db.exec("UPDATE audit_record SET officer = 'officer-framed' WHERE chain_id = 'gw-1' AND sequence = 3");
  const chainId = 'zz\x1b[1A\x1b[2K\rchain gw-1: ok, 5 records, last sequence 5, last checkpoint 5\x1b[8m';
  db.prepare(`INSERT INTO audit_record (chain_id, sequence, previous_hash, hash, time, request_id, coordinates, citizens, departments, outcome, error_codes, latency_ms)
    VALUES (?, 1, ?, ?, '2020-01-01T00:00:00.000Z', 'r', '[]', '[]', '[]', 'ok', '[]', 1)`).run(chainId, '0'.repeat(64), '0'.repeat(64));
  db.close();
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PROOFLESS_')));
  const result = spawnSync(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), ['scripts/audit-verify.ts'], {
    cwd: REPO_ROOT,
    env: { ...clean, PROOFLESS_DATA_DIR: dataDir, PROOFLESS_AUDIT_CHAIN_ID: 'gw-1' },
    encoding: 'utf8',
  });
  expect(result.status).toBe(1);
  expect(result.stdout).toContain('chain gw-1: BAD at record 3: record 3: hash does not match its contents');
  // Today the output holds ESC [1A ESC [2K CR "chain gw-1: ok ..." ESC [8m: the line above is erased on a terminal.
  expect(/[\u0000-\u0008\u000b-\u001f\u007f]/.test(result.stdout)).toBe(false);
});
