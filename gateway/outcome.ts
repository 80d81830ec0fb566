import type { GraphQLFormattedError } from 'graphql';
import { outcomeOfAnswer, type Outcome } from '../audit/entry';
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
  return outcomeOfAnswer(data, errors, REFUSED_BEFORE_EXECUTION_CODES);
}

/** The outcome of an answer given without a request context: refused before the pipeline (4xx), else an error. */
export function outcomeOfStatus(status: number): Outcome {
  return status >= 400 && status < 500 ? 'refused' : 'error';
}
