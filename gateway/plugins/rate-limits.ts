import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../lib/error-codes';
import { memoisedPseudonym } from '../../lib/pseudonym';
import { refuse, type GatewayContext } from '../context';
import { operationCheckPlugin } from '../operation-check';
import type { RateLimitStore } from '../rate-limit-store';

export interface RateLimitsOptions {
  store: RateLimitStore;
  /** HMAC key for the identifiers the store keeps (ID numbers, staff IDs, application names). */
  pseudonymKey: Uint8Array;
  /** Default `Date.now`. */
  now?: () => number;
}

const MESSAGES = {
  applicationPerMinute: (max: number) => `this application has made ${max} requests this minute, the most allowed`,
  officerPerMinute: (max: number) => `this officer has made ${max} requests this minute, the most allowed`,
  distinctCitizensPerHour: (max: number) => `this officer has looked up ${max} distinct citizens this hour, the most allowed`,
};

/**
 * Rate limits per application and per officer, and the number of distinct citizens one
 * officer may look up per hour, held in Redis so they hold across gateway instances.
 * Runs after every other check: only requests that would be answered are counted.
 */
export function rateLimitsPlugin(options: RateLimitsOptions): ApolloServerPlugin<GatewayContext> {
  const now = options.now ?? Date.now;
  const hide = memoisedPseudonym(options.pseudonymKey);
  return operationCheckPlugin(async (requestContext) => {
    const { caller, citizensAsked } = requestContext.contextValue;
    if (!caller) return;
    const verdict = await options.store.consume({
      application: hide(caller.application),
      officer: hide(`${caller.application}/${caller.officer}`),
      citizens: (citizensAsked ?? []).map(hide),
      now: now(),
    });
    if (verdict.isAllowed) return;
    refuse(
      requestContext,
      new GraphQLError(`${MESSAGES[verdict.limit](verdict.max)}; retry in ${verdict.retryAfterSeconds} s`, {
        extensions: {
          code: ErrorCode.RATE_LIMITED,
          limit: verdict.limit,
          max: verdict.max,
          http: { status: 429, headers: new Map([['retry-after', String(verdict.retryAfterSeconds)]]) },
        },
      }),
    );
  });
}
