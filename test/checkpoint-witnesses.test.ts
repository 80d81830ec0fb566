import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { RECEIPT_HEADER } from '../audit/exchange';
import { openAuditLog } from '../audit/log';
import { loadSigningKey, signCheckpoint } from '../audit/signing';
import { openSqliteAuditStore } from '../audit/sqlite-store';
import type { SignedCheckpoint } from '../audit/store';
import { checkpointWitnesses, type CheckpointWitnesses } from '../gateway/checkpoint-witnesses';
import type { GatewayContext } from '../gateway/context';
import { DepartmentDataSource } from '../gateway/data-source';
import { departmentFetcher } from '../gateway/department-fetch';
import { departmentTransportFromEnv, openDepartmentTransport, type DepartmentTransport } from '../gateway/department-transport';
import { createRequestVerifier } from '../lib/http-signatures';
import { loadTrustList } from '../lib/trust-list';
import { auditEntry, signingKeyFileIn } from './helpers/audit-stores';
import { startFaultServer, type FaultServer, type ReceivedRequest } from './helpers/fault-server';
import { testSigningKey, transportEnv } from './helpers/federation-security';

/**
 * Witnessed checkpoints, gateway -> departments (issue 18): each checkpoint of the
 * gateway's chain goes, signed like every call, to every department the gateway called
 * since the one before; one that does not take it is sent the next. A stand-in
 * department over mutual TLS receives the pushes; the gateway side is the real data
 * source, transport and signer.
 */
const ANSWER = { data: { _entities: [{ residence: { status: 'REGISTERED' } }] } };

let faults: FaultServer;
let transport: DepartmentTransport;
let folder: string;

beforeAll(async () => {
  faults = await startFaultServer({ isDepartment: true });
  transport = openDepartmentTransport(departmentTransportFromEnv({ ...transportEnv(), NODE_ENV: 'test' }));
  folder = mkdtempSync(path.join(os.tmpdir(), 'proofless-witnesses-'));
});

afterAll(async () => {
  transport.close();
  await faults.stop();
  rmSync(folder, { recursive: true, force: true });
});

beforeEach(() => faults.clear());

afterEach(() => {
  expect({ pending: faults.pendingAnswers(), unexpected: faults.unexpectedRequests() }).toEqual({ pending: [], unexpected: [] });
});

/** Two departments played by the one stand-in, their calls noted by `witnesses`, and every push counted in `pushes`. */
function federation() {
  const pushes: [string, boolean][] = [];
  const departments = new Map<string, DepartmentDataSource>();
  const witnesses: CheckpointWitnesses = checkpointWitnesses({
    send: (name, checkpoint) => (departments.get(name) as DepartmentDataSource).witnessCheckpoint(checkpoint),
    observe: (department, isDelivered) => pushes.push([department, isDelivered]),
  });
  for (const name of ['household', 'residence']) {
    departments.set(name, new DepartmentDataSource(name, faults.url, {
      fetcher: departmentFetcher({ timeoutMs: 2000, tls: transport.tlsFor(name) }),
      sign: transport.sign,
      receipts: transport.receipts,
      onCalled: witnesses.noteCalled,
    }));
  }
  const call = async (name: string) => {
    faults.next().reply(200, ANSWER);
    const context = { departmentsCalled: new Set<string>() };
    await (departments.get(name) as DepartmentDataSource).process({
      kind: 'incoming operation',
      request: { query: '{ __typename }' },
      incomingRequestContext: { context, request: { http: { headers: new Headers({ 'x-request-id': 'req-witness' }) } }, overallCachePolicy: { restrict: () => undefined } },
      context,
    } as unknown as GraphQLDataSourceProcessOptions<GatewayContext>);
  };
  return { witnesses, call, pushes };
}

let sequence = 0;
function gatewayCheckpoint(): SignedCheckpoint {
  sequence += 1;
  return signCheckpoint({ chainId: 'gw-test', sequence, hash: 'b'.repeat(64), time: new Date().toISOString(), previous: null }, loadSigningKey(signingKeyFileIn(folder)));
}

/** The pushes the stand-in received (the calls left out), as a department reads them: whom for, where, and what. */
function pushesReceived(): { department: unknown; method: string; path: string; contentType: unknown; checkpoint: unknown }[] {
  return faults.received().filter((request) => request.path === '/audit/witness').map((request) => ({
    department: request.headers['x-proofless-department'],
    method: request.method,
    path: request.path,
    contentType: request.headers['content-type'],
    checkpoint: JSON.parse(request.body),
  }));
}

/** Whether the request carries the gateway's valid signature, as a department checks it. */
function isSignedByGateway(request: ReceivedRequest): boolean {
  const verify = createRequestVerifier({ trustList: () => loadTrustList(testSigningKey().trustListFile) });
  const rawHeaders = Object.entries(request.headers).flatMap(([name, value]) => [name, String(value)]);
  return verify({ method: request.method, targetUri: `https://${request.headers.host}${request.path}`, rawHeaders, body: Buffer.from(request.body) }).ok;
}

test('a checkpoint goes, signed, to the departments called since the last one, and to no other', async () => {
  const { witnesses, call, pushes } = federation();
  await call('household');
  await call('household');
  const checkpoint = gatewayCheckpoint();
  faults.next().reply(200, {});
  await witnesses.witness(checkpoint);
  expect(pushesReceived()).toEqual([{ department: 'household', method: 'POST', path: '/audit/witness', contentType: 'application/json', checkpoint }]);
  const push = faults.received()[2];
  expect(isSignedByGateway(push)).toBe(true);
  expect(push.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(pushes).toEqual([['household', true]]);

  // Nothing called since: the next checkpoint goes nowhere.
  faults.clear();
  await witnesses.witness(gatewayCheckpoint());
  expect(faults.requestsReceived).toBe(0);
});

test('a department that did not take a checkpoint is sent the next one', async () => {
  const { witnesses, call, pushes } = federation();
  await call('residence');
  faults.next().reply(500, { errors: [{ message: 'down' }] });
  await witnesses.witness(gatewayCheckpoint());
  // A 200 without a receipt is not taken either: the department did not vouch for it.
  faults.next().reply(200, {}, () => ({ 'content-type': 'application/json' }));
  await witnesses.witness(gatewayCheckpoint());
  const third = gatewayCheckpoint();
  faults.next().reply(200, {});
  await witnesses.witness(third);
  expect(pushes).toEqual([['residence', false], ['residence', false], ['residence', true]]);
  expect(pushesReceived().map((push) => [push.department, (push.checkpoint as SignedCheckpoint).sequence])).toEqual([
    ['residence', third.sequence - 2],
    ['residence', third.sequence - 1],
    ['residence', third.sequence],
  ]);
  expect(faults.received().every((request) => request.path !== '/audit/witness' || isSignedByGateway(request))).toBe(true);
});

test('a push answered with a receipt that does not read is not taken', async () => {
  const { witnesses, call, pushes } = federation();
  await call('household');
  faults.next().reply(200, {}, (exchange) => ({ [RECEIPT_HEADER]: exchange.validReceipt().split('').reverse().join('') }));
  await witnesses.witness(gatewayCheckpoint());
  expect(pushes).toEqual([['household', false]]);
});

test('the audit log tells onCheckpoint of each checkpoint once the store holds it', async () => {
  const store = await openSqliteAuditStore(path.join(folder, 'audit.sqlite'));
  const told: SignedCheckpoint[] = [];
  const log = await openAuditLog({ store, chainId: 'gw-witnessed', signingKeyFile: signingKeyFileIn(folder), onCheckpoint: (checkpoint) => told.push(checkpoint) });
  try {
    await log.record(auditEntry());
    const signed = await log.checkpoint();
    expect(told).toEqual([...(await store.readCheckpoints('gw-witnessed'))]);
    expect(told[told.length - 1]).toEqual(signed);
  } finally {
    await log.close();
    await store.close();
  }
});
