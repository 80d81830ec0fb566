import type { GraphQLFormattedError } from 'graphql';
import type { Outcome } from '../audit/entry';
import { REFUSED_BEFORE_EXECUTION_CODES } from '../lib/error-codes';
import type { GatewayContext } from './context';

export type { Outcome };

/**
 * How a request ended, as the audit record, the metrics and the request log all say it:
 * refused by a check, answered whole, answered in part (some departments failed), or not
 * answered at all.
 */
export function outcomeOf(context: GatewayContext, data: unknown, errors: readonly GraphQLFormattedError[]): Outcome {
  if (context.refusal) return 'refused';
  if (errors.length === 0) return 'ok';
  if (data === undefined && errors.every((error) => REFUSED_BEFORE_EXECUTION_CODES.has(error.extensions?.code as string))) return 'refused';
  const hasData = data !== null && data !== undefined && Object.values(data as object).some((value) => value !== null);
  return hasData ? 'partial' : 'error';
}

/** The outcome of an answer given without a request context: refused before the pipeline (4xx), else an error. */
export function outcomeOfStatus(status: number): Outcome {
  return status >= 400 && status < 500 ? 'refused' : 'error';
}
