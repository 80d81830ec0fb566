import { departmentFetcher, DepartmentTimeoutError } from '../gateway/department-fetch';
import { startFaultServer, type FaultServer } from './helpers/fault-server';

/**
 * The gateway's HTTP client for departments on its own, against a real server: what it
 * hands @apollo/gateway, and its deadline at every stage of an exchange, including while
 * a request waits for a pooled connection (the cases the resilience tests do not reach).
 */
let server: FaultServer;

beforeAll(async () => {
  server = await startFaultServer();
});

afterAll(async () => {
  await server.stop();
});

beforeEach(() => server.clear());

afterEach(() => {
  expect({ pending: server.pendingAnswers(), unexpected: server.unexpectedRequests() }).toEqual({ pending: [], unexpected: [] });
});

const BODY = JSON.stringify({ query: '{ __typename }' });

test('an answer comes back whole, with its status and headers as the data source reads them', async () => {
  server.next().reply(200, { data: { __typename: 'Query' } }, { 'cache-control': 'no-store' });
  const fetch = departmentFetcher({ timeoutMs: 1000 });

  const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });

  expect({ ok: response.ok, status: response.status, type: response.headers.get('Content-Type'), cache: response.headers.get('cache-control') })
    .toEqual({ ok: true, status: 200, type: 'application/json', cache: 'no-store' });
  expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
});

test('a non-2xx answer is an answer, not an error: the data source decides', async () => {
  server.next().reply(503, { errors: [{ message: 'down' }] });
  const response = await departmentFetcher({ timeoutMs: 1000 })(server.url, { method: 'POST', body: BODY });

  expect({ ok: response.ok, status: response.status }).toEqual({ ok: false, status: 503 });
});

test('the deadline holds for a request still waiting for a connection, not only for one being answered', async () => {
  server.next().replyAfter(10_000, 200, { data: null });
  // One connection: the second request queues behind the first, which hangs. The deadline is
  // generous because the third request below must meet it on a fresh connection on a loaded
  // CI machine (at 200 ms it once did not, with every jest worker busy).
  const fetch = departmentFetcher({ timeoutMs: 1500, maxSockets: 1 });

  const outcomes = await Promise.allSettled([
    fetch(server.url, { method: 'POST', body: BODY }),
    fetch(server.url, { method: 'POST', body: BODY }),
  ]);

  expect(outcomes.map((outcome) => outcome.status === 'rejected' && outcome.reason instanceof DepartmentTimeoutError && outcome.reason.message))
    .toEqual(['no answer within 1500 ms', 'no answer within 1500 ms']);
  // A request after them, on the same single connection, is sent after anything still queued: by its answer, the abandoned one would have reached the server.
  server.next().reply(200, { data: null });
  expect((await fetch(server.url, { method: 'POST', body: BODY })).status).toBe(200);
  expect(server.requestsReceived).toBe(2);
});
