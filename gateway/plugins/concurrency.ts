import type { ApolloServerPlugin } from '@apollo/server';
import { rateLimited } from '../../lib/error-codes';
import { isRefused, refuse, type GatewayContext } from '../context';
import { analyseOperation } from '../operation-analysis';

export interface ConcurrencyLimitOptions {
  /** Requests one officer (of one application) may have in flight in this gateway process at once; default 8. */
  maxPerOfficer?: number;
  /**
   * Coordinates the service bureau alone serves (`Query.proofChecklist`...); default none.
   * An operation whose root fields are all among them holds no place: what a checklist costs the
   * departments is the bureau's read back through the gateway, under the officer's own
   * token, which holds a place of its own. Counting both, an officer's eight checklists
   * in flight held every place and each one's read was refused.
   */
  bureauCoordinates?: ReadonlySet<string>;
}

/**
 * Requests in flight per officer. The cost limit bounds one request and the rate limits
 * the requests of a minute, but not how many of that minute's requests arrive at once:
 * 120 concurrent requests from one officer, each within the cost limit (the README's
 * facts for 100 citizens, over 10,000 seeded citizens), timed the household department
 * out and opened its circuit for every caller, while 32 at once were all answered within
 * 0.9 s. With this limit at its default the same burst got 8 answers and 112 refusals,
 * and every circuit stayed closed. An officer at a
 * window has one request in flight, and a proof checklist two (the service bureau reads
 * through the gateway under the officer's own token); past the maximum, a request is
 * refused with RATE_LIMITED (HTTP 429, `limit: concurrentRequests`) before it is
 * planned, and a place is given back when its answer is sent, however it ends.
 *
 * Counted in this process, not in Redis: a count shared across instances would need a
 * lease per request that outlives a crashed instance, and each instance protects the
 * departments from its own share. N gateway instances allow an officer N times the
 * maximum.
 */
export function concurrencyLimitPlugin(options: ConcurrencyLimitOptions = {}): ApolloServerPlugin<GatewayContext> {
  const maxPerOfficer = options.maxPerOfficer ?? 8;
  const bureauCoordinates = options.bureauCoordinates ?? new Set<string>();
  const isBureauOnly = (coordinates: ReadonlySet<string>) => {
    const roots = [...coordinates].filter((coordinate) => coordinate.startsWith('Query.') || coordinate.startsWith('Mutation.'));
    return roots.length > 0 && roots.every((coordinate) => bureauCoordinates.has(coordinate));
  };
  const inFlight = new Map<string, number>();
  return {
    async requestDidStart() {
      let heldBy: string | undefined;
      return {
        async didResolveOperation(requestContext) {
          const { caller } = requestContext.contextValue;
          if (isRefused(requestContext) || !caller || !requestContext.operation) return;
          if (isBureauOnly(analyseOperation(requestContext.schema, requestContext.document, requestContext.operation).coordinates)) return;
          const officer = `${caller.application}/${caller.officer}`;
          const count = inFlight.get(officer) ?? 0;
          if (count >= maxPerOfficer) {
            const message = `this officer already has ${maxPerOfficer} requests in progress, the most allowed at once; retry when one is answered`;
            refuse(requestContext, rateLimited(message, 'concurrentRequests', maxPerOfficer, 1));
          }
          inFlight.set(officer, count + 1);
          heldBy = officer;
        },
        // Apollo Server calls it for every answer its pipeline sends, a refusal by a later check included.
        async willSendResponse() {
          if (heldBy === undefined) return;
          const count = (inFlight.get(heldBy) ?? 1) - 1;
          if (count === 0) inFlight.delete(heldBy);
          else inFlight.set(heldBy, count);
          heldBy = undefined;
        },
      };
    },
  };
}
