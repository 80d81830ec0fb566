import { randomUUID } from 'node:crypto';
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayCachePolicy, GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import type { Fetcher, FetcherResponse } from '@apollo/utils.fetcher';
import { GraphQLError } from 'graphql';
import { READINESS_PROBE_QUERY, WITNESS_PATH, type DepartmentCallEvidence } from '../audit/exchange';
import type { SignedCheckpoint } from '../audit/store';
import { CALLER_HEADER, encodeAssertedCaller } from '../lib/asserted-caller';
import { ErrorCode } from '../lib/error-codes';
import type { SignedRequest } from '../lib/http-signatures';
import type { Logger } from '../lib/logger';
import { memoisedIn } from '../lib/memoised';
import type { Caller } from './auth';
import { isQuery, type DepartmentAnswer, type DepartmentCache } from './cache/department-cache';
import type { DepartmentCallOutcome } from './metrics';
import { CircuitBreaker } from './circuit-breaker';
import type { GatewayContext } from './context';
import { departmentFetcher, DepartmentTimeoutError } from './department-fetch';
import type { ReceiptChecker, ReceivedAnswer } from './receipts';

/** Headers passed on to every department: why, and the request's ID. Who asks goes as the caller the gateway verified (CALLER_HEADER), never as the caller's token. */
const FORWARDED_HEADERS = ['x-service-item', 'x-case-number', 'x-request-id'];

/** The header naming the department a request is meant for: signed, so a request signed for one department is refused by every other. */
export const DEPARTMENT_HEADER = 'x-proofless-department';

/** Each caller's header, encoded once: a request calls several departments, and the authenticator hands back the same caller for the same token. */
const encodedCallers = new WeakMap<Caller, string>();

/** Signs one request to a department (lib/http-signatures.ts): the headers to add, and the signature base signed, which the department's receipt names. */
export type RequestSigner = (request: { method: string; targetUri: string; headers: Record<string, string>; body: string }) => SignedRequest;

/** The department's answer came without a receipt that verifies: the call failed, and is not tried again. */
class ReceiptInvalidError extends Error {
  constructor(readonly problem: string) {
    super(problem);
    this.name = 'ReceiptInvalidError';
  }
}

/**
 * Failures of the connection itself, before or while the department answered: safe to try
 * a query again. UND_ERR_SOCKET is undici's for a connection closed or reset under a
 * request (department-fetch.ts), the system's codes for what fails before it is sent.
 */
const CONNECTION_ERROR_CODES = new Set(['UND_ERR_SOCKET', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH']);

export interface DepartmentDataSourceOptions {
  /** How the department is called; default gateway/department-fetch.ts with a 3 s timeout. */
  fetcher?: Fetcher;
  /** The department's circuit; default one with CircuitBreaker's defaults. */
  breaker?: CircuitBreaker;
  /** Where the department's answers are kept (gateway/cache/); default none: every fetch goes to the department. */
  cache?: DepartmentCache;
  /** Told how each fetch ended and how long it took (metrics); default nothing. */
  observeCall?: (outcome: DepartmentCallOutcome, seconds: number) => void;
  /** Signs every request (RFC 9421, Ed25519); departments refuse unsigned ones. */
  sign: RequestSigner;
  /** Checks the department's signed receipt on every answer (receipts.ts): an answer without a valid one is a failed call. */
  receipts: ReceiptChecker;
  /** Told of every call made to the department, failed or not (the checkpoint witnesses: it is sent the gateway's next checkpoint); default nothing. */
  onCalled?: (department: string) => void;
  /** Where refused receipts and unusable department checkpoints are logged; default nowhere. */
  log?: Logger;
  /**
   * Whether the caller's bearer token goes to this department too: only to one that calls
   * the gateway back on the caller's behalf (the service bureau reads proofs through the
   * gateway, `callsGateway` in schema/departments.json); default false. Every other
   * department gets the caller as the gateway verified it, and could not replay a token
   * it never saw.
   */
  forwardsToken?: boolean;
}

/**
 * One department's subgraph as the gateway calls it. The caller's purpose headers go
 * with every call, so a department sees the same who and why the gateway checked.
 *
 * A failed call (refused or reset connection, timeout, non-2xx answer, unreadable body)
 * reaches callers as DEPARTMENT_UNAVAILABLE or DEPARTMENT_TIMEOUT naming the department,
 * never as @apollo/gateway's raw fetch error, whose message holds the subgraph's URL and
 * the department's own words. An answer without the department's valid signed receipt
 * (receipts.ts, issue 18) is a failed call too, DEPARTMENT_RECEIPT_INVALID: its facts are
 * withheld, and it is not tried again (the department answered; it would sign the same
 * way). Every call, failed or not, goes into the request's exchange evidence for its
 * audit record. A query whose connection failed is sent once more (a
 * pooled connection the department had just closed fails this way); a mutation never is,
 * since the department may have acted on it. Every outcome feeds the department's
 * circuit breaker, and while it is open calls fail at once.
 *
 * The department's answer to the caller's bad input is not a failure: an HTTP 400 whose
 * errors are all BAD_USER_INPUT is passed on like a 200 with such errors, with the
 * department's code and message (written for the caller), and for the circuit it is what
 * it is, the department answering. Otherwise any caller could open a department's circuit
 * for everyone by sending it bad input five times.
 *
 * It does what @apollo/gateway's RemoteGraphQLDataSource does for a plain POST (no
 * automatic persisted queries, no hooks), without the node-fetch Request and Headers
 * that class builds around every call for hooks we do not use: under load they were a
 * measurable share of the gateway's CPU (`npm run bench -- --profile`).
 */
export class DepartmentDataSource implements GraphQLDataSource<GatewayContext> {
  readonly fetcher: Fetcher;
  readonly breaker: CircuitBreaker;
  private readonly cache?: DepartmentCache;
  private readonly observeCall: (outcome: DepartmentCallOutcome, seconds: number) => void;
  private readonly sign: RequestSigner;
  private readonly receipts: ReceiptChecker;
  private readonly onCalled: (department: string) => void;
  private readonly log?: Logger;
  private readonly forwardsToken: boolean;
  private readonly signedUrl: string;
  private readonly witnessUrl: string;

  constructor(readonly department: string, readonly url: string, options: DepartmentDataSourceOptions) {
    this.fetcher = options.fetcher ?? departmentFetcher({ timeoutMs: 3000 });
    this.breaker = options.breaker ?? new CircuitBreaker();
    this.cache = options.cache;
    this.observeCall = options.observeCall ?? (() => undefined);
    this.sign = options.sign;
    this.receipts = options.receipts;
    this.onCalled = options.onCalled ?? (() => undefined);
    this.log = options.log;
    this.forwardsToken = options.forwardsToken ?? false;
    this.signedUrl = url === '' ? url : new URL(url).href;
    this.witnessUrl = url === '' ? url : new URL(WITNESS_PATH, url).href;
  }

  /** The headers of one call: JSON, the department meant, and the caller's who and why (a call made for an incoming operation only). */
  private headersFor(options: GraphQLDataSourceProcessOptions<GatewayContext>): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json', [DEPARTMENT_HEADER]: this.department };
    if (!('incomingRequestContext' in options)) return headers;
    const { context, request } = options.incomingRequestContext;
    context.departmentsCalled?.add(this.department);
    const incoming = request.http?.headers;
    for (const name of FORWARDED_HEADERS) {
      const value = incoming?.get(name);
      if (value) headers[name] = value;
    }
    if (context.caller) headers[CALLER_HEADER] = memoisedIn(encodedCallers, context.caller, () => encodeAssertedCaller(context.caller as Caller));
    const authorization = this.forwardsToken ? incoming?.get('authorization') : undefined;
    if (authorization) headers.authorization = authorization;
    return headers;
  }

  /**
   * One POST of `body` with `headers` to `url`, signed (a new signature, and nonce, each
   * time: a retry is a new request), and how to send it: what was signed is known before
   * the request leaves, so a call that fails is in the evidence too.
   */
  private signedPost(headers: Record<string, string>, body: string, url = this.url): { signing: SignedRequest; send: () => Promise<FetcherResponse> } {
    // The department rebuilds @target-uri from its scheme, the Host header and the path: the URL as undici sends it, normalised.
    const signing = this.sign({ method: 'POST', targetUri: url === this.url ? this.signedUrl : url, headers, body });
    return { signing, send: () => this.fetcher(url, { method: 'POST', headers: { ...headers, ...signing.headers }, body }) };
  }

  /**
   * Whether the department answers the smallest GraphQL request, `{ __typename }`, signed
   * like every call and over the same connection pool, TLS and deadline, with a receipt
   * that verifies (`/readyz`): a department whose receipts the gateway refuses is not
   * ready, whatever else it answers.
   */
  async answersReadinessProbe(): Promise<boolean> {
    const post = this.signedPost({ 'content-type': 'application/json', [DEPARTMENT_HEADER]: this.department, 'x-request-id': randomUUID() }, JSON.stringify({ query: READINESS_PROBE_QUERY }));
    const response = await post.send();
    if (!response.ok) return false;
    const body = await bodyBytesOf(response);
    if (!this.receipts.receiptOf(this.receivedAnswer(post.signing.signatureBase, response, body)).receipt) return false;
    return (JSON.parse(body.toString('utf8')) as { data?: { __typename?: unknown } } | null)?.data?.__typename === 'Query';
  }

  /**
   * Sends a checkpoint of the gateway's own audit chain for the department to witness
   * (exchange.ts WITNESS_PATH): signed like every call, its JSON the body. Rejects, saying
   * why, unless the department answers 200 with a receipt that verifies for it.
   */
  async witnessCheckpoint(checkpoint: SignedCheckpoint): Promise<void> {
    const headers = { 'content-type': 'application/json', [DEPARTMENT_HEADER]: this.department, 'x-request-id': randomUUID() };
    const post = this.signedPost(headers, JSON.stringify(checkpoint), this.witnessUrl);
    const response = await post.send();
    if (response.status !== 200) throw new Error(`the ${this.department} department answered HTTP ${response.status}`);
    const verdict = this.receipts.receiptOf(this.receivedAnswer(post.signing.signatureBase, response, await bodyBytesOf(response)));
    if (!verdict.receipt) throw new Error(`the ${this.department} department's answer has no valid receipt: ${verdict.problem}`);
  }

  private receivedAnswer(signatureBase: string, response: FetcherResponse, body: Buffer): ReceivedAnswer {
    return { department: this.department, signatureBase, status: response.status, body, header: (name) => response.headers.get(name) };
  }

  /**
   * A fetch of the query plan, answered from the cache when it holds the department's
   * answer, else by the department (and then kept). Apollo Server's plugins (purpose,
   * scopes, limits, rate limits, the audit rewrite) have all run before the plan executes,
   * so a kept answer passes the same checks as a fresh one, and the audit plugin finds the
   * citizens in it as in any answer. A kept answer counts as a call to the department in
   * the audit record: the facts are the department's. It also serves while the
   * department's circuit is open.
   */
  async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    const { query, variables } = options.request;
    const fetch = this.cache && 'incomingRequestContext' in options && query ? this.cache.cacheableFetch(this.department, { query, variables }) : undefined;
    if (!this.cache || !fetch) return this.callDepartment(options);
    const started = performance.now();
    const kept = await this.cache.lookUp(fetch);
    if (kept) {
      this.observeCall('cache_hit', (performance.now() - started) / 1000);
      return this.answeredFromCache(options, kept);
    }
    const response = await this.callDepartment(options);
    await this.cache.rememberAnswer(fetch, response);
    return response;
  }

  private answeredFromCache(options: GraphQLDataSourceProcessOptions<GatewayContext>, kept: DepartmentAnswer): GatewayGraphQLResponse {
    if ('incomingRequestContext' in options) {
      options.incomingRequestContext.context.departmentsCalled?.add(this.department);
      // As a department's `no-store` does on a fresh answer: the caller's own caches must not keep an answer that may already be old.
      options.incomingRequestContext.overallCachePolicy?.restrict?.({ maxAge: 0 });
    }
    return kept as GatewayGraphQLResponse;
  }

  private async callDepartment(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    if (!this.breaker.tryAcquire()) {
      this.observeCall('circuit_open', seconds());
      throw this.unavailable();
    }
    const mayRetry = isQuery(options.request.query ?? '');
    try {
      const response = await this.exchange(options).catch((error: unknown) => {
        if (mayRetry && isConnectionError(error)) return this.exchange(options);
        throw error;
      });
      this.breaker.recordSuccess();
      this.observeCall('ok', seconds());
      return response;
    } catch (error) {
      this.breaker.recordFailure();
      if (error instanceof ReceiptInvalidError) {
        this.observeCall('receipt_invalid', seconds());
        throw this.receiptInvalid(error.problem);
      }
      const isTimeout = error instanceof DepartmentTimeoutError;
      this.observeCall(isTimeout ? 'timeout' : 'error', seconds());
      throw isTimeout ? this.timedOut(error.timeoutMs) : this.unavailable();
    }
  }

  /**
   * One POST to the department; any answer but a JSON object, 2xx or the caller's bad input
   * (isCallersBadInput), with the department's receipt for it, is a failure. The receipt
   * is checked over the body's bytes as they arrived, before they are parsed: the
   * department vouches for the bytes, not for what JSON.parse makes of them. The call
   * goes into the request's exchange evidence (context.ts) as it is signed, and how it
   * ended once it has.
   */
  private async exchange(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    const { query, variables, operationName, extensions } = options.request;
    const headers = this.headersFor(options);
    const evidence = 'incomingRequestContext' in options ? options.incomingRequestContext.context.exchange : undefined;
    const post = this.signedPost(headers, JSON.stringify({ query, variables, operationName, extensions }));
    const { signatureBase, headers: signed } = post.signing;
    const call: DepartmentCallEvidence = { department: this.department, signatureBase, signatureInput: signed['signature-input'], signature: signed.signature, receipt: null, failure: null };
    evidence?.calls.push(call);
    this.onCalled(this.department);
    try {
      const response = await post.send();
      const bytes = await bodyBytesOf(response);
      const answer = this.receivedAnswer(signatureBase, response, bytes);
      const verdict = this.receipts.receiptOf(answer);
      // A refusal (a department's own purpose check: 403) is an answer the department logged and signed for: its receipt, and the
      // log checkpoint it may carry (sent once per checkpoint), are kept even though the call fails, or reconciliation would take
      // the logged refusal for an answer that never arrived, and the checkpoint would never reach the gateway's record.
      if (verdict.receipt) {
        call.receipt = verdict.receipt;
        const departmentCheckpoint = this.receipts.checkpointOf(answer, verdict.receipt);
        if (departmentCheckpoint.checkpoint) evidence?.departmentCheckpoints.push(departmentCheckpoint.checkpoint);
        if (departmentCheckpoint.problem) this.log?.warn({ department: this.department, requestId: headers['x-request-id'], reason: departmentCheckpoint.problem }, `ignored the ${this.department} department's log checkpoint: ${departmentCheckpoint.problem}`);
      }
      if (!response.ok && response.status !== 400) throw new Error(`the department answered HTTP ${response.status}`);
      if (!verdict.receipt) {
        this.log?.warn({ department: this.department, requestId: headers['x-request-id'], reason: verdict.problem }, `the ${this.department} department's answer was refused: ${verdict.problem}`);
        throw new ReceiptInvalidError(verdict.problem);
      }
      if (!/^application\/(graphql-response\+)?json\b/.test(response.headers.get('content-type') ?? '')) throw new Error('the department did not answer JSON');
      const body: unknown = JSON.parse(bytes.toString('utf8'));
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error('the department did not answer a JSON object');
      if (!response.ok && !isCallersBadInput(body)) throw new Error('the department answered HTTP 400 with errors other than the caller\'s bad input');
      if ('incomingRequestContext' in options) restrictCachePolicy(options.incomingRequestContext.overallCachePolicy, response);
      return { ...(body as GatewayGraphQLResponse), http: response } as GatewayGraphQLResponse;
    } catch (error) {
      call.failure = failureCodeOf(error);
      throw error;
    }
  }

  private receiptInvalid(problem: string): GraphQLError {
    return new GraphQLError(`the ${this.department} department's answer has no valid receipt: ${problem}`, {
      extensions: { code: ErrorCode.DEPARTMENT_RECEIPT_INVALID, department: this.department },
    });
  }

  private unavailable(): GraphQLError {
    return new GraphQLError(`the ${this.department} department could not answer`, {
      extensions: { code: ErrorCode.DEPARTMENT_UNAVAILABLE, department: this.department },
    });
  }

  private timedOut(timeoutMs: number): GraphQLError {
    return new GraphQLError(`the ${this.department} department did not answer within ${timeoutMs} ms`, {
      extensions: { code: ErrorCode.DEPARTMENT_TIMEOUT, department: this.department },
    });
  }
}

/**
 * The caller's answer may be cached no longer than the department's: its `cache-control`
 * restricts the request's overall policy, as RemoteGraphQLDataSource does (our departments
 * send `no-store`, so the gateway's answers are never cacheable).
 */
function restrictCachePolicy(policy: GatewayCachePolicy | undefined, response: FetcherResponse): void {
  if (!policy || !('restrict' in policy)) return;
  const header = response.headers.get('cache-control') ?? '';
  const maxAge = /(?:^|,)\s*max-age=(\d+)/.exec(header);
  policy.restrict({
    maxAge: maxAge ? Number(maxAge[1]) : 0,
    ...(/(?:^|,)\s*private\b/.test(header) ? { scope: 'PRIVATE' as const } : /(?:^|,)\s*public\b/.test(header) ? { scope: 'PUBLIC' as const } : {}),
  });
}

/**
 * Whether a department's HTTP 400 is its answer to the caller's bad input: every error is
 * BAD_USER_INPUT (Apollo Server answers a variable its schema cannot coerce this way, and
 * departments raise it for a malformed argument). Any other 400 (GRAPHQL_VALIDATION_FAILED:
 * the department does not know the document the gateway planned) is the department's or
 * the deployment's fault.
 */
function isCallersBadInput(body: object): boolean {
  const { errors } = body as { errors?: unknown };
  return (
    Array.isArray(errors) &&
    errors.length > 0 &&
    errors.every((error) => (error as { extensions?: { code?: unknown } } | null)?.extensions?.code === ErrorCode.BAD_USER_INPUT)
  );
}

/** The code a failed call is recorded with in the exchange evidence: the one the caller is given for it. */
function failureCodeOf(error: unknown): string {
  if (error instanceof ReceiptInvalidError) return ErrorCode.DEPARTMENT_RECEIPT_INVALID;
  if (error instanceof DepartmentTimeoutError) return ErrorCode.DEPARTMENT_TIMEOUT;
  return ErrorCode.DEPARTMENT_UNAVAILABLE;
}

/** The answer's body as the exact bytes received: what its receipt's digest is of. */
async function bodyBytesOf(response: FetcherResponse): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

/** By its code alone: an error Node raised may come from another realm than `Error` here (jest runs each test file in its own, jestjs/jest#2549). */
function isConnectionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null | undefined)?.code;
  return typeof code === 'string' && CONNECTION_ERROR_CODES.has(code);
}
