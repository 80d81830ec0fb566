import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import { rateLimited } from '../../lib/error-codes';
import { memoisedPseudonym } from '../../lib/pseudonym';
import type { Caller } from '../auth';
import { refuse, type GatewayContext } from '../context';
import { operationCheckPlugin } from '../operation-check';
import type { RateLimitStore, RateLimitVerdict } from '../rate-limit-store';

export interface RateLimitsOptions {
  store: RateLimitStore;
  /** HMAC key for the identifiers the store keeps (ID numbers, staff IDs, application names). */
  pseudonymKey: Uint8Array;
  /** Default `Date.now`. */
  now?: () => number;
}

export interface RateLimits {
  /** Counts each request before it is planned, refusing it (429) over a limit. */
  plugin: ApolloServerPlugin<GatewayContext>;
  /**
   * Asked, once an answer is known and before its record is written, whether the citizens
   * it discloses fit the officer's distinct-citizens allowance: null when they do (and
   * they now count), else the 429 that must replace the answer.
   */
  admitDisclosure(caller: Caller, citizens: string[]): Promise<GraphQLError | null>;
}

const MESSAGES = {
  applicationPerMinute: (max: number) => `this application has made ${max} requests this minute, the most allowed`,
  officerPerMinute: (max: number) => `this officer has made ${max} requests this minute, the most allowed`,
  distinctCitizensPerHour: (max: number) => `this officer has looked up ${max} distinct citizens this hour, the most allowed`,
};

/**
 * Rate limits per application and per officer, and the number of distinct citizens one
 * officer may look up per hour, held in Redis so they hold across gateway instances.
 * Requests are counted after every other check: only requests that would be answered
 * count. Distinct citizens are counted twice over: those a request asks for before it
 * runs, and those its answer discloses (household members, a business's representative)
 * before it leaves, so an officer cannot read past the bound through members. What an
 * auditor's answer discloses (the citizens audit records name) is recorded but not
 * counted: reviewing the log is reading many citizens' records by design.
 */
export function rateLimits(options: RateLimitsOptions): RateLimits {
  const now = options.now ?? Date.now;
  const hide = memoisedPseudonym(options.pseudonymKey);
  const officerOf = (caller: Caller) => hide(`${caller.application}/${caller.officer}`);
  return {
    plugin: operationCheckPlugin(async (requestContext) => {
      const { caller, citizensAsked } = requestContext.contextValue;
      if (!caller) return;
      const verdict = await options.store.consume({
        application: hide(caller.application),
        officer: officerOf(caller),
        citizens: (citizensAsked ?? []).map(hide),
        now: now(),
      });
      if (!verdict.isAllowed) refuse(requestContext, refusalOf(verdict));
    }),
    async admitDisclosure(caller, citizens) {
      // Auditors read the audit log, whose every page names many citizens: their reads are recorded, not bounded.
      if (citizens.length === 0 || caller.role === 'auditor') return null;
      const verdict = await options.store.admitDisclosed({ officer: officerOf(caller), citizens: citizens.map(hide), now: now() });
      return verdict.isAllowed ? null : refusalOf(verdict);
    },
  };
}

function refusalOf(verdict: Exclude<RateLimitVerdict, { isAllowed: true }>): GraphQLError {
  return rateLimited(`${MESSAGES[verdict.limit](verdict.max)}; retry in ${verdict.retryAfterSeconds} s`, verdict.limit, verdict.max, verdict.retryAfterSeconds);
}
