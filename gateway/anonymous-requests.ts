import { randomUUID } from 'node:crypto';
import type { GraphQLError } from 'graphql';
import type { AuditLog } from '../audit/log';
import { ErrorCode, rateLimited } from '../lib/error-codes';
import type { Logger } from '../lib/logger';
import { refusalEntry } from './plugins/audit';

export interface AnonymousRequestsOptions {
  /** Requests without a valid token one client address may make in a minute before they are refused and recorded together; default 60. */
  perMinute?: number;
  /** Where the aggregate records go. */
  auditLog: AuditLog;
  /** The clock windows follow, in ms since the epoch; default `Date.now`. */
  now?: () => number;
  /** Told of each aggregate (the address is in the log, not the record); default nowhere. */
  log?: Logger;
  /** Addresses counted in one minute; past this, further addresses share one count. Default 10000. */
  maxAddresses?: number;
}

export interface AnonymousRequests {
  /**
   * Counts a request without a valid token from `address`: null while the address is
   * within its minute's allowance (the request goes on, and is recorded on its own if it
   * is refused), else the 429 to answer with; that request then gets no record of its
   * own but is counted into the address's aggregate record for the minute, under `code`
   * (the refusal it got; RATE_LIMITED when none other).
   */
  admit(address: string, code?: string): GraphQLError | null;
  /** Writes the aggregate records not yet written and stops the minute timer. */
  close(): Promise<void>;
}

const MINUTE = 60_000;
/** The key of addresses past `maxAddresses`: a flood from many addresses still costs one record a minute. */
const OTHER_ADDRESSES = 'other addresses';

interface AddressCount {
  admitted: number;
  refused: number;
  codes: Set<string>;
}

/**
 * Requests without a valid token, per client address and minute. A caller without a
 * token could otherwise write one durable audit record per request, with purpose strings
 * of its choosing (14,155 records in 10 s when tried): past the allowance each request is
 * refused at once with 429 RATE_LIMITED, and the refusals of one address in one minute
 * become one record standing for all of them (`requests`), written when the minute is
 * over (or at shutdown). Requests with a valid token are never counted here: their
 * limits are per application and officer.
 *
 * The address is the TCP peer's: behind a proxy or load balancer, every client shares
 * its address and its allowance. Counted in this process.
 */
export function anonymousRequests(options: AnonymousRequestsOptions): AnonymousRequests {
  const perMinute = options.perMinute ?? 60;
  const maxAddresses = options.maxAddresses ?? 10000;
  const now = options.now ?? Date.now;
  let minute = Math.floor(now() / MINUTE);
  let counts = new Map<string, AddressCount>();
  const writing = new Set<Promise<void>>();

  function writeAggregates(closedMinute: number, closed: Map<string, AddressCount>): void {
    for (const [address, count] of closed) {
      if (count.refused === 0) continue;
      const requestId = randomUUID();
      options.log?.warn({ address, refused: count.refused, requestId }, `requests without a valid token from ${address} over the allowance of ${perMinute} a minute: ${count.refused} refused, recorded together`);
      const write = options.auditLog.record(refusalEntry({
        time: new Date(closedMinute * MINUTE).toISOString(),
        requestId,
        caller: null,
        serviceItem: null,
        caseNumber: null,
        errorCodes: [...count.codes],
        latencyMs: 0,
        requests: count.refused,
      })).then(
        () => undefined,
        // Nothing was released to these requests; what is lost is the count of refusals, which the log line above keeps.
        (error: Error) => options.log?.error({ requestId, reason: error.message }, 'the aggregate record of refused requests without a valid token could not be written'),
      );
      writing.add(write);
      void write.finally(() => writing.delete(write));
    }
  }

  function rollOver(at: number): void {
    const current = Math.floor(at / MINUTE);
    if (current === minute) return;
    writeAggregates(minute, counts);
    minute = current;
    counts = new Map();
  }

  // Without traffic a minute never rolls over by itself: the aggregate is written within a minute anyway.
  const timer = setInterval(() => rollOver(now()), MINUTE).unref();

  return {
    admit(address, code = ErrorCode.RATE_LIMITED) {
      const at = now();
      rollOver(at);
      const key = counts.has(address) || counts.size < maxAddresses ? address : OTHER_ADDRESSES;
      const count = counts.get(key) ?? { admitted: 0, refused: 0, codes: new Set<string>() };
      counts.set(key, count);
      if (count.admitted < perMinute) {
        count.admitted += 1;
        return null;
      }
      count.refused += 1;
      count.codes.add(code);
      const retryAfterSeconds = Math.ceil((MINUTE - (at % MINUTE)) / 1000);
      return rateLimited(
        `this address has made ${perMinute} requests without a valid token this minute, the most allowed; retry in ${retryAfterSeconds} s`,
        'anonymousPerMinute',
        perMinute,
        retryAfterSeconds,
      );
    },
    async close() {
      clearInterval(timer);
      writeAggregates(minute, counts);
      counts = new Map();
      await Promise.all(writing);
    },
  };
}
