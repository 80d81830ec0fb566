import { createHash } from 'node:crypto';
import type { ApolloServerPlugin, GraphQLRequestContext, GraphQLRequestContextWillSendResponse } from '@apollo/server';
import type { IncomingHttpHeaders } from 'node:http';
import { GraphQLError, Kind, type DocumentNode, type GraphQLFormattedError, type OperationDefinitionNode } from 'graphql';
import type { AuditEntry } from '../../audit/entry';
import type { AuditLog } from '../../audit/log';
import { ErrorCode } from '../../lib/error-codes';
import { documentHash } from '../../lib/document-hash';
import { withTimeout } from '../../lib/with-timeout';
import { takeAuditIdentifiers, withAuditIdentifiers } from '../audit-identifiers';
import type { Caller } from '../auth';
import { identifiersIn } from './identifier-arguments';
import { refuse, type GatewayContext } from '../context';
import { analyseOperation, isIntrospectionCoordinate } from '../operation-analysis';
import { outcomeOf, type Outcome } from '../outcome';
import { storablePurposeHeader } from './purpose';
import { coercedVariables } from '../variables';

export interface AuditOptions {
  log: AuditLog;
  /** How long an answer waits for its record to be durable before it is refused with 503; default 5000 ms. */
  writeTimeoutMs?: number;
  /** Told how long each record took to become durable (or to fail); default nothing. */
  observeWrite?: (seconds: number, isDurable: boolean) => void;
  /**
   * Asked whether an answer disclosing these citizens may leave (the distinct-citizens
   * limit); a refusal replaces the answer before its record is written. Default: always.
   */
  admitDisclosure?: (caller: Caller, citizens: string[]) => Promise<GraphQLError | null>;
}

/** The 503 a caller gets when the audit store cannot take the record: no personal data leaves unrecorded. */
export const AUDIT_UNAVAILABLE: GraphQLFormattedError = {
  message: 'the audit log cannot be written; no data is released until it can',
  extensions: { code: ErrorCode.AUDIT_UNAVAILABLE },
};

/**
 * The audit record of every operation that carries a purpose, comes from a known caller or
 * touches personal data, allowed or refused (X-Road style). It is written, durably, in
 * `willSendResponse`, which Apollo Server awaits before the response is written to the
 * socket: a caller never holds an answer whose record could still be lost. When the log
 * cannot be written the answer is replaced by 503 AUDIT_UNAVAILABLE: fail closed.
 */
export function auditPlugin(options: AuditOptions): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      // The caller's own document and the coordinates it selects, before the audit rewrite adds idNumber.
      let callerDocument: DocumentNode | undefined;
      let requested: string[] | undefined;
      return {
        async didResolveOperation(requestContext) {
          const { operation, document, schema } = requestContext;
          if (!operation) return;
          callerDocument = document;
          // Asked-for citizens count even when the operation is refused: an attempt is what auditors look for.
          const variables = coercedVariables(requestContext).values ?? requestContext.request.variables ?? {};
          requestContext.contextValue.citizensAsked ??= identifiersIn(schema, document, operation, variables, Number.MAX_SAFE_INTEGER).idNumbers;
          requested = [...analyseOperation(schema, document, operation).coordinates].filter((coordinate) => !isIntrospectionCoordinate(coordinate));
          // Runs after every check has had its say (plugins run in order, checks first).
          if (requestContext.contextValue.refusal) return;
          let rewritten: DocumentNode;
          try {
            rewritten = withAuditIdentifiers(schema, document);
          } catch {
            // No answer may leave that its record could fail to name: refuse, as for any fault of the gateway's own.
            refuse(requestContext, new GraphQLError('internal error', { extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, http: { status: 500 } } }));
          }
          const name = operation.name?.value;
          const rewrittenOperation = rewritten.definitions.find(
            (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION && definition.name?.value === name,
          );
          // The executor plans what the request context holds: from here on, the rewritten query.
          (requestContext as { document: DocumentNode }).document = rewritten;
          (requestContext as { operation: OperationDefinitionNode | undefined }).operation = rewrittenOperation;
        },
        async willSendResponse(requestContext) {
          const context = requestContext.contextValue;
          // The operation is the rewritten one here: willSendResponse sees what the executor planned.
          const answered = singleResultOf(requestContext)?.data;
          const returned = answered && requestContext.document && requestContext.operation ? takeAuditIdentifiers(answered, requestContext.document, requestContext.operation) : [];
          if (context.caller && options.admitDisclosure && !context.refusal) {
            // Citizens the request asked for were counted before it ran.
            const asked = new Set(context.citizensAsked);
            const refusal = await options.admitDisclosure(context.caller, returned.filter((citizen) => !asked.has(citizen)));
            if (refusal) replaceWithRefusal(requestContext, refusal);
          }
          const result = singleResultOf(requestContext);
          const outcome = outcomeOf(context, result?.data, result?.errors ?? []);
          const entry = auditEntryFor(requestContext, callerDocument, requested ?? [], outcome, returned);
          context.ending.outcome = outcome;
          context.ending.serviceItem = context.purpose?.serviceItem;
          context.ending.refusalCode = context.refusal?.extensions.code as string | undefined;
          if (!entry) return;
          const started = performance.now();
          try {
            await durableWithin(options.log.record(entry), options.writeTimeoutMs ?? 5000);
            options.observeWrite?.((performance.now() - started) / 1000, true);
          } catch {
            options.observeWrite?.((performance.now() - started) / 1000, false);
            failClosed(requestContext);
            context.ending.outcome = 'error';
          }
        },
      };
    },
  };
}

/** Everything the record holds, from the request context as the response is about to leave; null when there is nothing to record. */
function auditEntryFor(
  requestContext: GraphQLRequestContextWillSendResponse<GatewayContext>,
  callerDocument: DocumentNode | undefined,
  requested: string[],
  outcome: Outcome,
  returned: string[],
): AuditEntry | null {
  const context = requestContext.contextValue;
  const headers = requestContext.request.http?.headers;
  const serviceItem = headers?.get('x-service-item') ?? null;
  const caseNumber = headers?.get('x-case-number') ?? null;
  const result = singleResultOf(requestContext);
  if (!context.caller && !serviceItem && !caseNumber && requested.length === 0) return null;

  const errors = result?.errors ?? [];
  return {
    time: new Date(context.startedAt).toISOString(),
    requestId: context.requestId,
    application: context.caller?.application ?? null,
    officer: context.caller?.officer ?? null,
    role: context.caller?.role ?? null,
    serviceItem: storablePurposeHeader('x-service-item', serviceItem),
    caseNumber: storablePurposeHeader('x-case-number', caseNumber),
    operationName: requestContext.operationName ?? null,
    documentHash: callerDocument ? documentHash(callerDocument) : sourceHash(requestContext),
    // Disclosed: what an answered operation could show. A refused one disclosed nothing.
    coordinates: outcome === 'ok' || outcome === 'partial' ? requested : [],
    citizens: [...new Set([...(context.citizensAsked ?? []), ...returned])],
    departments: [...context.departmentsCalled],
    outcome,
    errorCodes: [...new Set(errors.map((error) => String(error.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR)))],
    latencyMs: Date.now() - context.startedAt,
    exchange: context.exchange && context.exchange.calls.length > 0
      ? { kind: 'gateway-calls', calls: context.exchange.calls, departmentCheckpoints: context.exchange.departmentCheckpoints }
      : null,
  };
}

/** For a request refused before its document resolved (unparseable, invalid): the hash of the text as sent. */
function sourceHash(requestContext: GraphQLRequestContext<GatewayContext>): string | null {
  return requestContext.source ? createHash('sha256').update(requestContext.source).digest('hex') : null;
}

/** The answer about to leave, when it is a single result (the gateway sends no incremental ones). */
function singleResultOf(requestContext: GraphQLRequestContextWillSendResponse<GatewayContext>) {
  const body = requestContext.response.body;
  return body.kind === 'single' ? body.singleResult : undefined;
}

/** A request refused before Apollo Server's request pipeline, where the audit plugin works. */
export interface RefusalBeforePipeline {
  requestId: string;
  /** When the request arrived, in ms since the epoch. */
  startedAt: number;
  /** The verified caller; null when none is known (no token, or a bad one). */
  caller: Caller | null;
  /** The request's headers, for the purpose it claimed. */
  headers: IncomingHttpHeaders;
  /** The refusal's `extensions.code`. */
  code: string;
}

/**
 * The record of a request refused before Apollo Server's pipeline (a bad token, a body that
 * cannot be read, a batch...): nothing was disclosed and no department called. When even
 * that cannot be written, throws the 503 AUDIT_UNAVAILABLE that replaces the refusal.
 */
export async function recordRefusedBeforePipeline(log: AuditLog, refusal: RefusalBeforePipeline, writeTimeoutMs = 5000): Promise<void> {
  const header = (name: 'x-service-item' | 'x-case-number') => {
    const value = refusal.headers[name];
    return storablePurposeHeader(name, typeof value === 'string' ? value : null);
  };
  try {
    await durableWithin(log.record(refusalEntry({
      time: new Date(refusal.startedAt).toISOString(),
      requestId: refusal.requestId,
      caller: refusal.caller,
      serviceItem: header('x-service-item'),
      caseNumber: header('x-case-number'),
      errorCodes: [refusal.code],
      latencyMs: Date.now() - refusal.startedAt,
    })), writeTimeoutMs);
  } catch {
    throw new GraphQLError(AUDIT_UNAVAILABLE.message, { extensions: { code: ErrorCode.AUDIT_UNAVAILABLE, http: { status: 503 } } });
  }
}

/** The record of requests refused before any document ran: who and why, and nothing read, disclosed or called. */
export function refusalEntry(refusal: {
  time: string;
  requestId: string;
  caller: Caller | null;
  serviceItem: string | null;
  caseNumber: string | null;
  errorCodes: string[];
  latencyMs: number;
  /** How many requests the record stands for; default 1. */
  requests?: number;
}): AuditEntry {
  return {
    time: refusal.time,
    requestId: refusal.requestId,
    application: refusal.caller?.application ?? null,
    officer: refusal.caller?.officer ?? null,
    role: refusal.caller?.role ?? null,
    serviceItem: refusal.serviceItem,
    caseNumber: refusal.caseNumber,
    operationName: null,
    documentHash: null,
    coordinates: [],
    citizens: [],
    departments: [],
    outcome: 'refused',
    errorCodes: refusal.errorCodes,
    latencyMs: refusal.latencyMs,
    ...(refusal.requests === undefined ? {} : { requests: refusal.requests }),
  };
}

/** A store that hangs must not hold answers forever: past the timeout the answer is refused, the record may still land. */
function durableWithin(write: Promise<unknown>, ms: number): Promise<unknown> {
  return withTimeout(write, ms, `audit write took longer than ${ms} ms`);
}

/** The answer withheld and a refusal in its place, as if a check had refused the request before it ran. */
function replaceWithRefusal(requestContext: GraphQLRequestContextWillSendResponse<GatewayContext>, refusal: GraphQLError): void {
  requestContext.contextValue.refusal = refusal;
  const { http, ...extensions } = refusal.extensions as { http?: { status?: number; headers?: Map<string, string> } };
  requestContext.response.body = { kind: 'single', singleResult: { errors: [{ message: refusal.message, extensions }] } };
  requestContext.response.http.status = http?.status;
  for (const [name, value] of http?.headers ?? []) requestContext.response.http.headers.set(name, value);
}

function failClosed(requestContext: GraphQLRequestContextWillSendResponse<GatewayContext>): void {
  requestContext.response.body = { kind: 'single', singleResult: { errors: [AUDIT_UNAVAILABLE] } };
  requestContext.response.http.status = 503;
}
