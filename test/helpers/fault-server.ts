import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { RECEIPT_HEADER } from '../../audit/exchange';
import { encodeHeaderValue } from '../../audit/receipt';
import { departmentStandInTlsOptions } from './federation-security';
import { receiptFor, signatureBaseOfRequest } from './receipts';

/** One exchange as the stand-in department saw it, for headers a test builds from it (a receipt made wrong on purpose). */
export interface ScriptedExchange {
  /** The department the request was signed for (x-proofless-department). */
  department: string;
  /** The signature base of the request as the department rebuilds it. */
  signatureBase: string;
  status: number;
  body: string;
  /** The valid receipt header value for this exchange, signed with the department's test key. */
  validReceipt(): string;
}

/** Answer headers: given, or built from the exchange (then no receipt is added for the test). */
type HeadersScript = Record<string, string> | ((exchange: ScriptedExchange) => Record<string, string>);

/** What the server does with one request: answer it (perhaps late), or reset its connection. */
type Answer =
  | { kind: 'reply'; delayMs: number; status: number; body: string; headers: HeadersScript }
  | { kind: 'reset' };

/** A request that arrived when no answer was scripted for it. */
export interface UnexpectedRequest {
  method: string;
  path: string;
  body: string;
}

/** A request as it arrived, scripted or not. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The answers to give the next requests, each of them the same. */
export interface AnswerScript {
  /**
   * Answers `status` with `body`: an object as JSON with `content-type: application/json`,
   * a string byte for byte with only the `headers` given (half a JSON body, say). A
   * department stand-in adds the department's valid receipt (proofless-receipt) to a
   * signed request's answer, as every department does, unless `headers` is a function:
   * then its headers alone are sent, built from the exchange (a receipt made wrong on
   * purpose, or none).
   */
  reply(status: number, body: object | string, headers?: HeadersScript): void;
  /** As `reply`, `delayMs` after the request arrived; a client that gives up first closes the connection and nothing is sent. */
  replyAfter(delayMs: number, status: number, body: object | string, headers?: HeadersScript): void;
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
  /** Every request that arrived since the last `clear()`, in order, as it arrived. */
  received(): ReceivedRequest[];
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
  let received: ReceivedRequest[] = [];
  const scheme = options.isDepartment ? 'https' : 'http';
  const headersOf = (req: http.IncomingMessage, answer: Extract<Answer, { kind: 'reply' }>): Record<string, string> => {
    const isSigned = options.isDepartment && typeof req.headers['signature-input'] === 'string';
    if (!isSigned) return typeof answer.headers === 'function' ? {} : answer.headers;
    const exchange: ScriptedExchange = {
      department: String(req.headers['x-proofless-department'] ?? ''),
      signatureBase: signatureBaseOfRequest(req, scheme),
      status: answer.status,
      body: answer.body,
      validReceipt: () => encodeHeaderValue(receiptFor(exchange)),
    };
    if (typeof answer.headers === 'function') return answer.headers(exchange);
    return { [RECEIPT_HEADER]: exchange.validReceipt(), ...answer.headers };
  };
  const answerRequest = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => {
    requestsReceived += 1;
    received.push({ method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers }, body });
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
      res.writeHead(answer.status, headersOf(req, answer));
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
  const replyAnswer = (delayMs: number, status: number, body: object | string, headers: HeadersScript = {}): Answer => {
    if (typeof body === 'string') return { kind: 'reply', delayMs, status, body, headers };
    const json: HeadersScript = typeof headers === 'function' ? (exchange) => ({ 'content-type': 'application/json', ...headers(exchange) }) : { 'content-type': 'application/json', ...headers };
    return { kind: 'reply', delayMs, status, body: JSON.stringify(body), headers: json };
  };

  return {
    url: `${scheme}://127.0.0.1:${port}/graphql`,
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
    received: () => [...received],
    pendingAnswers: () =>
      script.map((answer) => (answer.kind === 'reset' ? 'reset' : answer.delayMs === 0 ? `${answer.status}` : `${answer.status} after ${answer.delayMs} ms`)),
    unexpectedRequests: () => [...unexpected],
    clear() {
      script = [];
      requestsReceived = 0;
      unexpected = [];
      received = [];
    },
    async stop() {
      // Pooled keep-alive connections would hold close() open until they idle out.
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
