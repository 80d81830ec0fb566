import net from 'node:net';
import { ZHANG_WEI } from './fixtures/registries';
import { auditRecordOf } from './helpers/audit-records';
import { useFixtureStack } from './helpers/stack';

/**
 * Red team, issue 16, area 9: "every response carries x-request-id, whatever answers it",
 * and refusals before GraphQL runs "are recorded when the caller is known or claims a
 * purpose". A body Node's HTTP parser cannot read (a malformed chunk of a chunked body:
 * the headers, token and purpose included, were read and the request had begun) is
 * answered by Node's default clientError handler: a bare `400 Bad Request` with no
 * x-request-id, no coded body, no audit record and no request-log line, although the
 * caller was known and claimed a purpose.
 */
const city = useFixtureStack();

/**
 * Sends raw bytes, keeping its side open as HTTP clients do, and resolves with what came
 * back before the server closed the connection. (A client that half-closes at once is
 * answered by nobody: Node's server ends the connection when the client's side ends.)
 */
function exchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

test('a known caller with a purpose whose chunked body is malformed: the 400 carries x-request-id and the refusal is recorded', async () => {
  const headers = await city.stack.serviceHeaders();
  const body = JSON.stringify({ query: `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }` });
  const requestId = 'attack-chunked-0001';
  const answer = await exchange(Number(new URL(city.stack.gatewayUrl).port), [
    'POST /graphql HTTP/1.1',
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    `Authorization: ${headers.authorization}`,
    `X-Service-Item: ${headers['x-service-item']}`,
    `X-Case-Number: ${headers['x-case-number']}`,
    `X-Request-Id: ${requestId}`,
    'Transfer-Encoding: chunked',
    '',
    `${body.length.toString(16)}`,
    body,
    'not-a-chunk-size',
    '',
  ].join('\r\n'));
  // Today: 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n', and no record.
  expect(answer.toLowerCase()).toContain(`x-request-id: ${requestId}`);
  expect(await auditRecordOf(city.stack.audit.store, requestId)).toMatchObject({ outcome: 'refused', caseNumber: headers['x-case-number'] });
});

test('a request Node cannot parse at all gets a coded 400 with a request ID of its own', async () => {
  const answer = await exchange(Number(new URL(city.stack.gatewayUrl).port), 'NOT HTTP AT ALL\r\n\r\n');
  const [head, body] = answer.split('\r\n\r\n');
  expect(head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
  expect(head.toLowerCase()).toMatch(/\r\nx-request-id: [0-9a-f-]{36}(\r\n|$)/);
  expect(JSON.parse(body)).toEqual({ errors: [{ message: 'the request is not well-formed HTTP', extensions: { code: 'BAD_REQUEST' } }] });
});
