import type { IncomingHttpHeaders } from 'node:http';
import type { Fetcher, FetcherHeaders, FetcherRequestInit, FetcherResponse } from '@apollo/utils.fetcher';
import type { TLSSocket } from 'node:tls';
import { buildConnector, Pool, util as undiciUtil } from 'undici';

export interface DepartmentFetchOptions {
  /** The whole exchange (connect, send, answer read) must finish in this many milliseconds. */
  timeoutMs: number;
  /** Most connections kept open to the department at once; default 64. */
  maxSockets?: number;
  /** Mutual TLS to the department; without it, plain HTTP (the development switch only). */
  tls?: DepartmentClientTls;
}

/** How the gateway proves itself to one department, and checks the department is who it should be. */
export interface DepartmentClientTls {
  /** The gateway's certificate and key, and the federation's CA, as they are now: the files rotate, and each new connection uses the latest. */
  current(): { ca: string; cert: string; key: string };
  /** The name the department's certificate must carry in its SAN: the department's name, whatever host or address it is reached at. */
  servername: string;
  /** Told of the department's certificate in every handshake (expiry is reported from it); default nothing. */
  onPeerCertificate?: (notAfter: Date) => void;
}

/** The department did not answer within its timeout; the connection was dropped. */
export class DepartmentTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'DepartmentTimeoutError';
  }
}

/** Idle pooled connections are dropped after this, before Node servers' default 5 s keep-alive timeout closes them from the other side. */
const KEEP_ALIVE_MS = 4000;

/**
 * The HTTP client the gateway calls one department with, in place of @apollo/gateway's
 * default make-fetch-happen (a caching, retrying fetch built for npm's registry, with a
 * node-fetch Request and Headers built per call). It is a keep-alive pool per department
 * (undici's Pool) with a hard deadline per exchange: a department that hangs costs a
 * caller at most its timeout, never a socket held forever.
 *
 * undici rather than Node's http module: on loopback, an exchange like a department call
 * took the calling process 20 µs of CPU through a Pool (exchange() says how), against
 * 44-50 µs through http.request with a keep-alive Agent (Node 20, one connection per
 * request in flight), and an answer in bench scenario (A) makes three. Node's global
 * fetch, also undici inside, took 250 µs: it builds WHATWG Request, Response and stream
 * objects per call.
 *
 * A request written to a pooled connection the department has just closed fails with a
 * socket error, which the data source retries once for queries (data-source.ts).
 */
export function departmentFetcher(options: DepartmentFetchOptions): Fetcher {
  const pools = new Map<string, Pool>();
  // A data source calls one URL over and over: parsed once, not per call.
  const targets = new Map<string, Target>();
  const targetOf = (url: string): Target => {
    let target = targets.get(url);
    if (!target) {
      const parsed = new URL(url);
      let pool = pools.get(parsed.origin);
      if (!pool) {
        pool = new Pool(parsed.origin, {
          connections: options.maxSockets ?? 64,
          keepAliveTimeout: KEEP_ALIVE_MS,
          keepAliveMaxTimeout: KEEP_ALIVE_MS,
          ...(options.tls ? { connect: mutualTlsConnector(options.tls) } : {}),
        });
        pools.set(parsed.origin, pool);
      }
      target = { pool, path: `${parsed.pathname}${parsed.search}` };
      targets.set(url, target);
    }
    return target;
  };
  return (url, init = {}) => exchange(url, targetOf(url), init, options.timeoutMs);
}

/**
 * TLS 1.3 with the gateway's client certificate, the department's certificate checked
 * against the federation's CA and the department's name. The connector is rebuilt when
 * the files have rotated: connections already open keep the session they have, new ones
 * present the new certificate.
 */
function mutualTlsConnector(tls: DepartmentClientTls): buildConnector.connector {
  let built: { material: object; connect: buildConnector.connector } | undefined;
  return (options, callback) => {
    const material = tls.current();
    if (built?.material !== material) {
      built = { material, connect: buildConnector({ ca: material.ca, cert: material.cert, key: material.key, minVersion: 'TLSv1.3', rejectUnauthorized: true }) };
    }
    built.connect({ ...options, servername: tls.servername }, (error, socket) => {
      if (!error && tls.onPeerCertificate) {
        const validTo = (socket as TLSSocket).getPeerCertificate().valid_to;
        if (validTo) tls.onPeerCertificate(new Date(validTo));
      }
      // undici's callback is typed as two overloads: an error, or a socket.
      if (error) callback(error, null);
      else callback(null, socket as NonNullable<typeof socket>);
    });
  };
}

interface Target {
  pool: Pool;
  /** The path and query the department is asked at. */
  path: string;
}

/**
 * One exchange through undici's lowest-level API, `dispatch` with a handler: no
 * AbortController and no body stream per call (through `request` with an abort signal the
 * same exchange took 34 µs of CPU instead of 20). The deadline aborts the request at any
 * stage: queued for a connection, sending, or reading the answer; undici then destroys the
 * connection it was on.
 */
function exchange(url: string, target: Target, init: FetcherRequestInit, timeoutMs: number): Promise<FetcherResponse> {
  return new Promise((resolve, reject) => {
    let abortRequest: ((reason: Error) => void) | undefined;
    let failure: Error | undefined;
    let isSettled = false;
    const settle = (outcome: () => void) => {
      if (isSettled) return;
      isSettled = true;
      clearTimeout(deadline);
      outcome();
    };
    const deadline = setTimeout(() => {
      failure = new DepartmentTimeoutError(timeoutMs);
      // A request still waiting for a connection has no abort yet: onConnect aborts it when it gets one.
      abortRequest?.(failure);
      settle(() => reject(failure));
    }, timeoutMs);
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    target.pool.dispatch(
      { path: target.path, method: (init.method ?? 'POST') as 'POST', headers: init.headers as Record<string, string> | undefined, body: init.body ?? '' },
      {
        onConnect(abort) {
          if (failure) abort(failure);
          else abortRequest = abort;
        },
        onHeaders(statusCode, rawHeaders) {
          // 1xx informational answers come first and say nothing about the answer.
          if (statusCode < 200) return true;
          status = statusCode;
          headers = undiciUtil.parseHeaders(rawHeaders) as IncomingHttpHeaders;
          return true;
        },
        onData(chunk) {
          chunks.push(chunk);
          return true;
        },
        onComplete() {
          settle(() => resolve(new BufferedResponse(url, status, headers, Buffer.concat(chunks))));
        },
        onError(error) {
          settle(() => reject(error));
        },
      },
    );
  });
}

/** The department's answer, already read whole (the deadline covers the body too). */
class BufferedResponse implements FetcherResponse {
  readonly bodyUsed = false;
  readonly redirected = false;
  readonly ok: boolean;
  readonly headers: FetcherHeaders;

  /** Nothing here reads the reason phrase, and HTTP/2 has none. */
  readonly statusText = '';

  constructor(
    readonly url: string,
    readonly status: number,
    headers: IncomingHttpHeaders,
    private readonly body: Buffer,
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers = new ReadOnlyHeaders(headers);
  }

  async text(): Promise<string> {
    return this.body.toString('utf8');
  }

  async json(): Promise<any> {
    return JSON.parse(this.body.toString('utf8'));
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return new Uint8Array(this.body).buffer;
  }

  clone(): FetcherResponse {
    return this;
  }
}

/** The parsed response headers (names already lower case) behind the WHATWG Headers shape @apollo/gateway reads (`get`), read where they lie. */
class ReadOnlyHeaders implements FetcherHeaders {
  constructor(private readonly headers: IncomingHttpHeaders) {}

  get(name: string): string | null {
    const value = this.headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.headers[name.toLowerCase()] !== undefined;
  }

  append(): void {
    throw new TypeError('a department answer\'s headers are read-only');
  }

  delete(): void {
    throw new TypeError('a department answer\'s headers are read-only');
  }

  set(): void {
    throw new TypeError('a department answer\'s headers are read-only');
  }

  entries(): Iterator<[string, string]> {
    return this.pairs().values();
  }

  keys(): Iterator<string> {
    return this.pairs().map(([name]) => name).values();
  }

  values(): Iterator<string> {
    return this.pairs().map(([, value]) => value).values();
  }

  [Symbol.iterator](): Iterator<[string, string]> {
    return this.entries();
  }

  private pairs(): [string, string][] {
    return Object.keys(this.headers).flatMap((name) => {
      const value = this.get(name);
      return value === null ? [] : [[name, value] as [string, string]];
    });
  }
}
