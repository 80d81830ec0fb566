import http from 'node:http';
import https from 'node:https';
import type { Fetcher, FetcherHeaders, FetcherRequestInit, FetcherResponse } from '@apollo/utils.fetcher';

export interface DepartmentFetchOptions {
  /** The whole exchange (connect, send, answer read) must finish in this many milliseconds. */
  timeoutMs: number;
  /** Most connections kept open to the department at once; default 64. */
  maxSockets?: number;
}

/** The department did not answer within its timeout; the connection was dropped. */
export class DepartmentTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'DepartmentTimeoutError';
  }
}

/**
 * The HTTP client the gateway calls one department with, in place of @apollo/gateway's
 * default make-fetch-happen (a caching, retrying fetch built for npm's registry, with a
 * node-fetch Request and Headers built per call). This one is a keep-alive pool over
 * Node's http module with a hard deadline per exchange: a department that hangs costs a
 * caller at most its timeout, never a socket held forever.
 *
 * Idle pooled connections are dropped after 4 s, before Node servers' default 5 s
 * keep-alive timeout closes them from the other side; a request written to a socket the
 * department has just closed fails with ECONNRESET, which the data source retries once
 * for queries.
 */
export function departmentFetcher(options: DepartmentFetchOptions): Fetcher {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64, timeout: 4000 };
  const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };
  // A data source calls one URL over and over: parsed once, not per call.
  const targets = new Map<string, URL>();
  const targetOf = (url: string) => {
    let target = targets.get(url);
    if (!target) {
      target = new URL(url);
      targets.set(url, target);
    }
    return target;
  };
  return (url, init = {}) => exchange(url, targetOf(url), init, agents, options.timeoutMs);
}

function exchange(url: string, target: URL, init: FetcherRequestInit, agents: Record<'http:' | 'https:', http.Agent>, timeoutMs: number): Promise<FetcherResponse> {
  const client = target.protocol === 'https:' ? https : http;
  const body = init.body ?? '';
  return new Promise((resolve, reject) => {
    const request = client.request(target, {
      method: init.method ?? 'POST',
      headers: { ...init.headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: agents[target.protocol as 'http:' | 'https:'],
    });
    const deadline = setTimeout(() => request.destroy(new DepartmentTimeoutError(timeoutMs)), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(deadline);
      reject(error);
    };
    request.once('error', fail);
    request.once('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('error', fail);
      // A connection reset mid-body ends the response as aborted, without an 'error' of its own on older Nodes.
      response.once('aborted', () => fail(Object.assign(new Error('the department closed the connection mid-answer'), { code: 'ECONNRESET' })));
      response.once('end', () => {
        clearTimeout(deadline);
        if (!response.complete) return;
        resolve(new BufferedResponse(url, response.statusCode ?? 0, response.statusMessage ?? '', response.headers, Buffer.concat(chunks)));
      });
    });
    request.end(body);
  });
}

/** The department's answer, already read whole (the deadline covers the body too). */
class BufferedResponse implements FetcherResponse {
  readonly bodyUsed = false;
  readonly redirected = false;
  readonly ok: boolean;
  readonly headers: FetcherHeaders;

  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    headers: http.IncomingHttpHeaders,
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

/** Node's parsed response headers (names already lower case) behind the WHATWG Headers shape @apollo/gateway reads (`get`), read where they lie. */
class ReadOnlyHeaders implements FetcherHeaders {
  constructor(private readonly headers: http.IncomingHttpHeaders) {}

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
