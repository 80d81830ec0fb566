import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { departmentStandInTlsOptions } from './federation-security';

/** What the server does with one request: answer it (perhaps late), or reset its connection. */
type Answer =
  | { kind: 'reply'; delayMs: number; status: number; body: string; headers: Record<string, string> }
  | { kind: 'reset' };

/** A request that arrived when no answer was scripted for it. */
export interface UnexpectedRequest {
  method: string;
  path: string;
  body: string;
}

/** The answers to give the next requests, each of them the same. */
export interface AnswerScript {
  /**
   * Answers `status` with `body`: an object as JSON with `content-type: application/json`,
   * a string byte for byte with only the `headers` given (half a JSON body, say).
   */
  reply(status: number, body: object | string, headers?: Record<string, string>): void;
  /** As `reply`, `delayMs` after the request arrived; a client that gives up first closes the connection and nothing is sent. */
  replyAfter(delayMs: number, status: number, body: object | string, headers?: Record<string, string>): void;
  /** Resets the connection (TCP RST) once the request has arrived, without a byte of answer: the client sees a connection error. */
  reset(): void;
}

export interface FaultServer {
  /** The GraphQL endpoint to point a department's URL at; every path is answered alike. */
  url: string;
  /** Scripts the next `count` requests, after any answers already scripted. */
  next(count?: number): AnswerScript;
  /** Requests that arrived since the last `clear()`, scripted or not. */
  readonly requestsReceived: number;
  /** Scripted answers no request has taken yet, in order ('500', '200 after 2000 ms', 'reset'). */
  pendingAnswers(): string[];
  /** Requests that found nothing scripted; each was answered 500 saying so. */
  unexpectedRequests(): UnexpectedRequest[];
  /** Forgets the script, the count and the unexpected requests: before each test. */
  clear(): void;
  stop(): Promise<void>;
}

/**
 * A department that answers only what a test scripted, in order, over real HTTP on a
 * loopback port: whichever client the gateway calls departments with, it meets the
 * faults on the wire. A request nothing was scripted for is answered 500 and kept in
 * `unexpectedRequests()`, so a test that sends one more request than it meant fails in
 * its afterEach rather than passing on an answer it never chose.
 */
export async function startFaultServer(options: {
  /**
   * Play a department as the gateway meets one: over mutual TLS, with the test PKI's
   * `fault-department` certificate, which names every department (one fault server may
   * stand in for several). Default plain HTTP, for clients that are not the gateway.
   */
  isDepartment?: boolean;
} = {}): Promise<FaultServer> {
  let script: Answer[] = [];
  let requestsReceived = 0;
  let unexpected: UnexpectedRequest[] = [];
  const answerRequest = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => {
    requestsReceived += 1;
    const answer = script.shift();
    if (!answer) {
      unexpected.push({ method: req.method ?? '', path: req.url ?? '', body });
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ message: 'unexpected request: the test scripted no answer for it (test/helpers/fault-server.ts)' }] }));
      return;
    }
    if (answer.kind === 'reset') {
      // Over TLS, the TCP socket under the TLS one is the one to reset.
      (tcpSockets.get(req.socket.remotePort ?? -1) ?? req.socket).resetAndDestroy();
      return;
    }
    const send = () => {
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    };
    if (answer.delayMs === 0) return send();
    const timer = setTimeout(send, answer.delayMs);
    // A client that gave up has closed the connection: no answer is sent and no timer outlives the test.
    res.once('close', () => clearTimeout(timer));
  };
  // The whole request is read before the answer is chosen: a reset then always comes after the client has sent everything.
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => answerRequest(req, res, Buffer.concat(chunks).toString('utf8')));
  };
  const server = options.isDepartment
    ? https.createServer(departmentStandInTlsOptions(), onRequest)
    : http.createServer(onRequest);
  const tcpSockets = new Map<number, Socket>();
  server.on('connection', (socket: Socket) => {
    const port = socket.remotePort ?? -1;
    tcpSockets.set(port, socket);
    socket.once('close', () => tcpSockets.delete(port));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const scriptNext = (count: number, answer: Answer) => {
    for (let index = 0; index < count; index += 1) script.push(answer);
  };
  const replyAnswer = (delayMs: number, status: number, body: object | string, headers: Record<string, string> = {}): Answer =>
    typeof body === 'string'
      ? { kind: 'reply', delayMs, status, body, headers }
      : { kind: 'reply', delayMs, status, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } };

  return {
    url: `${options.isDepartment ? 'https' : 'http'}://127.0.0.1:${port}/graphql`,
    next(count = 1) {
      return {
        reply: (status, body, headers) => scriptNext(count, replyAnswer(0, status, body, headers)),
        replyAfter: (delayMs, status, body, headers) => scriptNext(count, replyAnswer(delayMs, status, body, headers)),
        reset: () => scriptNext(count, { kind: 'reset' }),
      };
    },
    get requestsReceived() {
      return requestsReceived;
    },
    pendingAnswers: () =>
      script.map((answer) => (answer.kind === 'reset' ? 'reset' : answer.delayMs === 0 ? `${answer.status}` : `${answer.status} after ${answer.delayMs} ms`)),
    unexpectedRequests: () => [...unexpected],
    clear() {
      script = [];
      requestsReceived = 0;
      unexpected = [];
    },
    async stop() {
      // Pooled keep-alive connections would hold close() open until they idle out.
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
