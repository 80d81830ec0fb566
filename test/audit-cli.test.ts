import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { StoredRecord } from '../audit/entry';
import { openAuditLog } from '../audit/log';
import { openSqliteAuditStore } from '../audit/sqlite-store';
import { REPO_ROOT } from '../lib/paths';
import { AUDIT_STORE_KINDS, auditEntry, signingKeyFileIn, TEST_DATABASE_URL } from './helpers/audit-stores';

/**
 * The commands as an operator runs them: configured only by the environment the gateway
 * uses (here PROOFLESS_DATA_DIR and PROOFLESS_AUDIT_CHAIN_ID=gw-1), one line per chain,
 * exit 0 / 1 / 2, and never a stack trace.
 */
let dataDir: string;
let witnessFile: string;
let records: StoredRecord[];

function run(script: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PROOFLESS_')));
  const result = spawnSync(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), [`scripts/${script}.ts`, ...args], {
    cwd: REPO_ROOT,
    env: { ...clean, PROOFLESS_DATA_DIR: dataDir, PROOFLESS_AUDIT_CHAIN_ID: 'gw-1', ...env },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** What audit:verify prints first: the witness the gateway wrote by default (development) holds gw-1's opening checkpoint and the one at 5. */
const witnessLine = () => `witness ${witnessFile}: 2 checkpoints of 1 chain\n`;

/**
 * Five records of gw-1 in the first half of 2020, closed (so checkpointed at 5), in
 * `<dataDir>/audit.sqlite`, its checkpoints also in the default witness file.
 */
beforeEach(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'proofless-audit-cli-'));
  witnessFile = path.join(dataDir, 'audit-witness.jsonl');
  const store = await openSqliteAuditStore(path.join(dataDir, 'audit.sqlite'));
  const log = await openAuditLog({ store, chainId: 'gw-1', signingKeyFile: signingKeyFileIn(dataDir), witnessFile });
  records = [];
  for (let m = 1; m <= 5; m += 1) records.push(await log.record(auditEntry({ requestId: `req-${m}`, time: `2020-0${m}-15T08:00:00.000Z` })));
  await log.close();
  await store.close();
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

function tamper(sql: string): void {
  const db = new Database(path.join(dataDir, 'audit.sqlite'));
  db.exec(sql);
  db.close();
}

describe('audit-verify', () => {
  test('a good chain: the witness it was checked against, one line per chain, exit 0', () => {
    expect(run('audit-verify', [])).toEqual({ status: 0, stdout: `${witnessLine()}chain gw-1: ok, 5 records, last sequence 5, last checkpoint 5\n`, stderr: '' });
  });

  test('a tampered chain: the line names the first bad sequence, exit 1', () => {
    tamper("DELETE FROM audit_record WHERE sequence = 3");
    expect(run('audit-verify', [])).toEqual({
      status: 1,
      stdout: `${witnessLine()}chain gw-1: BAD at record 3: record 3 missing: sequence jumps from 2 to 4 (4 records, last sequence 5, last checkpoint 5)\n`,
      stderr: '',
    });
  });

  test('the tail cut with its checkpoints: the witness catches it, here or copied to other storage (--witness), exit 1', () => {
    const kept = path.join(dataDir, 'elsewhere-witness.jsonl');
    copyFileSync(witnessFile, kept);
    tamper(`DELETE FROM audit_record WHERE sequence >= 4; DELETE FROM audit_record_citizen WHERE sequence >= 4;
      DELETE FROM audit_checkpoint WHERE sequence >= 4`);
    const line = (file: string) => `chain gw-1: BAD at record 4: checkpoint at 5 (witness ${file}) is past the last record 3: the tail was cut (3 records, last sequence 3, no checkpoint)\n`;
    expect(run('audit-verify', [])).toEqual({ status: 1, stdout: `${witnessLine()}${line(witnessFile)}`, stderr: '' });
    rmSync(witnessFile);
    expect(run('audit-verify', ['--witness', kept])).toEqual({ status: 1, stdout: `witness ${kept}: 2 checkpoints of 1 chain\n${line(kept)}`, stderr: '' });
    // Without any witness the cut cannot be seen: the window README states.
    expect(run('audit-verify', [])).toEqual({ status: 0, stdout: 'chain gw-1: ok, 3 records, last sequence 3, no checkpoint\n', stderr: '' });
  });

  test('a chain deleted: missing, named by --chains, PROOFLESS_AUDIT_EXPECTED_CHAINS, the instance\'s own chain or a witness, exit 1', () => {
    const missing = (chainId: string, why: string) =>
      `chain ${chainId}: BAD: chain missing: the store holds no record, checkpoint or anchor of it, but ${why} (0 records, last sequence 0, no checkpoint)\n`;
    const ok = 'chain gw-1: ok, 5 records, last sequence 5, last checkpoint 5\n';
    expect(run('audit-verify', ['--chains', 'gw-1,gw-9'])).toEqual({ status: 1, stdout: `${witnessLine()}${ok}${missing('gw-9', '--chains names it')}`, stderr: '' });
    expect(run('audit-verify', [], { PROOFLESS_AUDIT_EXPECTED_CHAINS: 'gw-8, gw-1' })).toEqual({
      status: 1, stdout: `${witnessLine()}${ok}${missing('gw-8', 'PROOFLESS_AUDIT_EXPECTED_CHAINS names it')}`, stderr: '',
    });
    expect(run('audit-verify', [], { PROOFLESS_AUDIT_CHAIN_ID: 'gw-7' })).toEqual({
      status: 1, stdout: `${witnessLine()}${ok}${missing('gw-7', 'it is this instance\'s own chain (PROOFLESS_AUDIT_CHAIN_ID)')}`, stderr: '',
    });
    tamper("DELETE FROM audit_record; DELETE FROM audit_record_citizen; DELETE FROM audit_checkpoint");
    expect(run('audit-verify', [])).toEqual({ status: 1, stdout: `${witnessLine()}${missing('gw-1', `witness ${witnessFile} saw checkpoint 5 of it`)}`, stderr: '' });
  });

  test('a citizen deleted from the citizen index: the line says how many of which record\'s citizens, never an ID number, exit 1', () => {
    tamper(`DELETE FROM audit_record_citizen WHERE id_number = '${records[0].citizens[0]}'`);
    const result = run('audit-verify', []);
    expect(result).toEqual({
      status: 1,
      stdout: `${witnessLine()}chain gw-1: BAD at record 1: citizen index lacks 1 of record 1's citizens (5 records, last sequence 5, last checkpoint 5)\n`,
      stderr: '',
    });
  });

  test('a chain ID holding terminal control sequences cannot print over the verdict on another chain: it is reported, escaped, exit 1', () => {
    // Red team, issue 16: chain IDs read back from the store were printed as they were. A writer of the store
    // adds a row whose chain ID moves the cursor up, erases the line, prints "chain gw-1: ok ..." and conceals
    // the rest: on an operator's terminal the real "chain gw-1: BAD" line above it showed as ok.
    tamper("UPDATE audit_record SET officer = 'officer-framed' WHERE chain_id = 'gw-1' AND sequence = 3");
    const chainId = 'zz\x1b[1A\x1b[2K\rchain gw-1: ok, 5 records, last sequence 5, last checkpoint 5\x1b[8m';
    const db = new Database(path.join(dataDir, 'audit.sqlite'));
    db.prepare(`INSERT INTO audit_record (chain_id, sequence, previous_hash, hash, time, request_id, coordinates, citizens, departments, outcome, error_codes, latency_ms)
      VALUES (?, 1, ?, ?, '2020-01-01T00:00:00.000Z', 'r', '[]', '[]', '[]', 'ok', '[]', 1)`).run(chainId, '0'.repeat(64), '0'.repeat(64));
    db.close();
    const result = run('audit-verify', []);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('chain gw-1: BAD at record 3: record 3: hash does not match its contents');
    expect(/[\u0000-\u0008\u000b-\u001f\u007f]/.test(result.stdout)).toBe(false);
    expect(result).toEqual({
      status: 1,
      stdout: `${witnessLine()}chain "zz\\u001b[1A\\u001b[2K\\u000dchain gw-1: ok, 5 records, last sequence 5, last checkpoint 5\\u001b[8m": BAD: ` +
        'chain ID malformed: not 1 to 128 letters, digits, \'.\', \'_\', \':\' or \'-\', so no gateway wrote this chain (1 record, last sequence 1, no checkpoint)\n' +
        'chain gw-1: BAD at record 3: record 3: hash does not match its contents (5 records, last sequence 5, last checkpoint 5)\n',
      stderr: '',
    });
  });

  test.each([
    [['--bogus'], "audit-verify: Unknown option '--bogus'\n"],
    [['--chains', 'gw 1'], 'audit-verify: each chain in --chains must be 1 to 128 letters, digits, \'.\', \'_\', \':\' or \'-\', got "gw 1"\n'],
    [['--archive', 'a.jsonl', '--witness', 'w.jsonl'], 'audit-verify: --archive checks an archive file, --department a department\'s access log; --chains, --witness, --department-log and --max-unwitnessed-seconds check the store: give one of them\n'],
    [['--witness', 'a.jsonl,'], 'audit-verify: --witness must name a file, got ""\n'],
  ])('%j: a message and the usage, exit 2, no stack trace', (args, message) => {
    expect(run('audit-verify', args)).toEqual({
      status: 2,
      stdout: '',
      stderr: `${message}usage: npm run audit:verify -- [--chains ID,...] [--witness FILE]... [--department-log NAME]... [--max-unwitnessed-seconds N] | --archive FILE | --department NAME\n`,
    });
  });

  test('a witness file that cannot be read: exit 1, naming it', () => {
    const absent = path.join(dataDir, 'absent.jsonl');
    expect(run('audit-verify', ['--witness', absent])).toEqual({ status: 1, stdout: '', stderr: `audit-verify: cannot read the audit witness file ${absent}: ENOENT\n` });
  });

  test('a bad setting names the variable without echoing a URL that may hold a password, exit 2', () => {
    expect(run('audit-verify', [], { PROOFLESS_AUDIT_DATABASE_URL: 'mysql://root:secret@db/audit' })).toEqual({
      status: 2,
      stdout: '',
      stderr: 'audit-verify: PROOFLESS_AUDIT_DATABASE_URL must be a postgres or postgresql URL\n',
    });
  });

  test('no log where the configuration points: exit 1, and no empty log is created', () => {
    const elsewhere = path.join(dataDir, 'elsewhere');
    expect(run('audit-verify', [], { PROOFLESS_DATA_DIR: elsewhere, PROOFLESS_AUDIT_KEY_FILE: path.join(dataDir, 'audit-signing-key.pem') })).toEqual({
      status: 1,
      stdout: '',
      stderr: `audit-verify: no audit log at ${path.join(elsewhere, 'audit.sqlite')}\n`,
    });
  });

  test('PostgreSQL, chosen by PROOFLESS_AUDIT_DATABASE_URL', async () => {
    const target = await AUDIT_STORE_KINDS[1].create();
    try {
      const pgWitness = path.join(dataDir, 'pg-witness.jsonl');
      const log = await openAuditLog({ store: target.store, chainId: 'gw-pg', signingKeyFile: path.join(dataDir, 'audit-signing-key.pem'), witnessFile: pgWitness });
      await log.record(auditEntry());
      await log.close();
      const schema = target.childArguments[2];
      const env = { PROOFLESS_AUDIT_DATABASE_URL: TEST_DATABASE_URL, PROOFLESS_AUDIT_WITNESS_FILE: pgWitness };
      expect(run('audit-verify', [], { ...env, PROOFLESS_AUDIT_DATABASE_SCHEMA: schema })).toEqual({
        status: 0,
        stdout: `witness ${pgWitness}: 2 checkpoints of 1 chain\nchain gw-pg: ok, 1 record, last sequence 1, last checkpoint 1\n`,
        stderr: '',
      });
      expect(run('audit-verify', [], { ...env, PROOFLESS_AUDIT_DATABASE_SCHEMA: 'no_such_audit_schema' })).toEqual({
        status: 1,
        stdout: '',
        stderr: 'audit-verify: no audit log in PostgreSQL 127.0.0.1:5432/test, schema no_such_audit_schema\n',
      });
    } finally {
      await target.remove();
    }
  });
});

describe('audit-export', () => {
  test('JSON Lines on stdout, oldest first, [from, to)', () => {
    const result = run('audit-export', ['--from', '2020-02-15T08:00:00Z', '--to', '2020-04-15T08:00:00Z']);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual(records.slice(1, 3));
  });

  test('--out writes a new file and says how many records went in', () => {
    const out = path.join(dataDir, 'siem.jsonl');
    expect(run('audit-export', ['--from', '2020-01-01', '--to', '2021-01-01', '--out', out])).toEqual({
      status: 0,
      stdout: `exported 5 records from 2020-01-01T00:00:00.000Z to 2021-01-01T00:00:00.000Z into ${out}\n`,
      stderr: '',
    });
    expect(readFileSync(out, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual(records);
    expect(run('audit-export', ['--from', '2020-01-01', '--to', '2021-01-01', '--out', out])).toEqual({
      status: 2,
      stdout: '',
      stderr: `audit-export: --out ${out} already exists: an export never overwrites a file\n`,
    });
  });

  test('a record standing for several requests carries its count', async () => {
    const store = await openSqliteAuditStore(path.join(dataDir, 'audit.sqlite'));
    const log = await openAuditLog({ store, chainId: 'gw-1', signingKeyFile: signingKeyFileIn(dataDir), witnessFile });
    const aggregate = await log.record(auditEntry({ requestId: 'refusals', time: '2020-06-15T08:00:00.000Z', outcome: 'refused', requests: 12 }));
    await log.close();
    await store.close();
    const result = run('audit-export', ['--from', '2020-06-01', '--to', '2020-07-01']);
    expect(result).toEqual({ status: 0, stdout: `${JSON.stringify(aggregate)}\n`, stderr: '' });
    expect(JSON.parse(result.stdout)).toMatchObject({ requestId: 'refusals', requests: 12 });
  });

  test.each([
    [['--to', '2020-01-01'], 'audit-export: --from is required\nusage: npm run --silent audit:export -- --from ISO --to ISO [--out FILE]\n'],
    [['--from', 'yesterday', '--to', '2020-01-01'], 'audit-export: --from must be an ISO instant such as 2024-06-01T09:30:00Z, got "yesterday"\n'],
    [['--from', '2020-02-01', '--to', '2020-01-01'], 'audit-export: --from must be before --to, got --from 2020-02-01T00:00:00.000Z and --to 2020-01-01T00:00:00.000Z\n'],
  ])('%j: exit 2 with %j', (args, stderr) => {
    expect(run('audit-export', args)).toEqual({ status: 2, stdout: '', stderr });
  });
});

describe('audit-archive', () => {
  test('archives, and both the store and the archive verify afterwards', () => {
    const out = path.join(dataDir, '2020-q1.jsonl');
    expect(run('audit-archive', ['--before', '2020-04-01', '--out', out])).toEqual({
      status: 0,
      stdout: `chain gw-1: archived records 1 to 3 into ${out}; the chain continues at 4\n`,
      stderr: '',
    });
    expect(run('audit-verify', [])).toEqual({ status: 0, stdout: `${witnessLine()}chain gw-1: ok, 2 records, last sequence 5, last checkpoint 5\n`, stderr: '' });
    expect(run('audit-verify', ['--archive', out])).toEqual({
      status: 0,
      stdout: `chain gw-1 in ${out}: ok, 3 records, last sequence 3, no checkpoint\n`,
      stderr: '',
    });
  });

  test('refuses a cut inside the retention period: exit 2, nothing written', () => {
    const out = path.join(dataDir, 'recent.jsonl');
    const result = run('audit-archive', ['--before', '2099-01-01', '--out', out], { PROOFLESS_AUDIT_RETENTION_YEARS: '5' });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^audit-archive: before 2099-01-01T00:00:00.000Z is within the retention period of 5 years: only records before \d{4}-\d\d-\d\dT[\d:.]+Z may be archived\n$/);
    expect(run('audit-verify', []).stdout).toBe(`${witnessLine()}chain gw-1: ok, 5 records, last sequence 5, last checkpoint 5\n`);
  });

  test('archives only what verifies with the configured witness and the chains that must exist: exit 1, nothing written or removed', () => {
    // The tail cut with its checkpoints: the store alone verifies, the witness the gateway wrote does not agree.
    tamper(`DELETE FROM audit_record WHERE sequence >= 4; DELETE FROM audit_record_citizen WHERE sequence >= 4;
      DELETE FROM audit_checkpoint WHERE sequence >= 4`);
    const out = path.join(dataDir, '2020-q1.jsonl');
    expect(run('audit-archive', ['--before', '2020-04-01', '--out', out])).toEqual({
      status: 1,
      stdout: '',
      stderr: `audit-archive: chain gw-1 does not verify (checkpoint at 5 (witness ${witnessFile}) is past the last record 3: the tail was cut); nothing was archived\n`,
    });
    rmSync(witnessFile);
    expect(run('audit-archive', ['--before', '2020-04-01', '--out', out], { PROOFLESS_AUDIT_EXPECTED_CHAINS: 'gw-1,gw-2' })).toEqual({
      status: 1,
      stdout: '',
      stderr: 'audit-archive: chain gw-2 does not verify (chain missing: the store holds no record, checkpoint or anchor of it, but PROOFLESS_AUDIT_EXPECTED_CHAINS names it); nothing was archived\n',
    });
    expect(existsSync(out)).toBe(false);
    expect(run('audit-verify', []).stdout).toBe('chain gw-1: ok, 3 records, last sequence 3, no checkpoint\n');
  });

  test('--out is required', () => {
    expect(run('audit-archive', ['--before', '2020-04-01'])).toEqual({
      status: 2,
      stdout: '',
      stderr: 'audit-archive: --out must name a new file\nusage: npm run audit:archive -- --before ISO --out FILE\n',
    });
  });
});
