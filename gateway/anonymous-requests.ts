import { randomUUID } from 'node:crypto';
import type { GraphQLError } from 'graphql';
import type { AuditLog } from '../audit/log';
import { ErrorCode, rateLimited } from '../lib/error-codes';
import type { Logger } from '../lib/logger';
import { refusalEntry } from './plugins/audit';

export interface AnonymousRequestsOptions {
  /** Requests without a valid token one client address may make in a minute before they are refused and recorded together; default 60. */
  perAddressPerMinute?: number;
  /** Requests without a valid token all addresses together may make in a minute, likewise; default ten times `perAddressPerMinute`. */
  totalPerMinute?: number;
  /** Where the aggregate records go. */
  auditLog: AuditLog;
  /** The clock windows follow, in ms since the epoch; default `Date.now`. */
  now?: () => number;
  /** Told of each minute's refusals, by address (the addresses are in the log, not the record); default nowhere. */
  log?: Logger;
  /** Addresses counted in one minute; past this, further addresses share one count. Default 10000. */
  maxAddresses?: number;
}

export interface AnonymousRequests {
  /**
   * Counts a request without a valid token from `address`: null while the address and all
   * addresses together are within the minute's allowance (the request goes on, and is
   * recorded on its own if it is refused), else the 429 to answer with; that request then
   * gets no record of its own but is counted into the minute's aggregate record, under
   * `code` (the refusal it got; RATE_LIMITED when none other).
   */
  admit(address: string, code?: string): GraphQLError | null;
  /** Writes the aggregate record not yet written and stops the minute timer. */
  close(): Promise<void>;
}

const MINUTE = 60_000;
/** The key of addresses past `maxAddresses`: they share one allowance. */
const OTHER_ADDRESSES = 'other addresses';
/** Addresses named in a minute's log line, the most refused first. */
const ADDRESSES_LOGGED = 20;

interface Minute {
  start: number;
  admittedByAddress: Map<string, number>;
  admitted: number;
  refusedByAddress: Map<string, number>;
  refused: number;
  codes: Set<string>;
}

/**
 * Requests without a valid token, per client address and in all, per minute. A caller
 * without a token could otherwise write one durable audit record per request, with
 * purpose strings of its choosing (14,155 records in 10 s when tried), and a flood from
 * many addresses (a /8 of loopback, an IPv6 /64) as many as it has addresses times the
 * allowance. Past either allowance each request is refused at once with 429 RATE_LIMITED,
 * and every refusal of the minute becomes one record standing for all of them
 * (`requests`), written when the minute is over (or at shutdown): durable records of
 * anonymous requests are then at most the total allowance plus one a minute. The log line
 * names the addresses. Requests with a valid token are never counted here: their limits
 * are per application and officer.
 *
 * The address is the TCP peer's: behind a proxy or load balancer, every client shares
 * its address and its allowance. Counted in this process.
 */
export function anonymousRequests(options: AnonymousRequestsOptions): AnonymousRequests {
  const perAddress = options.perAddressPerMinute ?? 60;
  const total = options.totalPerMinute ?? perAddress * 10;
  const maxAddresses = options.maxAddresses ?? 10000;
  const now = options.now ?? Date.now;
  const newMinute = (at: number): Minute => ({
    start: Math.floor(at / MINUTE) * MINUTE,
    admittedByAddress: new Map(),
    admitted: 0,
    refusedByAddress: new Map(),
    refused: 0,
    codes: new Set(),
  });
  let minute = newMinute(now());
  const writing = new Set<Promise<void>>();

  function writeAggregate(closed: Minute): void {
    if (closed.refused === 0) return;
    const requestId = randomUUID();
    const byAddress = [...closed.refusedByAddress].sort((a, b) => b[1] - a[1]);
    options.log?.warn(
      { requestId, refused: closed.refused, addresses: Object.fromEntries(byAddress.slice(0, ADDRESSES_LOGGED)), otherAddresses: Math.max(0, byAddress.length - ADDRESSES_LOGGED) },
      `requests without a valid token over the allowance (${perAddress} an address, ${total} in all, a minute): ${closed.refused} refused, recorded together`,
    );
    const write = options.auditLog.record(refusalEntry({
      time: new Date(closed.start).toISOString(),
      requestId,
      caller: null,
      serviceItem: null,
      caseNumber: null,
      errorCodes: [...closed.codes],
      latencyMs: 0,
      requests: closed.refused,
    })).then(
      () => undefined,
      // Nothing was released to these requests; what is lost is the count of refusals, which the log line above keeps.
      (error: Error) => options.log?.error({ requestId, reason: error.message }, 'the aggregate record of refused requests without a valid token could not be written'),
    );
    writing.add(write);
    void write.finally(() => writing.delete(write));
  }

  function rollOver(at: number): void {
    if (at - minute.start < MINUTE) return;
    writeAggregate(minute);
    minute = newMinute(at);
  }

  // Without traffic a minute never rolls over by itself: the aggregate is written within a minute anyway.
  const timer = setInterval(() => rollOver(now()), MINUTE).unref();

  return {
    admit(address, code = ErrorCode.RATE_LIMITED) {
      const at = now();
      rollOver(at);
      const key = minute.admittedByAddress.has(address) || minute.admittedByAddress.size < maxAddresses ? address : OTHER_ADDRESSES;
      const admittedHere = minute.admittedByAddress.get(key) ?? 0;
      if (admittedHere < perAddress && minute.admitted < total) {
        minute.admittedByAddress.set(key, admittedHere + 1);
        minute.admitted += 1;
        return null;
      }
      minute.refused += 1;
      minute.codes.add(code);
      if (minute.refusedByAddress.has(key) || minute.refusedByAddress.size < maxAddresses) minute.refusedByAddress.set(key, (minute.refusedByAddress.get(key) ?? 0) + 1);
      const retryAfterSeconds = Math.ceil((MINUTE - (at % MINUTE)) / 1000);
      const [limit, max, whose] = admittedHere >= perAddress ? ['anonymousPerMinute', perAddress, 'this address has'] as const : ['anonymousTotalPerMinute', total, 'requests from every address have'] as const;
      return rateLimited(`${whose} made ${max} requests without a valid token this minute, the most allowed; retry in ${retryAfterSeconds} s`, limit, max, retryAfterSeconds);
    },
    async close() {
      clearInterval(timer);
      writeAggregate(minute);
      minute = newMinute(now());
      await Promise.all(writing);
    },
  };
}
