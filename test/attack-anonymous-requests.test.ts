import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { ZHANG_WEI } from './fixtures/registries';
import { startStack, useFixtureStack } from './helpers/stack';
import { chainInDataDir } from './helpers/audit-records';

/**
 * Red team, issue 16, area 4: "an anonymous flood can no longer write a durable record per
 * request" (docs/security.md). The allowance is per client address and minute (60), and up
 * to 10,000 addresses a minute are counted each on their own: a flood from many addresses
 * (127.0.0.0/8 on the gateway's host, an IPv6 /64 for a gateway listening on ::, a
 * botnet) still writes one durable record per request, up to 10,000 x 60 = 600,000 a minute
 * (the flood that prompted the limit wrote about 85,000 a minute). Here, 15 loopback
 * addresses and an allowance of 2: 30 requests with a bad token, 30 durable records before
 * the total allowance (ten times an address's) bounded them.
 */
const city = useFixtureStack();

const QUERY = JSON.stringify({ query: `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }` });

/** POSTs from a chosen local address, as a client at that address would; resolves with the response's x-request-id. */
function postFrom(url: string, localAddress: string): Promise<{ status: number; requestId: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'POST',
      localAddress,
      agent: false,
      headers: { 'content-type': 'application/json', authorization: 'Bearer aaa.bbb.ccc', 'x-service-item': 'FLOOD', 'x-case-number': 'FLOOD-0001' },
    }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, requestId: String(response.headers['x-request-id']) }));
    });
    request.on('error', reject);
    request.end(QUERY);
  });
}


test('a flood without a valid token from 15 addresses, 2 requests each within one minute: fewer durable records than requests', async () => {
  const chainId = `anonymous-${randomUUID()}`;
  const now = Date.UTC(2026, 10, 30, 8, 0, 5);
  const stack = await startStack({ dataDir: city.dataDir, now: () => now, env: { PROOFLESS_RATE_LIMIT_ANONYMOUS_PER_MINUTE: '2', PROOFLESS_AUDIT_CHAIN_ID: chainId } });
  const answers: { status: number; requestId: string }[] = [];
  try {
    for (let host = 2; host <= 16; host += 1) {
      for (let i = 0; i < 2; i += 1) answers.push(await postFrom(stack.gatewayUrl, `127.0.0.${host}`));
    }
  } finally {
    await stack.stop();
  }
  // All together may make ten times an address's allowance: 20 go on (401, recorded), the other 10 are refused and recorded together.
  expect(answers.map((answer) => answer.status)).toEqual([...Array(20).fill(401), ...Array(10).fill(429)]);
  const flooded = new Set(answers.map((answer) => answer.requestId));
  const recorded = (await chainInDataDir(city.dataDir, chainId)).filter((record) => flooded.has(record.requestId));
  // Before the fix: 30, one per request, as before issue 16 for a single address.
  expect(recorded.length).toBe(20);
});
