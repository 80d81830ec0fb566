import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../gateway/config';
import { CATALOG_FILE } from '../lib/catalog';
import { SUPERGRAPH_FILE } from '../lib/composition';
import { ConfigError } from '../lib/env';
import { FETCH_REFUSED_PORTS } from '../lib/fetch-ports';
import { createLogger } from '../lib/logger';
import { REPO_ROOT } from '../lib/paths';
import { loadProofReading, serviceSubgraph } from '../subgraphs/service';
import { loadServiceConfig } from '../subgraphs/service/config';
import { verifyDueCommitments } from '../subgraphs/service/follow-up';
import { httpGatewayClient } from '../subgraphs/service/gateway-client';
import { openCommitmentStore, type CommitmentStore } from '../subgraphs/service/registry';
import { callDepartmentAsGateway, departmentSecurityForTest } from './helpers/federation-security';
import { startSubgraph, type RunningSubgraph } from '../subgraphs/shared/server';
import { ZHANG_WEI } from './fixtures/registries';
import { closedPort } from './helpers/closed-port';
import { startFaultServer, type FaultServer } from './helpers/fault-server';

/**
 * The service bureau's calls back into the gateway (issue 16, item 10): a gateway address
 * the bureau's client (Node's fetch) cannot reach is refused at start, naming the variable
 * and the port, and a call that fails says why in the bureau's log, with the request ID,
 * while the checklist still answers each proof UNAVAILABLE.
 */

let dataDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'proofless-service-calls-'));
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a gateway port Node\'s fetch refuses ("bad port", the fetch standard)', () => {
  test('the list is the one Node\'s fetch enforces: each listed port is refused, the ports beside them are not', async () => {
    // A dispatcher that sends nothing: fetch reaches it only for a port it does not block, so no socket is opened either way.
    const notSent = { dispatch: (_: unknown, handler: { onError(error: Error): void }) => (handler.onError(new Error('not sent')), true) };
    const refusal = (port: number) =>
      fetch(`http://127.0.0.1:${port}/graphql`, { dispatcher: notSent } as RequestInit).then(
        () => 'answered',
        (error: Error) => (error.cause as Error | undefined)?.message,
      );
    const listed = [...FETCH_REFUSED_PORTS].map(Number);
    const beside = [...new Set(listed.flatMap((port) => [port - 1, port + 1]))].filter((port) => port > 0 && !FETCH_REFUSED_PORTS.has(String(port)));
    expect(listed).toContain(6000);
    expect(await Promise.all(listed.map(refusal))).toEqual(listed.map(() => 'bad port'));
    expect(await Promise.all(beside.map(refusal))).toEqual(beside.map(() => 'not sent'));
  });

  test('the bureau refuses PROOFLESS_GATEWAY_URL at such a port, naming the variable and the port', () => {
    expect(() => loadServiceConfig({ PROOFLESS_DATA_DIR: dataDir, PROOFLESS_GATEWAY_URL: 'http://127.0.0.1:6000/graphql' })).toThrow(
      new ConfigError('PROOFLESS_GATEWAY_URL must name a port Node\'s fetch connects to, got 6000, a "bad port" the fetch standard blocks: the service bureau could not reach the gateway there'),
    );
    expect(loadServiceConfig({ PROOFLESS_DATA_DIR: dataDir, PROOFLESS_GATEWAY_URL: 'http://127.0.0.1:6001/graphql' }).gatewayUrl).toBe('http://127.0.0.1:6001/graphql');
    expect(loadServiceConfig({ PROOFLESS_DATA_DIR: dataDir, PROOFLESS_GATEWAY_URL: 'http://gateway.internal/graphql' }).gatewayUrl).toBe('http://gateway.internal/graphql');
  });

  test('the gateway refuses PROOFLESS_GATEWAY_PORT at such a port: the bureau, its client, could not reach it', () => {
    expect(() => loadConfig({ PROOFLESS_DATA_DIR: dataDir, PROOFLESS_GATEWAY_PORT: '6000' })).toThrow(
      new ConfigError('PROOFLESS_GATEWAY_PORT must name a port Node\'s fetch connects to, got 6000, a "bad port" the fetch standard blocks: the service bureau could not reach the gateway there'),
    );
    expect(loadConfig({ PROOFLESS_DATA_DIR: dataDir, PROOFLESS_GATEWAY_PORT: '6001' }).port).toBe(6001);
  });

  test('the bureau\'s process does not start, and says why on stderr', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'subgraphs/service/index.ts'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      // A bureau that does start would serve until stopped: bound the wait, so the test fails rather than hangs.
      timeout: 60_000,
      env: { ...process.env, PROOFLESS_DATA_DIR: dataDir, PROOFLESS_SERVICE_PORT: '0', PROOFLESS_GATEWAY_URL: 'http://127.0.0.1:6000/graphql' },
    });
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
      status: 1,
      stdout: '',
      stderr: 'service: PROOFLESS_GATEWAY_URL must name a port Node\'s fetch connects to, got 6000, a "bad port" the fetch standard blocks: the service bureau could not reach the gateway there\n',
    });
  });
});

describe('a call to the gateway that fails', () => {
  const DRIVING_LICENCE = '330100-GA-0003';
  const CHECKLIST = 'query ($item: String!, $applicant: ID!) { proofChecklist(serviceItem: $item, applicant: $applicant) { isComplete proofs { code status remedy } } }';
  const UNAVAILABLE = {
    data: {
      proofChecklist: {
        isComplete: false,
        proofs: [
          { code: 'SFZM', status: 'UNAVAILABLE', remedy: 'the departments could not answer: ask again later, or bring the paper proof (身份证明)' },
          { code: 'JSZ', status: 'UNAVAILABLE', remedy: 'the departments could not answer: ask again later, or bring the paper proof (原驾驶证信息)' },
          { code: 'SFZFYJ', status: 'NOT_REQUIRED', remedy: null },
        ],
      },
    },
  };

  let store: CommitmentStore;
  let faults: FaultServer;
  let nobodyListens: number;

  beforeAll(async () => {
    store = openCommitmentStore(path.join(dataDir, 'service.sqlite'));
    faults = await startFaultServer();
    nobodyListens = await closedPort();
  });

  afterAll(async () => {
    store.close();
    await faults.stop();
  });

  afterEach(() => {
    expect({ pending: faults.pendingAnswers(), unexpected: faults.unexpectedRequests() }).toEqual({ pending: [], unexpected: [] });
    faults.clear();
  });

  /** The bureau's subgraph with its gateway at `gatewayUrl`, asked for a checklist as the gateway asks it; its log lines at warn and above. */
  async function askBureau(gatewayUrl: string) {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('service', { level: 'warn', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
    const { catalog, reader } = loadProofReading({ catalogFile: CATALOG_FILE, supergraphFile: SUPERGRAPH_FILE }, httpGatewayClient(() => gatewayUrl), logger);
    const security = departmentSecurityForTest('service', { catalogFile: CATALOG_FILE });
    const bureau: RunningSubgraph = await startSubgraph(serviceSubgraph({ catalog, reader, store }), { host: '127.0.0.1', port: 0 }, security);
    try {
      const response = await callDepartmentAsGateway(bureau.url, 'service', {
        query: CHECKLIST,
        variables: { item: DRIVING_LICENCE, applicant: ZHANG_WEI },
        caller: { application: 'window-app', officer: 'officer-7', role: 'service', serviceItems: [DRIVING_LICENCE], scopes: [] },
        headers: { authorization: 'Bearer checked-by-the-gateway', 'x-service-item': DRIVING_LICENCE, 'x-case-number': 'GA-2026-0042', 'x-request-id': 'req-bureau-0001' },
      });
      return { body: response.body, log: lines.map(({ time, pid, hostname, ...line }) => line) };
    } finally {
      await bureau.stop();
      security.close();
    }
  }

  const logLine = (cause: string, code?: string) => ({
    level: 'error',
    name: 'service',
    requestId: 'req-bureau-0001',
    operationName: 'ProofChecklist',
    proofs: ['SFZM', 'JSZ'],
    err: { type: 'GatewayCallError', message: cause, ...(code ? { code } : {}) },
    msg: `proofs SFZM, JSZ are UNAVAILABLE: ${cause}`,
  });

  test('a gateway nobody listens for: ECONNREFUSED, in the log with the request ID', async () => {
    const { body, log } = await askBureau(`http://127.0.0.1:${nobodyListens}/graphql`);
    expect(body).toEqual(UNAVAILABLE);
    expect(log).toEqual([logLine(`the gateway at 127.0.0.1:${nobodyListens} could not be reached: connect ECONNREFUSED 127.0.0.1:${nobodyListens}`, 'ECONNREFUSED')]);
  });

  test('a gateway at a port fetch refuses (the attack: port 6000): "bad port", in the log', async () => {
    const { body, log } = await askBureau('http://127.0.0.1:6000/graphql');
    expect(body).toEqual(UNAVAILABLE);
    expect(log).toEqual([logLine('the gateway at 127.0.0.1:6000 could not be reached: bad port')]);
  });

  test('an answer that is not JSON (a proxy\'s error page): its status, and nothing of its body', async () => {
    faults.next().reply(502, `<html>bad gateway for ${ZHANG_WEI}</html>`, { 'content-type': 'text/html' });
    const { body, log } = await askBureau(faults.url);
    expect(body).toEqual(UNAVAILABLE);
    expect(log).toEqual([logLine(`the gateway at ${new URL(faults.url).host} answered HTTP 502 with a body that is not JSON`)]);
  });

  test('a gateway that answers with a department\'s failure: which proofs, which department, which code, at warn', async () => {
    faults.next().reply(200, {
      data: { SFZM: { identity: { name: '张伟', gender: 'MALE', birthDate: '1975-03-12', provenance: { department: 'household', authority: '杭州市公安局', updatedAt: '2024-05-06T02:00:00.000Z' } } }, JSZ: { holdsActiveLicence: null } },
      errors: [{ message: 'the license department did not answer within 3000 ms', extensions: { code: 'DEPARTMENT_TIMEOUT', department: 'license' } }],
    });
    const { body, log } = await askBureau(faults.url);
    expect(body).toEqual({
      data: {
        proofChecklist: {
          isComplete: false,
          proofs: [
            { code: 'SFZM', status: 'SATISFIED', remedy: null },
            { code: 'JSZ', status: 'UNAVAILABLE', remedy: 'the license department could not answer: ask again later, or bring the paper proof (原驾驶证信息)' },
            { code: 'SFZFYJ', status: 'NOT_REQUIRED', remedy: null },
          ],
        },
      },
    });
    expect(log).toEqual([{
      level: 'warn',
      name: 'service',
      requestId: 'req-bureau-0001',
      operationName: 'ProofChecklist',
      proofs: ['JSZ'],
      departments: ['license'],
      errorCodes: ['DEPARTMENT_TIMEOUT'],
      msg: 'proofs JSZ are UNAVAILABLE: the gateway answered DEPARTMENT_TIMEOUT for the license department',
    }]);
  });

  test('a check answered null without an error is no answer: UNAVAILABLE, never NOT_SATISFIED (the check is nullable)', async () => {
    faults.next().reply(200, { data: { SFZM: { identity: null }, JSZ: { holdsActiveLicence: null } } });
    const { body } = await askBureau(faults.url);
    expect(body).toEqual({
      data: {
        proofChecklist: {
          isComplete: false,
          proofs: [
            { code: 'SFZM', status: 'NOT_SATISFIED', remedy: 'the household department holds no record for this proof: bring the paper proof (身份证明), or have the household department correct its registry' },
            { code: 'JSZ', status: 'UNAVAILABLE', remedy: 'the license department could not answer: ask again later, or bring the paper proof (原驾驶证信息)' },
            { code: 'SFZFYJ', status: 'NOT_REQUIRED', remedy: null },
          ],
        },
      },
    });
  });

  test('the commitment follow-up takes a null check for no answer: the commitment stays PENDING past its deadline, not BREACHED', async () => {
    const { catalog, reader } = loadProofReading({ catalogFile: CATALOG_FILE, supergraphFile: SUPERGRAPH_FILE }, httpGatewayClient(() => faults.url));
    await store.insert({
      serviceItem: '330100-SJ-0001', caseNumber: 'SJ-2026-0555', proofCode: 'JYCSZM', applicant: ZHANG_WEI,
      statement: '本人承诺经营场所合法使用。', signedAt: '2026-01-05T00:00:00.000Z', followUpDeadline: '2026-03-06T00:00:00.000Z',
    });
    faults.next().reply(200, { data: { JYCSZM: { holdsActiveLicence: null } } });
    const summary = await verifyDueCommitments({ store, catalog, reader, credential: async () => 'checked-by-the-gateway' }, new Date('2027-01-01T00:00:00.000Z'));
    expect(summary).toEqual({ checked: 1, fulfilled: 0, breached: 0, pending: 0, unchecked: 1, problems: ['the license department could not answer'] });
    expect((await store.readPending()).map((row) => [row.caseNumber, row.state])).toEqual([['SJ-2026-0555', 'PENDING']]);
  });
});
