import Redis from 'ioredis';
import { serveGraphQL } from '../lib/graphql-http';
import type { Config } from './config';
import { createGateway } from './gateway';
import { fallbackRateLimitStore, memoryRateLimitStore, redisRateLimitStore } from './rate-limit-store';

export interface RunningGateway {
  url: string;
  stop(): Promise<void>;
}

/**
 * Builds the gateway with its shared infrastructure (Redis when configured) and serves it
 * at `/graphql`; `stop` drains in-flight requests, then closes Redis.
 */
export async function startGateway(config: Config): Promise<RunningGateway> {
  const redis = config.redisUrl ? connectRedis(config.redisUrl) : undefined;
  const rateLimitStore = redis
    ? fallbackRateLimitStore(redisRateLimitStore(redis, config.rateLimits), memoryRateLimitStore(config.rateLimits), (message) => console.warn(message))
    : undefined;
  const gateway = createGateway(config, { rateLimitStore });
  const served = await serveGraphQL(gateway.server, {
    host: config.host,
    port: config.port,
    maxBodyBytes: config.maxBodyBytes,
    context: gateway.context,
  });
  return {
    url: served.url,
    async stop() {
      await served.stop();
      redis?.disconnect();
    },
  };
}

/**
 * Commands fail at once while Redis is away (no offline queue, one try), so a request
 * falls back to in-process counting instead of waiting; ioredis reconnects by itself.
 */
function connectRedis(url: string): Redis {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  // Connection errors are reported once by the rate-limit store; without a listener ioredis would print each retry.
  redis.on('error', () => undefined);
  return redis;
}
