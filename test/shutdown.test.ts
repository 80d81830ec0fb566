import { spawn } from 'node:child_process';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent, Pool } from 'undici';
import { loadAuditConfig, loadTrustedPublicKeys } from '../audit/config';
import { verifyChains } from '../audit/verify';
import { REPO_ROOT } from '../lib/paths';
import { CHEN_QIANG, LI_NA, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { spawnGateway } from './helpers/gateway-process';
import { callDepartmentAsGateway, departmentStandInTlsOptions, mutualTlsAgentOptions, transportEnv } from './helpers/federation-security';
import { watchOutput } from './helpers/process-output';
import { useFixtureStack } from './helpers/stack';

/**
 * SIGTERM, as an orchestrator sends it to roll a deployment, under load from keep-alive
 * clients. The processes run outside jest's NODE_ENV=test, as in production: Apollo
 * Server installs its own signal handlers whenever NODE_ENV is not `test`.
 */
const city = useFixtureStack();
const CHAIN = 'sigterm-test';
const CITIZENS = [ZHANG_WEI, LI_NA, ZHANG_ZIHAN, CHEN_QIANG];

interface Exchange {
  status: number;
  requestId: string;
  connection: string | undefined;
  /** Sent after the gateway had said it was draining. */
  isSentWhileDraining: boolean;
}

test('SIGTERM under load: every answer is recorded and checkpointed, none is reset, answers while draining say connection: close, exit 0', async () => {
  const { stack, dataDir } = city;
  const residence = await holdingProxy(stack.subgraphs.residence.url);
  const gateway = await spawnGateway(stack, dataDir, CHAIN, {
    NODE_ENV: 'development',
    PROOFLESS_RESIDENCE_URL: residence.url,
    PROOFLESS_RATE_LIMIT_OFFICER_PER_MINUTE: '1000000',
    PROOFLESS_RATE_LIMIT_DISTINCT_CITIZENS_PER_HOUR: '1000000',
    // Records are checkpointed only when the log closes: the last checkpoint is the final one.
    PROOFLESS_AUDIT_CHECKPOINT_SECONDS: '0',
  });
  const origin = new URL(gateway.url).origin;
  const headers = { 'content-type': 'application/json', ...(await stack.serviceHeaders()) };
  const load = new Pool(origin, { connections: 8 });
  // A client whose one keep-alive connection is idle when SIGTERM arrives.
  const idle = new Pool(origin, { connections: 1 });
  const isIdleClosed = new Promise<void>((resolve) => idle.once('disconnect', () => resolve()));
  // A client whose request waits on the residence department while the gateway drains.
  const held = new Pool(origin, { connections: 1 });
  const exchanges: Exchange[] = [];
  const failures: string[] = [];
  let isDraining = false;

  async function exchange(pool: Pool, query: string): Promise<Exchange> {
    const isSentWhileDraining = isDraining;
    const response = await pool.request({ path: '/graphql', method: 'POST', headers, body: JSON.stringify({ query }) });
    const body = await response.body.json();
    const answer = {
      status: response.statusCode,
      requestId: response.headers['x-request-id'] as string,
      connection: response.headers.connection as string | undefined,
      isSentWhileDraining,
    };
    expect(body).not.toHaveProperty('errors');
    exchanges.push(answer);
    return answer;
  }
  const identity = (i: number) => `{ citizen(idNumber: "${CITIZENS[i % CITIZENS.length]}") { identity { name } } }`;

  try {
    await exchange(idle, identity(0));
    let reachedLoad: () => void = () => undefined;
    const isUnderLoad = new Promise<void>((resolve) => (reachedLoad = resolve));
    // Each worker sends one request after another until the gateway no longer takes connections.
    const worker = async (offset: number) => {
      for (let i = offset; ; i += 8) {
        try {
          await exchange(load, identity(i));
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          // Refused: the request was never sent (the gateway no longer listens). Anything else lost a request on its way.
          if (code !== 'ECONNREFUSED') failures.push(`${code}: ${(error as Error).message}`);
          return;
        }
        if (exchanges.length >= 120) reachedLoad();
      }
    };
    const workers = Array.from({ length: 8 }, (_, i) => worker(i));
    await isUnderLoad;
    const inFlight = exchange(held, `{ citizen(idNumber: "${ZHANG_WEI}") { residence { status } } }`);
    await residence.isHolding;
    gateway.child.kill('SIGTERM');
    await gateway.lineMatching(/"msg":"draining/);
    isDraining = true;
    // The idle connection is closed, so a request on it opens a new one, which is refused: never reset.
    await isIdleClosed;
    await expect(exchange(idle, identity(1))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await Promise.all(workers);
    residence.release();
    expect(await inFlight).toMatchObject({ status: 200, connection: 'close' });
    expect(await gateway.exited).toBe(0);

    expect(failures).toEqual([]);
    expect(exchanges.filter((answer) => answer.status !== 200)).toEqual([]);
    expect(exchanges.filter((answer) => answer.isSentWhileDraining && answer.connection !== 'close')).toEqual([]);

    const records = await stack.audit.store.readChain(CHAIN, 0, Number.MAX_SAFE_INTEGER);
    const recorded = new Set(records.map((record) => record.requestId));
    expect(exchanges.length).toBeGreaterThan(120);
    expect(exchanges.filter((answer) => !recorded.has(answer.requestId))).toEqual([]);
    // The final checkpoint covers the last record: nothing after it can be cut unseen.
    const checkpoints = await stack.audit.store.readCheckpoints(CHAIN);
    expect(checkpoints.at(-1)?.sequence).toBe(records.at(-1)?.sequence);
    const verification = (await verifyChains(stack.audit.store, loadTrustedPublicKeys(loadAuditConfig({ PROOFLESS_DATA_DIR: dataDir })))).find((chain) => chain.chainId === CHAIN);
    expect(verification).toMatchObject({ ok: true, records: records.length });
  } finally {
    gateway.child.kill('SIGKILL');
    residence.release();
    await Promise.all([load.destroy(), idle.destroy(), held.destroy()]);
    residence.server.close();
  }
});

/**
 * A department in front of `url` that holds every answer until released: `isHolding` once
 * one is held. It meets the gateway over mutual TLS as a department would, and passes the
 * signed request on unchanged (its Host header with it, so the signature still holds).
 */
async function holdingProxy(url: string): Promise<{ url: string; server: https.Server; isHolding: Promise<void>; release(): void }> {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding: () => void = () => undefined;
  const isHolding = new Promise<void>((resolve) => (holding = resolve));
  const tls = mutualTlsAgentOptions('residence');
  const server = https.createServer(departmentStandInTlsOptions(), (req, res) => {
    holding();
    const upstream = https.request(url, { method: 'POST', headers: req.headers, ...tls }, (answer) => {
      released.then(() => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, server, isHolding, release };
}

test('a department process stops on SIGTERM with exit code 0, after answering what it was asked', async () => {
  const department = spawn(process.execPath, ['--import', 'tsx', 'subgraphs/residence/index.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_ENV: 'development', PROOFLESS_DATA_DIR: city.dataDir, PROOFLESS_RESIDENCE_PORT: '0', ...transportEnv('residence') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => department.once('exit', (code) => resolve(code)));
  const lineMatching = watchOutput(department, 'the residence department');
  const agent = new Agent({ connections: 1, connect: mutualTlsAgentOptions('residence') });
  try {
    const url = /residence subgraph listening on (https:\/\/[^\s"]+)/.exec(await lineMatching(/residence subgraph listening on/))?.[1] as string;
    const ask = () => callDepartmentAsGateway(url, 'residence', { query: '{ __typename }' }, agent);
    const first = await ask();
    expect({ status: first.status, body: first.body }).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
    department.kill('SIGTERM');
    await lineMatching(/"msg":"draining/);
    const answer = await ask();
    expect({ status: answer.status, connection: answer.headers.connection, body: answer.body }).toEqual({
      status: 200, connection: 'close', body: { data: { __typename: 'Query' } },
    });
    expect(await exited).toBe(0);
    await agent.destroy();
  } finally {
    department.kill('SIGKILL');
  }
});
