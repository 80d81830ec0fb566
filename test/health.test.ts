import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ZHANG_WEI } from './fixtures/registries';
import type { AuditStore } from '../audit/store';
import { readinessCheck } from '../gateway/health';
import { spawnGateway } from './helpers/gateway-process';
import { startStack, useFixtureStack } from './helpers/stack';

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
      auditStore: { isReachable: true },
      redis: { isConfigured: false },
    },
    contentType: 'application/json; charset=utf-8',
  });
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
  const stack = await startStack({ dataDir: city.dataDir, env: { PROOFLESS_RESIDENCE_URL: `http://127.0.0.1:${deadPort}/graphql` } });
  try {
    const { status, body } = await getJson(`${origin(stack.gatewayUrl)}/readyz`);
    expect(status).toBe(200);
    expect(body).toEqual({
      status: 'degraded',
      departments: { ...everyDepartment({ isReachable: true, circuit: 'closed' }), residence: { isReachable: false, circuit: 'closed' } },
      auditStore: { isReachable: true },
      redis: { isConfigured: false },
    });
  } finally {
    await stack.stop();
  }
});

test('with no department reachable the gateway is unavailable: 503', async () => {
  const deadUrl = `http://127.0.0.1:${await closedPort()}/graphql`;
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
    expect(await getJson(url)).toMatchObject({ status: 503, body: { status: 'unavailable', auditStore: { isReachable: false } } });
    readiness.startDraining();
    expect(await getJson(url)).toMatchObject({ status: 503, body: { status: 'draining' } });
  } finally {
    server.close();
  }
});

test('SIGTERM: the request in flight is answered in full, /readyz is not ready meanwhile, then the gateway exits 0', async () => {
  const { stack, dataDir } = city;
  // A residence department that holds its answer until told, so a request is in flight at SIGTERM.
  let release: () => void = () => undefined;
  let held: () => void = () => undefined;
  const isHeld = new Promise<void>((resolve) => (held = resolve));
  const slowResidence = http.createServer((req, res) => {
    held();
    const upstream = http.request(stack.subgraphs.residence.url, { method: 'POST', headers: req.headers }, (answer) => {
      new Promise<void>((resolve) => (release = resolve)).then(() => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => slowResidence.listen(0, '127.0.0.1', resolve));
  const { child: gateway, url, exited } = await spawnGateway(stack, dataDir, 'drain-test', {
    PROOFLESS_RESIDENCE_URL: `http://127.0.0.1:${(slowResidence.address() as AddressInfo).port}/graphql`,
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

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
