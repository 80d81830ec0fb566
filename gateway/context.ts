import type { GraphQLRequestContext } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import type { DepartmentCallEvidence } from '../audit/exchange';
import type { SignedCheckpoint } from '../audit/store';
import { beforeExecution } from '../lib/error-codes';
import type { Caller } from './auth';
import type { Outcome } from './outcome';

/** Per-request state the gateway's plugins share. */
export interface GatewayContext {
  /** The verified caller, or null for a request without a bearer token. */
  caller: Caller | null;
  /** Names this request in the audit log and in the `x-request-id` response header. */
  requestId: string;
  /** When the request arrived (ms since the epoch), for the audit record's time and latency. */
  startedAt: number;
  /** Departments the gateway called for this request, filled in by the data sources. */
  departmentsCalled: Set<string>;
  /**
   * What the audit record adds about the calls (audit/exchange.ts GatewayCallsEvidence),
   * filled in by the data sources: every call in the order it was signed, with the
   * department's receipt or the code it failed with, and every department log checkpoint
   * that came with an answer and verified. Shared by reference, like `ending`. Answers
   * from the gateway's cache are not calls and add nothing.
   */
  exchange?: { calls: DepartmentCallEvidence[]; departmentCheckpoints: SignedCheckpoint[] };
  /** The purpose headers, once the purpose plugin has accepted them. */
  purpose?: { serviceItem: string; caseNumber: string };
  /** Normalised ID numbers the operation names in its arguments. */
  citizensAsked?: string[];
  /** The first check that refused the request; later checks then do nothing. */
  refusal?: GraphQLError;
  /**
   * How the request ended, once its answer is final (the audit plugin fills it in after
   * its write), for metrics and the request log, which read it after the answer is
   * written. An object built with the context, because Apollo Server hands plugins a
   * shallow copy of the context: fields set on that copy are not seen here, fields of a
   * shared object are.
   */
  ending: { outcome?: Outcome; refusalCode?: string; serviceItem?: string };
}

/**
 * Refuses the request. Apollo Server runs every plugin's `didResolveOperation` together
 * (`Promise.all`), so a refusal is recorded on the context before it is thrown: the
 * checks that follow see it and stand down instead of, say, counting a refused request
 * against a rate limit.
 */
export function refuse(requestContext: GraphQLRequestContext<GatewayContext>, error: GraphQLError): never {
  const answer = beforeExecution(error);
  requestContext.contextValue.refusal ??= answer;
  throw answer;
}

export function isRefused(requestContext: GraphQLRequestContext<GatewayContext>): boolean {
  return requestContext.contextValue.refusal !== undefined;
}
