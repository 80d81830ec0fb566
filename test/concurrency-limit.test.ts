import { EventEmitter, once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { RECEIPT_HEADER, WITNESS_PATH } from '../audit/exchange';
import { encodeHeaderValue } from '../audit/receipt';
import { idNumberCheckCharacter } from '../lib/id-number';
import { writeFixtureRegistries, ZHANG_WEI } from './fixtures/registries';
import { departmentStandInTlsOptions } from './helpers/federation-security';
import { receiptFor, signatureBaseOfRequest } from './helpers/receipts';
import { startStack, type Stack } from './helpers/stack';

/**
 * Requests in flight per officer (issue 16, item 6). Within every other limit, 120
 * concurrent requests from one officer at the cost limit timed the household department
 * out and opened its circuit for every caller; one officer may have only
 * PROOFLESS_MAX_CONCURRENT_PER_OFFICER requests in flight at once, here 2. The residence
 * department is played by a server that holds each request until the test answers it, so
 * "in flight" is a state the test controls, not a timing.
 */
interface HeldRequest {
  answer(body: object, status?: number): void;
}

/** A department that parks every request until `answer` is called on it; `request` is emitted with each. */
async function startHoldingDepartment() {
  const events = new EventEmitter();
  const server = https.createServer(departmentStandInTlsOptions(), (req, res) => {
    req.resume();
    req.once('end', () => {
      const held: HeldRequest = {
        answer(body, status = 200) {
          const text = JSON.stringify(body);
          // Signed as the department would sign it: the gateway refuses an answer without its receipt.
          const receipt = receiptFor({ department: String(req.headers['x-proofless-department']), signatureBase: signatureBaseOfRequest(req, 'https'), status, body: text });
          res.writeHead(status, { 'content-type': 'application/json', [RECEIPT_HEADER]: encodeHeaderValue(receipt) });
          res.end(text);
        },
      };
      // The gateway's checkpoint, sent to witness as it stops, is taken at once: only GraphQL requests are held.
      if (req.url === WITNESS_PATH) held.answer({});
      else events.emit('request', held);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    /** The next request to arrive: call before sending it. */
    nextRequest: async () => (await once(events, 'request'))[0] as HeldRequest,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let fixture: ReturnType<typeof writeFixtureRegistries>;
let residence: Awaited<ReturnType<typeof startHoldingDepartment>>;
let stack: Stack;

beforeAll(async () => {
  fixture = writeFixtureRegistries();
  residence = await startHoldingDepartment();
  stack = await startStack({
    dataDir: fixture.dataDir,
    env: { PROOFLESS_RESIDENCE_URL: residence.url, PROOFLESS_CACHE: 'off', PROOFLESS_MAX_CONCURRENT_PER_OFFICER: '2', PROOFLESS_RESIDENCE_TIMEOUT_MS: '60000' },
  });
});

afterAll(async () => {
  await stack.stop();
  await residence.stop();
  fixture.remove();
});

const QUERY = `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } residence { status } } }`;
const RESIDENCE_ANSWER = { data: { _entities: [{ residence: { status: 'HOUSEHOLD_ADDRESS' } }] } };
const ANSWERED = { status: 200, body: { data: { citizen: { identity: { name: '张伟' }, residence: { status: 'HOUSEHOLD_ADDRESS' } } } } };
const REFUSED = {
  status: 429,
  retryAfter: '1',
  body: {
    errors: [{
      message: 'this officer already has 2 requests in progress, the most allowed at once; retry when one is answered',
      extensions: { code: 'RATE_LIMITED', limit: 'concurrentRequests', max: 2 },
    }],
  },
};

/** Sends QUERY as `officer`, whose residence read is held until the test answers it; resolves once it is held, fails if it is answered first. */
async function heldRequest(officer: string) {
  const arrived = residence.nextRequest();
  const answer = ask(officer);
  const held = await Promise.race([arrived, answer.then(() => undefined)]);
  if (!held) throw new Error(`${officer}'s request was answered before the residence department had it: ${JSON.stringify(await answer)}`);
  return { held, answer };
}

async function ask(officer: string, query = QUERY) {
  const { status, body, headers } = await stack.query(query, undefined, await stack.serviceHeaders({ officer }));
  return { status, body, retryAfter: headers.get('retry-after') ?? undefined };
}

test("an officer's third request while two are in flight is refused; another officer is served; once one is answered the officer is served again", async () => {
  const first = await heldRequest('officer-a');
  const second = await heldRequest('officer-a');

  expect(await ask('officer-a')).toEqual(REFUSED);

  const other = await heldRequest('officer-b');
  other.held.answer(RESIDENCE_ANSWER);
  expect(await other.answer).toEqual(ANSWERED);

  first.held.answer(RESIDENCE_ANSWER);
  expect(await first.answer).toEqual(ANSWERED);
  const again = await heldRequest('officer-a');
  again.held.answer(RESIDENCE_ANSWER);
  second.held.answer(RESIDENCE_ANSWER);
  expect([await again.answer, await second.answer]).toEqual([ANSWERED, ANSWERED]);
});

test('every way a request ends gives its place back: refused before or after it took one, or answered with a department failing', async () => {
  // Refused by the identifier check, which runs before this one.
  expect((await ask('officer-c', `{ citizen(idNumber: "${ZHANG_WEI.slice(0, 17)}1") { identity { name } } }`)).status).toBe(400);
  // Answered with the residence department failing.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const failing = await heldRequest('officer-c');
    failing.held.answer({ errors: [{ message: 'disk full' }] }, 500);
    expect((await failing.answer).status).toBe(200);
  }
  // Refused by the distinct-citizens rate limit, which runs after this one: 200 an hour,
  // Zhang Wei and a first 100 are within it, a second 100 is not. Zhang Wei, already
  // counted, can still be asked for.
  const hundred = (from: number) => Array.from({ length: 100 }, (_, i) => {
    const first17 = `33010620000101${String(from + i).padStart(3, '0')}`;
    return `${first17}${idNumberCheckCharacter(first17)}`;
  });
  const statuses = [];
  for (const from of [100, 200]) statuses.push((await ask('officer-c', `{ citizens(idNumbers: ${JSON.stringify(hundred(from))}) { idNumber } }`)).status);
  expect(statuses).toEqual([200, 429]);
  // Nothing was left in flight: both places are free.
  const first = await heldRequest('officer-c');
  const second = await heldRequest('officer-c');
  first.held.answer(RESIDENCE_ANSWER);
  second.held.answer(RESIDENCE_ANSWER);
  expect([await first.answer, await second.answer]).toEqual([ANSWERED, ANSWERED]);
});
