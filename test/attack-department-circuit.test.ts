import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { REPO_ROOT } from '../lib/paths';
import { openAuditLog } from '../audit/log';
import { ensureSigningKeyFile } from '../audit/signing';
import { openSqliteAuditStore } from '../audit/sqlite-store';
import { writeFixtureRegistries } from './fixtures/registries';
import { auditEntry } from './helpers/audit-stores';
import { watchOutput } from './helpers/process-output';
import { startStack, type Stack } from './helpers/stack';

/**
 * Red team, issue 16, area 7: "one caller cannot take a department away from everyone".
 * `auditChains` verifies the whole audit store on every call, in the audit department's
 * only thread (better-sqlite3 reads and SHA-256, about 30,000 records a second here: a
 * store of 200,000 records took 6.7 s), and the operation's estimated cost is 10 whatever
 * the store holds. Once the log is larger than the audit department's timeout allows (10 s:
 * some 300,000 records, a few hours of a busy gateway), every call times out and counts
 * against the audit circuit: five calls by one auditor (one audit console page load each)
 * open it, and every auditor gets DEPARTMENT_UNAVAILABLE for `auditRecords` too. Here the
 * same with a smaller store and the audit department's timeout scaled down to match; the
 * audit department runs in a process of its own, as deployed (in this process its
 * verification would stall the gateway's own timers too).
 */
let fixture: ReturnType<typeof writeFixtureRegistries>;
let stack: Stack;
let auditDepartment: ChildProcess;

beforeAll(async () => {
  fixture = writeFixtureRegistries();
  // A log that has been running for a while: 60,000 records of an earlier instance, checkpoints signed by the same key.
  const keyFile = path.join(fixture.dataDir, 'audit-signing-key.pem');
  ensureSigningKeyFile(keyFile);
  const store = await openSqliteAuditStore(path.join(fixture.dataDir, 'audit.sqlite'));
  const log = await openAuditLog({ store, chainId: 'gw-earlier', signingKeyFile: keyFile, maxGroupSize: 1000, groupCommitWindowMs: 5 });
  for (let i = 0; i < 60_000; i += 5000) await Promise.all(Array.from({ length: 5000 }, (_, j) => log.record(auditEntry({ requestId: `earlier-${i + j}` }))));
  await log.close();
  await store.close();
  auditDepartment = spawn(process.execPath, ['--import', 'tsx', 'subgraphs/audit/index.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, PROOFLESS_DATA_DIR: fixture.dataDir, PROOFLESS_AUDIT_PORT: '0', PROOFLESS_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const listening = await watchOutput(auditDepartment, 'the audit department')(/subgraph listening on/);
  const auditUrl = /listening on (http:\/\/[^\s"]+)/.exec(listening)?.[1] as string;
  stack = await startStack({ dataDir: fixture.dataDir, env: { PROOFLESS_AUDIT_TIMEOUT_MS: '300', PROOFLESS_AUDIT_URL: auditUrl } });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (auditDepartment && auditDepartment.exitCode === null) {
    auditDepartment.kill('SIGTERM');
    await once(auditDepartment, 'exit');
  }
  fixture?.remove();
});

test('five auditChains calls by one auditor leave the audit department answering other auditors', async () => {
  const auditor = async (officer: string) => ({ authorization: `Bearer ${await stack.token({ role: 'auditor', officer, serviceItems: [], scopes: [] })}` });
  // Today each is DEPARTMENT_TIMEOUT: verification of the whole store takes longer than the audit department may take.
  await Promise.all(Array.from({ length: 5 }, async () => stack.query('{ auditChains { chainId ok } }', undefined, await auditor('auditor-01'))));

  const other = await stack.query('{ auditRecords(first: 1) { records { requestId } } }', undefined, await auditor('auditor-02'));
  // Today: {"errors":[{"message":"the audit department could not answer","extensions":{"code":"DEPARTMENT_UNAVAILABLE","department":"audit"}}]}: its circuit is open.
  expect({ errors: other.body.errors, records: other.body.data?.auditRecords?.records?.length }).toEqual({ errors: undefined, records: 1 });
});
