import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLRequest, type HTTPGraphQLResponse } from '@apollo/server';
import { ErrorCode } from './error-codes';
import { httpDrain, type HttpDrainOptions } from './http-drain';
import { requestIdOf } from './request-id';

/**
 * The HTTP side of a GraphQL endpoint, shared by the gateway and every subgraph: name the
 * request, read the body (bounded), hand it to Apollo Server, write its answer, and drain
 * on stop. Apollo's standalone server would do the same through cors, body-parser and
 * finalhandler; doing it here keeps the error answers coded JSON like every other error
 * Proofless gives, and keeps the hot path short.
 */
export interface GraphQLHttpOptions<Context extends BaseContext> {
  /** Largest request body accepted, in bytes; default 102400 (100 KiB). */
  maxBodyBytes?: number;
  /** Builds the per-request context (fresh loaders, the caller); `requestId` is the ID the request was given on arrival. */
  context: (req: IncomingMessage, arrival: { requestId: string }) => Promise<Context>;
  /**
   * Told of every answer once it is written, for metrics and the request log: the
   * request's context (absent when none was built: a body refused before GraphQL, a bad
   * token), its ID, the HTTP status, the seconds since the request arrived, and the code
   * of a refusal given before Apollo Server's request pipeline ran.
   */
  didAnswer?: (answer: { context?: Context; requestId: string; status: number; seconds: number; refusalCode?: string }) => void;
  /**
   * Told of a request refused before Apollo Server's request pipeline ran, where plugins
   * never see it: here (a body too large, of the wrong type, or not JSON) or in Apollo's
   * HTTP handling (a GET blocked as CSRF, a batch, a body without a query...). Not told
   * when the context builder itself refused the request: that builder had its say.
   * Awaited before the refusal is sent; an answer it returns is sent instead. Default none.
   */
  refusedBeforeGraphQL?: (refusal: RefusalBeforeGraphQL<Context>) => Promise<ErrorAnswer | undefined>;
  /**
   * Decides, from the request and its whole body as it arrived (bytes, before any parsing),
   * whether it may go on: a refusal answers it at once, coded, and Apollo Server never sees
   * it. A department verifies the gateway's signature and the body's digest here. Default
   * every request goes on.
   */
  admit?: (req: IncomingMessage, body: Buffer, requestId: string) => ErrorAnswer | undefined;
  /**
   * Sees every answer of `/graphql` before a byte of it is written: GraphQL answers,
   * admit()'s refusals and every other refusal before GraphQL, with the exact body about
   * to be sent. It returns headers to add (a department's signed receipt), or an error
   * answer to send instead, which replaces the answer whole: nothing of the original body
   * leaves (a department whose access log cannot be written). Awaited. With a seal,
   * streamed answers are collected into one string first (departments never stream).
   * Default none: the answer is written as it comes (the gateway).
   */
  seal?: (answer: SealedAnswer<Context>) => Promise<SealDecision>;
}

/** An answer as it is about to leave, for `seal`. */
export interface SealedAnswer<Context extends BaseContext> {
  req: IncomingMessage;
  requestId: string;
  /** When the request arrived, in ms since the epoch. */
  arrivedAt: number;
  /** The request body as it arrived; null when it was not read (too large, malformed). */
  requestBody: Buffer | null;
  /** The context, when one was built. */
  context?: Context;
  status: number;
  /** The exact body about to be sent. */
  body: string;
  /** The code of a refusal given before Apollo Server's request pipeline ran. */
  refusalCode?: string;
}

/** What `seal` decided: headers to add to the answer, or an error answer to send in its place. */
export type SealDecision = { headers: Record<string, string> } | { instead: ErrorAnswer };

export interface RefusalBeforeGraphQL<Context extends BaseContext> {
  req: IncomingMessage;
  requestId: string;
  /** When the request arrived, in ms since the epoch. */
  arrivedAt: number;
  /** The context, when Apollo Server built one before refusing (a batch). */
  context?: Context;
  status: number;
  /** The refusal's `extensions.code`. */
  code: string;
}

/** A coded error answer, as `sendError` writes it. */
export interface ErrorAnswer {
  status: number;
  code: ErrorCode;
  message: string;
}

/** Answers one HTTP request outside the GraphQL endpoint (a page, a health check, metrics). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface ServeOptions<Context extends BaseContext> extends GraphQLHttpOptions<Context> {
  host: string;
  /** 0 picks a free port; the returned URL has the real one. */
  port: number;
  /** Other paths this server answers, by exact path (`/healthz`); anything else but `/graphql` is a coded 404. */
  routes?: Record<string, RouteHandler>;
  /**
   * Answers a browser's GET of `/graphql` (one that accepts text/html), for an explorer
   * page; without it such a GET goes to Apollo Server like any other.
   */
  browserPage?: RouteHandler;
  /** How `stop()` closes keep-alive connections; lib/http-drain.ts's defaults. */
  drain?: HttpDrainOptions;
  /** Serve HTTPS (TLS 1.3 only) with these PEM files' contents instead of plain HTTP; default plain HTTP. */
  tls?: ServerTls;
}

export interface ServerTls {
  ca: string;
  cert: string;
  key: string;
  /** Refuse, in the handshake, every client that does not present a certificate `ca` issued (mutual TLS). */
  requireClientCertificate: boolean;
  /** Told of each handshake that failed (no client certificate, one from another CA, plain HTTP on this port); default nothing. */
  onHandshakeFailure?: (error: Error, remoteAddress: string | undefined) => void;
}

export interface ServedGraphQL {
  /** `http://host:port/graphql`, or `https://` when served over TLS */
  url: string;
  httpServer: http.Server;
  /** Serves new connections with these files' contents from now on (certificates rotate); only for a server started with `tls`. */
  replaceTls(tls: Pick<ServerTls, 'ca' | 'cert' | 'key'>): void;
  /** Stops accepting, answers what is in flight and closes every connection (lib/http-drain.ts), then stops Apollo Server. */
  stop(): Promise<void>;
}

/**
 * Starts `server` and serves it at `/graphql` on its own HTTP server, with `routes` beside
 * it; every other path is a coded 404. Every response, whatever answers it, carries the
 * request's ID as `x-request-id` (lib/request-id.ts).
 */
export async function serveGraphQL<Context extends BaseContext>(server: ApolloServer<Context>, options: ServeOptions<Context>): Promise<ServedGraphQL> {
  const httpServer = options.tls ? https.createServer(tlsOptions(options.tls)) : http.createServer();
  if (options.tls?.onHandshakeFailure) {
    const onFailure = options.tls.onHandshakeFailure;
    httpServer.on('tlsClientError', (error: Error, socket: TLSSocket) => onFailure(error, socket.remoteAddress));
  }
  // Before the request listener below, so that answers while draining say `connection: close`.
  const drainer = httpDrain(httpServer, options.drain);
  // Which requests entered Apollo Server's request pipeline: Apollo hands its plugins the very HTTP request object it was given
  // (test/refused-before-graphql.test.ts fails, with two records for one refusal, if a version stops doing so).
  const piped = new WeakSet<HTTPGraphQLRequest>();
  server.addPlugin({
    async requestDidStart({ request }) {
      if (request.http) piped.add(request.http);
    },
  });
  await server.start();
  const handleGraphQL = graphqlHttpHandler(server, options, (request) => piped.has(request));
  const routes = new Map(Object.entries(options.routes ?? {}));
  httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const path = (req.url ?? '/').split('?')[0];
    let handle: RouteHandler | undefined = routes.get(path);
    if (path === '/graphql') handle = options.browserPage && isBrowserPageRequest(req) ? options.browserPage : () => handleGraphQL(req, res, requestId);
    if (!handle) {
      sendError(res, 404, ErrorCode.NOT_FOUND, 'the GraphQL endpoint is /graphql');
      return;
    }
    const fail = () => {
      if (!res.headersSent) sendError(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'internal error');
      else res.destroy();
    };
    // Called in this tick, not a later one: the body is read from the first chunk, even when another listener has set the request flowing.
    try {
      Promise.resolve(handle(req, res)).catch(fail);
    } catch {
      fail();
    }
  });
  // Node's own handler answers a bare 400 with no request ID, no coded body and nothing recorded.
  httpServer.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const unreadable = unreadableBodies.get(socket);
    if (unreadable) unreadable();
    else answerUnparsedRequest(socket, error);
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, options.host, resolve);
  });
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://${options.host}:${port}/graphql`,
    httpServer,
    replaceTls(tls) {
      if (!options.tls) throw new Error('this server was started without TLS');
      (httpServer as https.Server).setSecureContext(tlsOptions({ ...options.tls, ...tls }));
    },
    async stop() {
      await drainer.drain();
      await server.stop();
    },
  };
}

/**
 * TLS 1.3 only (no downgrade to protocols with weaker handshakes), the CA for client
 * certificates, and the client checked in the handshake: a connection without a valid
 * certificate never reaches HTTP.
 */
function tlsOptions(tls: ServerTls): https.ServerOptions {
  return { minVersion: 'TLSv1.3', ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: tls.requireClientCertificate, rejectUnauthorized: tls.requireClientCertificate };
}

function graphqlHttpHandler<Context extends BaseContext>(
  server: ApolloServer<Context>,
  options: GraphQLHttpOptions<Context>,
  hasEnteredPipeline: (request: HTTPGraphQLRequest) => boolean,
) {
  const maxBodyBytes = options.maxBodyBytes ?? 102400;
  return async function handleGraphQL(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const started = performance.now();
    const arrivedAt = Date.now();
    let context: Context | undefined;
    let refusalCode: string | undefined;
    let requestBody: Buffer | null = null;
    const { didAnswer, refusedBeforeGraphQL, admit, seal } = options;
    if (didAnswer) {
      res.once('finish', () => didAnswer({ context, requestId, status: res.statusCode, seconds: (performance.now() - started) / 1000, ...(refusalCode ? { refusalCode } : {}) }));
    }
    /** Writes an answer whole, after the seal (when there is one) has seen it: with its headers, or its replacement alone. */
    const sealAndSend = async (status: number, headers: Record<string, string | number>, body: string) => {
      const decision = seal ? await seal({ req, requestId, arrivedAt, requestBody, context, status, body, ...(refusalCode ? { refusalCode } : {}) }) : { headers: {} };
      if ('instead' in decision) {
        // A connection that must close (the body was not read whole) closes after the replacement too.
        sendError(res, decision.instead.status, decision.instead.code, decision.instead.message, headers.connection === 'close' ? { connection: 'close' } : {});
        return;
      }
      res.writeHead(status, { ...headers, ...decision.headers });
      res.end(body);
    };
    const sendErrorAnswer = (status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}) => {
      if (!seal) {
        sendError(res, status, code, message, headers);
        return Promise.resolve();
      }
      const body = errorBody(code, message);
      return sealAndSend(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), ...headers }, body);
    };
    // The hook hears of a refusal before GraphQL first, and may answer instead (the gateway's 503 when it cannot record it).
    const tellRefusal = (status: number, code: string) => refusedBeforeGraphQL?.({ req, requestId, arrivedAt, context, status, code });
    const refuse = async (status: number, code: ErrorCode, message: string, headers?: Record<string, string>) => {
      refusalCode = code;
      const answer = (await tellRefusal(status, code)) ?? { status, code, message };
      await sendErrorAnswer(answer.status, answer.code, answer.message, headers);
    };
    const body = await readBody(req, maxBodyBytes);
    if (body.kind === 'ok') requestBody = body.bytes;
    if (body.kind === 'too-large') {
      await refuse(413, ErrorCode.REQUEST_TOO_LARGE, `request body must be at most ${maxBodyBytes} bytes, got ${body.bytes} or more`, { connection: 'close' });
      return;
    }
    if (body.kind === 'unreadable') {
      // The parser has given up on this connection: answer, then close it.
      res.once('finish', () => req.socket.destroySoon());
      await refuse(400, ErrorCode.BAD_REQUEST, 'request body is not well-formed HTTP (a malformed chunk)', { connection: 'close' });
      return;
    }
    const refusal = admit?.(req, body.bytes, requestId);
    if (refusal) {
      await refuse(refusal.status, refusal.code, refusal.message);
      return;
    }
    let parsedBody: unknown;
    if (req.method === 'POST') {
      const contentType = req.headers['content-type'] ?? '';
      if (!/^application\/(graphql-response\+)?json\b/i.test(contentType)) {
        await refuse(415, ErrorCode.BAD_REQUEST, `content-type must be application/json, got ${contentType ? contentType.split(';')[0] : 'none'}`);
        return;
      }
      try {
        parsedBody = JSON.parse(body.bytes.toString('utf8'));
      } catch {
        await refuse(400, ErrorCode.BAD_REQUEST, 'request body must be valid JSON');
        return;
      }
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    // What Apollo Server and its plugins read is the ID this request was given, not whatever the caller sent: the gateway forwards it to departments.
    headers.set('x-request-id', requestId);
    const url = req.url ?? '/';
    const queryStart = url.indexOf('?');
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      headers,
      search: queryStart === -1 ? '' : url.slice(queryStart),
      body: parsedBody,
    };
    let isRefusedByContext = false;
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: async () => {
        try {
          return (context = await options.context(req, { requestId }));
        } catch (error) {
          isRefusedByContext = true;
          throw error;
        }
      },
    });
    const status = response.status ?? 200;
    if (status >= 400 && response.body.kind === 'complete' && !hasEnteredPipeline(httpGraphQLRequest)) {
      refusalCode = codeOf(response.body.string);
      const answer = isRefusedByContext ? undefined : await tellRefusal(status, refusalCode);
      if (answer) {
        await sendErrorAnswer(answer.status, answer.code, answer.message);
        return;
      }
    }
    if (seal) {
      await sealAndSend(status, Object.fromEntries(response.headers), await wholeBodyOf(response.body));
      return;
    }
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = status;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
}

/** An answer Apollo Server wrote, whole: a streamed one's chunks joined. */
async function wholeBodyOf(body: HTTPGraphQLResponse['body']): Promise<string> {
  if (body.kind === 'complete') return body.string;
  let whole = '';
  for await (const chunk of body.asyncIterator) whole += chunk;
  return whole;
}

/** The `extensions.code` of the first error of an answer Apollo Server wrote. */
function codeOf(answer: string): string {
  try {
    const code = (JSON.parse(answer) as { errors?: Array<{ extensions?: { code?: unknown } }> }).errors?.[0]?.extensions?.code;
    return typeof code === 'string' ? code : ErrorCode.INTERNAL_SERVER_ERROR;
  } catch {
    return ErrorCode.INTERNAL_SERVER_ERROR;
  }
}

/** A browser opening the endpoint: a GET that prefers HTML (GraphQL clients GET with `accept: application/json`). */
function isBrowserPageRequest(req: IncomingMessage): boolean {
  return req.method === 'GET' && /\btext\/html\b/.test(req.headers.accept ?? '') && !(req.url ?? '').includes('query=');
}

/** Writes a GraphQL-shaped error answer for failures that happen before GraphQL runs. */
export function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}): void {
  sendJsonText(res, status, errorBody(code, message), headers);
}

/** The body of a coded error answer, as `sendError` writes it. */
export function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify({ errors: [{ message, extensions: { code } }] });
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Writes `body` as a whole JSON answer, with its length. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** Writes JSON text already encoded as a whole answer, with its length: for an answer whose exact bytes were signed for. */
export function sendJsonText(res: ServerResponse, status: number, payload: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

export type BodyResult = { kind: 'ok'; bytes: Buffer } | { kind: 'too-large'; bytes: number } | { kind: 'unreadable' };

/** The connections whose request body is being read, and how to tell its reader that Node's parser found it malformed. */
const unreadableBodies = new WeakMap<Duplex, () => void>();

/**
 * Reads the body up to `maxBytes`. Past that it stops keeping chunks and answers at once;
 * the rest is drained and the connection closed after the 413 (`connection: close`). A
 * body Node's parser cannot read (a malformed chunk) is `unreadable`: the server's
 * clientError listener says so, and the request is refused like any other. For `/graphql`
 * and for any route that reads a body (a department's witness route).
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise<BodyResult>((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      req.resume();
      resolve({ kind: 'too-large', bytes: declared });
      return;
    }
    unreadableBodies.set(req.socket, () => resolve({ kind: 'unreadable' }));
    const chunks: Buffer[] = [];
    let bytes = 0;
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        req.off('data', onData);
        req.resume();
        resolve({ kind: 'too-large', bytes });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve({ kind: 'ok', bytes: Buffer.concat(chunks) }));
    req.once('error', reject);
  }).finally(() => unreadableBodies.delete(req.socket));
}

/**
 * Answers what Node's parser refused before any request began (a malformed request line or
 * header, headers too large, too slow): a coded JSON error with a request ID of its own,
 * as Proofless answers everything, and the connection closed. Nothing is recorded: no
 * header was read, so no caller or purpose is known.
 */
function answerUnparsedRequest(socket: Duplex, error: NodeJS.ErrnoException): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] = error.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'Request Header Fields Too Large', ErrorCode.REQUEST_TOO_LARGE, 'request headers are larger than this server accepts']
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', ErrorCode.BAD_REQUEST, 'the request did not arrive in time']
      : [400, 'Bad Request', ErrorCode.BAD_REQUEST, 'the request is not well-formed HTTP'];
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  const head = [
    `HTTP/1.1 ${status} ${reason}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    `x-request-id: ${randomUUID()}`,
    'connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
