import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { AccessLogConfig } from '../../audit/access-log-config';
import type { AuditEntry, Outcome } from '../../audit/entry';
import { CHECKPOINT_HEADER, RECEIPT_HEADER, type DepartmentAnswerEvidence, type ExchangeEvidence } from '../../audit/exchange';
import { openAuditLog, type AuditLog } from '../../audit/log';
import { openAuditStore } from '../../audit/open-store';
import { refusalAggregates } from '../../audit/refusal-aggregates';
import { encodeHeaderValue, sha256Hex, signReceipt } from '../../audit/receipt';
import { loadSigningKey } from '../../audit/signing';
import type { SignedCheckpoint } from '../../audit/store';
import { CALLER_HEADER, decodeAssertedCaller } from '../../lib/asserted-caller';
import { ErrorCode } from '../../lib/error-codes';
import type { ErrorAnswer, SealDecision, SealedAnswer } from '../../lib/graphql-http';
import type { Logger } from '../../lib/logger';
import { withTimeout } from '../../lib/with-timeout';
import { accessLogNotes } from './access-log-notes';
import { clientCertificateName, type VerifiedGatewayRequest } from './security';

/**
 * A department's own access log (issue 18): one record per request it answered or
 * refused, in a hash-chained log with signed, linked checkpoints of its own (audit/log.ts,
 * the gateway's kind), durable before a byte of the answer leaves; and, on every answer
 * to a request whose gateway signature verified, a receipt signed with the department's
 * key naming the request (the digest of its signature base), the answer (the digest of
 * its exact body), the status and where the record is (chain, sequence).
 *
 * Fail closed: when the record cannot be written within `writeTimeoutMs`, the answer is
 * replaced by 503 DEPARTMENT_LOG_UNAVAILABLE and nothing of it leaves.
 *
 * What is recorded of a request whose signature did not verify: who sent it is unknown,
 * so the caller and purpose headers are recorded as null (anyone may write an officer's
 * name into a header; the log must not accuse them), with the digests of the body and of
 * the refusal sent. It gets no receipt: a receipt names the signature base the gateway
 * signed, and there is none; nobody the department answers to could check one.
 *
 * Its refusal is recorded in aggregate (audit/refusal-aggregates.ts): anyone holding any
 * federation process's certificate gets past the TLS handshake, and one durable record
 * per refusal would let them fill the department's disk. Refusals alike (same code,
 * status and client certificate name) within `refusalWindowMs` become one record, with
 * `requests` their count, the first one's time, request ID and digests; at most
 * MAX_REFUSAL_KINDS kinds a window, the rest in one catch-all record. The refusal does
 * not wait for its record (it released nothing); a record that cannot be written is
 * logged. Refusals of a verified request (the purpose check's) are recorded one each,
 * durable before the answer, with their receipt.
 *
 * After each checkpoint of the log, the next answer to each gateway key (by the verified
 * signature's keyid) carries it once in CHECKPOINT_HEADER, so the gateway can record the
 * department's chain head in its own chain.
 */
export interface DepartmentAccessLog {
  readonly chainId: string;
  /** Notes each request's operation, coordinates, citizens and outcome as Apollo Server runs it; first among the department's plugins. */
  plugin: ApolloServerPlugin<BaseContext>;
  /** Gives a request's context (as the department built it, before Apollo Server sees it) a place for the plugin's notes. */
  withNotes<Context extends object>(context: Context): Context;
  /** graphql-http's `seal` for `/graphql`: records the answer, then adds its receipt, or replaces it by the 503. */
  seal(answer: SealedAnswer<BaseContext>): Promise<SealDecision>;
  /** Records an answer given outside `/graphql` (the witness route): the entry, then the receipt for `answerBody` when the request verified. */
  recordAnswer(entry: AuditEntry, answer: RecordedAnswer): Promise<SealDecision>;
  /** Writes what is pending, checkpoints, closes the store: after the server has drained. */
  close(): Promise<void>;
}

/** An answer as `recordAnswer` records it: what verified of its request (the client certificate's name, from `req`, keys a refusal's aggregate). */
export interface RecordedAnswer {
  req: IncomingMessage;
  verified: VerifiedGatewayRequest | undefined;
  status: number;
  body: string;
}

/** Kinds of refusal of unverified requests counted apart in one window; past this, one catch-all record. */
export const MAX_REFUSAL_KINDS = 1000;

export interface AccessLogOptions {
  /** What the department's security verified of a request (security.ts verifiedRequest). */
  verifiedRequest(req: IncomingMessage): VerifiedGatewayRequest | undefined;
  logger: Logger;
  /** Stamps receipts and checkpoints; default `() => new Date()`. */
  clock?: () => Date;
}

/** The answer that replaces any other when the record of it cannot be written. */
export const LOG_UNAVAILABLE: ErrorAnswer = {
  status: 503,
  code: ErrorCode.DEPARTMENT_LOG_UNAVAILABLE,
  message: 'the department cannot write its access log, so it releases nothing: retry later',
};

/** Opens department `config.department`'s access log from its configuration: its store, its chain at its head, its key. */
export async function openDepartmentAccessLog(config: AccessLogConfig, options: AccessLogOptions): Promise<DepartmentAccessLog> {
  const { department, writeTimeoutMs } = config;
  const { logger } = options;
  const clock = options.clock ?? (() => new Date());
  const key = loadSigningKey(config.keyFile);
  const notes = accessLogNotes();
  /** The log's latest checkpoint, and the gateway keys that were sent it. */
  let latest: SignedCheckpoint | null = null;
  const sentLatestTo = new Set<string>();
  const store = await openAuditStore(config);
  let log: AuditLog;
  try {
    log = await openAuditLog({
      store,
      chainId: config.chainId,
      signingKeyFile: config.keyFile,
      clock,
      groupCommitWindowMs: config.groupCommitWindowMs,
      maxGroupSize: config.maxGroupSize,
      checkpointIntervalMs: config.checkpointIntervalMs,
      onCheckpointError: (error) => logger.error({ reason: error.message }, `${department}: could not checkpoint its access log`),
      onStoreDisagrees: (message) => logger.error({ reason: message }, `${department}: its access log's store disagrees with what it wrote`),
      onCheckpoint: (checkpoint) => {
        latest = checkpoint;
        sentLatestTo.clear();
      },
    });
    // A restarted department sends the checkpoint it closed its log with, until it signs another.
    latest ??= await store.lastCheckpoint(log.chainId);
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }

  const unverifiedRefusals = refusalAggregates({
    windowMs: config.refusalWindowMs,
    maxKeys: MAX_REFUSAL_KINDS,
    write: (entry) => withTimeout(log.record(entry), writeTimeoutMs, `the access log took longer than ${writeTimeoutMs} ms`),
    onWritten: (entry) => logger.info({ firstRequestId: entry.requestId, requests: entry.requests, errorCodes: entry.errorCodes }, `${department}: recorded refusals of unverified requests together`),
    onWriteError: (entry, error) => logger.error(
      { firstRequestId: entry.requestId, requests: entry.requests, errorCodes: entry.errorCodes, code: ErrorCode.DEPARTMENT_LOG_UNAVAILABLE, reason: error.message },
      `${department}: cannot write its access log; the record of refusals of unverified requests is lost (they released nothing)`,
    ),
  });

  async function recordAnswer(entry: AuditEntry, answer: RecordedAnswer): Promise<SealDecision> {
    if (!answer.verified && entry.outcome === 'refused') {
      unverifiedRefusals.count(`${entry.errorCodes.join(',')} ${answer.status} ${clientCertificateName(answer.req.socket)}`, entry);
      return { headers: {} };
    }
    let sequence: number;
    try {
      ({ sequence } = await withTimeout(log.record(entry), writeTimeoutMs, `the access log took longer than ${writeTimeoutMs} ms`));
    } catch (error) {
      logger.error({ requestId: entry.requestId, code: ErrorCode.DEPARTMENT_LOG_UNAVAILABLE, reason: (error as Error).message }, `${department}: cannot write its access log; answered 503 and released nothing`);
      return { instead: LOG_UNAVAILABLE };
    }
    const { verified } = answer;
    if (!verified) return { headers: {} };
    const receipt = signReceipt({
      department,
      requestDigest: verified.requestDigest,
      answerDigest: sha256Hex(answer.body),
      status: answer.status,
      chainId: log.chainId,
      sequence,
      time: clock().toISOString(),
    }, key);
    const headers: Record<string, string> = { [RECEIPT_HEADER]: encodeHeaderValue(receipt) };
    if (latest && !sentLatestTo.has(verified.gatewayKeyId)) {
      sentLatestTo.add(verified.gatewayKeyId);
      headers[CHECKPOINT_HEADER] = encodeHeaderValue(latest);
    }
    return { headers };
  }

  return {
    chainId: log.chainId,
    plugin: notes.plugin,
    withNotes: notes.withNotes,
    recordAnswer,
    seal(answer) {
      const verified = options.verifiedRequest(answer.req);
      const noted = notes.notesOf(answer.context);
      const outcome: Outcome = noted?.outcome ?? outcomeOfStatus(answer.status);
      const isAnswered = outcome === 'ok' || outcome === 'partial';
      const entry: AuditEntry = {
        ...requestFacts(answer.req, answer.requestId, answer.arrivedAt, verified),
        operationName: noted?.operationName ?? null,
        documentHash: noted?.documentHash ?? null,
        // Disclosed: what an answered operation could show. A refused one disclosed nothing.
        coordinates: noted && isAnswered ? noted.selected : [],
        citizens: noted ? [...noted.asked, ...noted.returned] : [],
        departments: [department],
        outcome,
        errorCodes: noted?.errorCodes ?? (answer.refusalCode ? [answer.refusalCode] : codesOf(answer.body)),
        latencyMs: Date.now() - answer.arrivedAt,
        exchange: answerEvidence(department, verified, answer.requestBody, answer.status, answer.body),
      };
      return recordAnswer(entry, { req: answer.req, verified, status: answer.status, body: answer.body });
    },
    async close() {
      try {
        await unverifiedRefusals.close();
        await log.close();
      } finally {
        await store.close();
      }
    },
  };
}

/**
 * When the request arrived, its ID, and the caller and purpose the gateway signed for:
 * recorded only from a request whose signature verified (see DepartmentAccessLog).
 */
export function requestFacts(req: IncomingMessage, requestId: string, arrivedAt: number, verified: VerifiedGatewayRequest | undefined): Pick<AuditEntry, 'time' | 'requestId' | 'application' | 'officer' | 'role' | 'serviceItem' | 'caseNumber'> {
  const header = (name: string) => {
    const value = req.headers[name];
    return verified && typeof value === 'string' ? value : null;
  };
  const asserted = verified ? decodeAssertedCaller(header(CALLER_HEADER) ?? undefined) : undefined;
  const caller = asserted && 'caller' in asserted ? asserted.caller : undefined;
  return {
    time: new Date(arrivedAt).toISOString(),
    requestId,
    application: caller?.application ?? null,
    officer: caller?.officer ?? null,
    role: caller?.role ?? null,
    serviceItem: header('x-service-item'),
    caseNumber: header('x-case-number'),
  };
}

/** The exchange as the department saw it: what verified, the digests of the body that came and of the answer that leaves, and its status. */
export function answerEvidence(department: string, verified: VerifiedGatewayRequest | undefined, requestBody: Buffer | null, status: number, body: string): ExchangeEvidence {
  const evidence: DepartmentAnswerEvidence = {
    kind: 'department-answer',
    department,
    gatewayKeyId: verified?.gatewayKeyId ?? null,
    requestDigest: verified?.requestDigest ?? null,
    bodyDigest: requestBody ? sha256Hex(requestBody) : null,
    answerDigest: sha256Hex(body),
    status,
  };
  return evidence;
}

/** An answer given without GraphQL running: refused when the caller's fault (4xx), else an error. */
export function outcomeOfStatus(status: number): Outcome {
  return status >= 400 && status < 500 ? 'refused' : status < 400 ? 'ok' : 'error';
}

/** The codes of an error answer's errors; none for an answer that is not one. */
function codesOf(body: string): string[] {
  try {
    const errors = (JSON.parse(body) as { errors?: Array<{ extensions?: { code?: unknown } }> }).errors ?? [];
    return [...new Set(errors.map((error) => String(error.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR)))];
  } catch {
    return [];
  }
}
