/**
 * The part of autocannon 9's programmatic API the harness uses (the package ships no
 * types and there is no @types package for version 9).
 */
declare module 'autocannon' {
  namespace autocannon {
    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      /** Builds each request; `context` is fresh per request when `requests` holds one entry. */
      setupRequest?: (request: Request, context: Record<string, unknown>) => Request;
      /** Called with the whole body of each response, and the context its request was built with. */
      onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string | string[]>) => void;
    }

    /** One keep-alive connection's client; `pipelinedRequests` is internal, see load.ts for why it is touched. */
    interface Client {
      pipelinedRequests: {
        peek(): { body: string; [key: string]: unknown } | undefined;
        addBody(data: Buffer): void;
      };
    }

    interface Options {
      url: string;
      connections?: number;
      /** Seconds. */
      duration?: number;
      pipelining?: number;
      /** Requests per second over all connections; 0 or absent: as fast as answers come. */
      overallRate?: number;
      /** Seconds. */
      timeout?: number;
      method?: string;
      headers?: Record<string, string>;
      requests?: Request[];
      setupClient?: (client: Client) => void;
    }

    interface Histogram {
      average: number;
      mean: number;
      stddev: number;
      min: number;
      max: number;
      total: number;
      p50: number;
      p90: number;
      p99: number;
    }

    interface Result {
      /** Latency in milliseconds. */
      latency: Histogram;
      /** Completed requests per second, sampled each second. */
      requests: Histogram;
      errors: number;
      timeouts: number;
      non2xx: number;
      '2xx': number;
      /** Seconds. */
      duration: number;
    }
  }

  /** Without a callback it returns its event tracker, made thenable. */
  function autocannon(options: autocannon.Options): PromiseLike<autocannon.Result>;
  export = autocannon;
}
