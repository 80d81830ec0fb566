import http from 'node:http';
import https from 'node:https';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { issueCertificate } from '../lib/pki';
import { departmentStandInTlsOptions, mutualTlsAgentOptions, testPkiDir } from './helpers/federation-security';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { ZHANG_WEI } from './fixtures/registries';
import type { AuditStore } from '../audit/store';
import { readinessCheck } from '../gateway/health';
import { openAuditLog } from '../audit/log';
import { AUDIT_STORE_KINDS, auditEntry, signingKeyFileIn, type AuditStoreTarget } from './helpers/audit-stores';
import { spawnGateway } from './helpers/gateway-process';
import { startStack, useFixtureStack } from './helpers/stack';
import { closedPort } from './helpers/closed-port';

/** `/healthz` and `/readyz` for load balancers, and SIGTERM draining what is in flight. */
const city = useFixtureStack();

const origin = (graphqlUrl: string) => new URL(graphqlUrl).origin;

async function getJson(url: string): Promise<{ status: number; body: any; contentType: string | null }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json(), contentType: response.headers.get('content-type') };
}

const everyDepartment = (state: { isReachable: boolean; circuit: string }) =>
  Object.fromEntries(['household', 'residence', 'license', 'service', 'audit'].map((name) => [name, state]));

test('/healthz says the process is alive, and checks nothing else', async () => {
  expect(await getJson(`${origin(city.stack.gatewayUrl)}/healthz`)).toEqual({
    status: 200,
    body: { status: 'alive' },
    contentType: 'application/json; charset=utf-8',
  });
});

test('/readyz is ready when every department and the audit store answer, and says which it reached', async () => {
  expect(await getJson(`${origin(city.stack.gatewayUrl)}/readyz`)).toEqual({
    status: 200,
    body: {
      status: 'ready',
      departments: everyDepartment({ isReachable: true, circuit: 'closed' }),
      auditStore: { isReachable: true, isWritable: true },
      redis: { isConfigured: false },
      certificates: certificatesOf(['gateway', 'household', 'residence', 'license', 'service', 'audit'], false),
    },
    contentType: 'application/json; charset=utf-8',
  });
});

/**
 * `/readyz` of a stack just started, asked again (at most 5 times) while it is not ready:
 * its first check opens a TLS connection to each department and is each department's
 * first access-log write, and on a loaded CI host that once passed the check's 1 s timeout
 * for every department at once (503, unavailable). A later check of a warm stack is what
 * this test is about.
 */
async function readyzOnceWarm(gatewayUrl: string): Promise<{ status: number; body: any }> {
  let answer = await getJson(`${origin(gatewayUrl)}/readyz`);
  for (let attempt = 1; attempt < 5 && answer.body.status !== 'ready'; attempt += 1) answer = await getJson(`${origin(gatewayUrl)}/readyz`);
  return answer;
}

/** Every certificate `/readyz` should report: the gateway's own, and each department's as it presented it in a handshake. */
function certificatesOf(names: string[], isExpiringSoon: boolean) {
  return Object.fromEntries(names.map((name) => [name, { notAfter: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), daysLeft: expect.any(Number), isExpiringSoon }]));
}

test('a certificate within the warning period is reported as expiring, in /readyz and the metrics; the gateway stays ready', async () => {
  // A gateway certificate of the test CA that lives 5 days.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'proofless-short-cert-'));
  for (const file of ['ca.pem', 'ca-key.pem']) copyFileSync(path.join(testPkiDir(), file), path.join(dir, file));
  const issued = await issueCertificate(dir, 'gateway', { days: 5 });
  const stack = await startStack({ dataDir: city.dataDir, env: { PROOFLESS_TLS_CERT_FILE: issued.certFile, PROOFLESS_TLS_KEY_FILE: issued.keyFile } });
  try {
    const { status, body } = await readyzOnceWarm(stack.gatewayUrl);
    expect({ status, readiness: body.status, gateway: body.certificates.gateway, household: body.certificates.household.isExpiringSoon }).toEqual({
      status: 200, readiness: 'ready', gateway: { notAfter: issued.notAfter.toISOString(), daysLeft: 4, isExpiringSoon: true }, household: false,
    });
    const metrics = await fetch(`${origin(stack.gatewayUrl)}/metrics`).then((response) => response.text());
    const seconds = Number(metrics.split('\n').find((line) => line.startsWith('proofless_tls_certificate_expiry_seconds{certificate="gateway"}'))?.split(' ')[1]);
    expect(seconds).toBeGreaterThan(4 * 86400);
    expect(seconds).toBeLessThanOrEqual(5 * 86400);
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('/readyz reports Redis when configured', async () => {
  const stack = await startStack({ dataDir: city.dataDir, env: { PROOFLESS_REDIS_URL: 'redis://127.0.0.1:6379' } });
  try {
    expect((await getJson(`${origin(stack.gatewayUrl)}/readyz`)).body).toMatchObject({ status: 'ready', redis: { isConfigured: true, isReachable: true } });
  } finally {
    await stack.stop();
  }
});

test('a department that is down makes the gateway degraded, still 200: the other departments are still served', async () => {
  const deadPort = await closedPort();
  const stack = await startStack({ dataDir: city.dataDir, env: { PROOFLESS_RESIDENCE_URL: `https://127.0.0.1:${deadPort}/graphql` } });
  try {
    const { status, body } = await getJson(`${origin(stack.gatewayUrl)}/readyz`);
    expect(status).toBe(200);
    expect(body).toEqual({
      status: 'degraded',
      departments: { ...everyDepartment({ isReachable: true, circuit: 'closed' }), residence: { isReachable: false, circuit: 'closed' } },
      auditStore: { isReachable: true, isWritable: true },
      redis: { isConfigured: false },
      // The residence department presented no certificate: nothing answers at its port.
      certificates: certificatesOf(['gateway', 'household', 'license', 'service', 'audit'], false),
    });
  } finally {
    await stack.stop();
  }
});

test('with no department reachable the gateway is unavailable: 503', async () => {
  const deadUrl = `https://127.0.0.1:${await closedPort()}/graphql`;
  const env = Object.fromEntries(['HOUSEHOLD', 'RESIDENCE', 'LICENSE', 'SERVICE', 'AUDIT'].map((name) => [`PROOFLESS_${name}_URL`, deadUrl]));
  const stack = await startStack({ dataDir: city.dataDir, env });
  try {
    const { status, body } = await getJson(`${origin(stack.gatewayUrl)}/readyz`);
    expect(status).toBe(503);
    expect(body).toMatchObject({ status: 'unavailable', departments: everyDepartment({ isReachable: false, circuit: 'closed' }), auditStore: { isReachable: true } });
  } finally {
    await stack.stop();
  }
});

test('with the audit store out of reach the gateway is unavailable (it could release nothing), and draining is never ready', async () => {
  // The store is injected: a store that fails its read plays a database that is down.
  const unreachableStore = { readHead: () => Promise.reject(new Error('connection refused')) } as unknown as AuditStore;
  const readiness = readinessCheck({ departments: new Map(), auditStore: unreachableStore, chainId: 'test', checkTimeoutMs: 200 });
  const server = http.createServer((req, res) => void readiness.route(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
  try {
    expect(await getJson(url)).toMatchObject({ status: 503, body: { status: 'unavailable', auditStore: { isReachable: false, isWritable: false } } });
    readiness.startDraining();
    expect(await getJson(url)).toMatchObject({ status: 503, body: { status: 'draining' } });
  } finally {
    server.close();
  }
});

test('with the audit store refusing writes (a full disk) every answer is 503, and so is /readyz; once it takes writes again, ready', async () => {
  const db = new Database(path.join(city.dataDir, 'audit.sqlite'));
  // What a full disk does to every write: the database refuses it. The probe table is refused too: it is no way round.
  const tables = ['audit_record', 'audit_checkpoint', 'audit_probe'];
  for (const table of tables) {
    for (const event of ['INSERT', 'UPDATE']) db.exec(`CREATE TRIGGER full_${table}_${event} BEFORE ${event} ON ${table} BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
  }
  try {
    const refused = await city.stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`, undefined, await city.stack.serviceHeaders());
    expect(refused.status).toBe(503);
    expect(refused.body.errors[0].extensions).toEqual({ code: 'AUDIT_UNAVAILABLE' });
    const { status, body } = await getJson(`${origin(city.stack.gatewayUrl)}/readyz`);
    expect({ status, body }).toEqual({
      status: 503,
      body: { status: 'unavailable', departments: everyDepartment({ isReachable: true, circuit: 'closed' }), auditStore: { isReachable: true, isWritable: false }, redis: { isConfigured: false }, certificates: certificatesOf(['gateway', 'household', 'residence', 'license', 'service', 'audit'], false) },
    });
  } finally {
    for (const table of tables) db.exec(`DROP TRIGGER full_${table}_INSERT; DROP TRIGGER full_${table}_UPDATE`);
    db.close();
  }
  expect(await getJson(`${origin(city.stack.gatewayUrl)}/readyz`)).toMatchObject({ status: 200, body: { status: 'ready', auditStore: { isReachable: true, isWritable: true } } });
});

test('with the audit store refusing records (but not the probe table), every answer is 503, and so is /readyz', async () => {
  // Red team, issue 16: the failed record write made the next check probe, the probe wrote its own table and
  // succeeded, and that cleared the failure: /readyz said ready (200, isWritable: true) while every answer was 503.
  const db = new Database(path.join(city.dataDir, 'audit.sqlite'));
  db.exec("CREATE TRIGGER refuse_records BEFORE INSERT ON audit_record BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
  try {
    const refused = await city.stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`);
    expect({ status: refused.status, body: refused.body }).toEqual({
      status: 503,
      body: { errors: [{ message: 'the audit log cannot be written; no data is released until it can', extensions: { code: 'AUDIT_UNAVAILABLE' } }] },
    });
    const readiness = await getJson(`${origin(city.stack.gatewayUrl)}/readyz`);
    expect({ status: readiness.status, readiness: readiness.body.status, auditStore: readiness.body.auditStore }).toEqual({
      status: 503,
      readiness: 'unavailable',
      auditStore: { isReachable: true, isWritable: false },
    });
  } finally {
    db.exec('DROP TRIGGER refuse_records');
    db.close();
  }
  expect(await getJson(`${origin(city.stack.gatewayUrl)}/readyz`)).toMatchObject({ status: 200, body: { status: 'ready', auditStore: { isReachable: true, isWritable: true } } });
});

describe.each(AUDIT_STORE_KINDS)('readiness on a $name store that stops taking writes while idle', (kind) => {
  let target: AuditStoreTarget;
  beforeEach(async () => {
    target = await kind.create();
  });
  afterEach(() => target.remove());

  test('a write probe, at most once per interval while writes succeed, and at every check after one failed', async () => {
    let now = 0;
    const probes: string[] = [];
    const store: AuditStore = {
      ...target.store,
      async probeWrite(writerId) {
        probes.push(writerId);
        await target.store.probeWrite(writerId);
      },
      hasRecordWriteFailed: () => target.store.hasRecordWriteFailed(),
    };
    const readiness = readinessCheck({ departments: new Map(), auditStore: store, chainId: 'gw-1', probeIntervalMs: 10_000, clock: () => now });
    const server = http.createServer((req, res) => void readiness.route(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
    const auditStore = async () => {
      const { status, body } = await getJson(url);
      return { status, auditStore: body.auditStore };
    };
    const WRITABLE = { status: 200, auditStore: { isReachable: true, isWritable: true } };
    const FULL = { status: 503, auditStore: { isReachable: true, isWritable: false } };
    try {
      // No department is configured here, which alone would be unavailable: only the audit store is looked at.
      expect((await auditStore()).auditStore).toEqual(WRITABLE.auditStore);
      expect(probes).toEqual(['gw-1']);
      for (const statement of target.failEveryWrite) await target.sql(statement);
      now += 9_999;
      expect((await auditStore()).auditStore).toEqual(WRITABLE.auditStore);
      expect(probes).toEqual(['gw-1']);
      now += 1;
      expect(await auditStore()).toEqual(FULL);
      expect(await auditStore()).toEqual(FULL);
      expect(probes).toEqual(['gw-1', 'gw-1', 'gw-1']);
      for (const statement of target.allowWrites) await target.sql(statement);
      expect((await auditStore()).auditStore).toEqual(WRITABLE.auditStore);
      expect(probes).toHaveLength(4);
    } finally {
      server.close();
    }
  });

  test('records refused while checkpoints and the probe table still take writes: not writable until a record could be written again', async () => {
    const readiness = readinessCheck({ departments: new Map(), auditStore: target.store, chainId: 'gw-1', probeIntervalMs: 10_000, clock: () => 0 });
    const server = http.createServer((req, res) => void readiness.route(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
    const auditStore = async () => (await getJson(url)).body.auditStore;
    const log = await openAuditLog({ store: target.store, chainId: 'gw-1', signingKeyFile: signingKeyFileIn(target.folder) });
    try {
      expect(await auditStore()).toEqual({ isReachable: true, isWritable: true });
      for (const statement of target.failRecordWrites) await target.sql(statement);
      await expect(log.record(auditEntry())).rejects.toThrow(`could not write 1 audit record(s) of chain gw-1 to ${target.store.location}`);
      // A checkpoint row still goes in, which proves nothing about records.
      await target.store.appendCheckpoint({ ...(await target.store.lastCheckpoint('gw-1'))!, sequence: 1 });
      expect(target.store.hasRecordWriteFailed()).toBe(true);
      // The probe table alone would take the probe: the record it tries and rolls back is refused.
      expect(await auditStore()).toEqual({ isReachable: true, isWritable: false });
      expect(await auditStore()).toEqual({ isReachable: true, isWritable: false });
      expect(await target.sql(`SELECT sequence FROM ${target.table('audit_record')} WHERE chain_id = 'gw-1'`)).toEqual([]);
      for (const statement of target.allowRecordWrites) await target.sql(statement);
      expect(await auditStore()).toEqual({ isReachable: true, isWritable: true });
      // The probe's record was rolled back: nothing of it is in the chain or the citizen index.
      expect(await target.sql(`SELECT sequence FROM ${target.table('audit_record')}`)).toEqual([]);
      expect((await log.record(auditEntry())).sequence).toBe(1);
    } finally {
      server.close();
      await log.close().catch(() => undefined);
    }
  });
});

test('SIGTERM: the request in flight is answered in full, /readyz is not ready meanwhile, then the gateway exits 0', async () => {
  const { stack, dataDir } = city;
  // A residence department that holds its answer until told, so a request is in flight at SIGTERM.
  let release: () => void = () => undefined;
  let held: () => void = () => undefined;
  const isHeld = new Promise<void>((resolve) => (held = resolve));
  // It meets the gateway over mutual TLS as a department would, and passes the signed request on unchanged.
  const slowResidence = https.createServer(departmentStandInTlsOptions(), (req, res) => {
    held();
    const upstream = https.request(stack.subgraphs.residence.url, { method: 'POST', headers: req.headers, ...mutualTlsAgentOptions('residence') }, (answer) => {
      new Promise<void>((resolve) => (release = resolve)).then(() => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => slowResidence.listen(0, '127.0.0.1', resolve));
  const { child: gateway, url, exited } = await spawnGateway(stack, dataDir, 'drain-test', {
    PROOFLESS_RESIDENCE_URL: `https://127.0.0.1:${(slowResidence.address() as AddressInfo).port}/graphql`,
  });
  try {
    const inFlight = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await stack.serviceHeaders()) },
      body: JSON.stringify({ query: `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } residence { status } } }` }),
    });
    await isHeld;
    gateway.kill('SIGTERM');
    // New connections are refused while the request in flight waits for its department.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(fetch(`${origin(url)}/readyz`)).rejects.toThrow();
    expect(gateway.exitCode).toBeNull();
    release();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { citizen: { identity: { name: '张伟' }, residence: { status: 'HOUSEHOLD_ADDRESS' } } } });
    expect(await exited).toBe(0);
  } finally {
    gateway.kill('SIGKILL');
    slowResidence.close();
  }
});

