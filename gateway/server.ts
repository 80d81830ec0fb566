import { existsSync } from 'node:fs';
import Redis from 'ioredis';
import { openAuditLog, type AuditLog } from '../audit/log';
import { openAuditStore } from '../audit/open-store';
import { ensureSigningKeyFile } from '../audit/signing';
import type { AuditStore, SignedCheckpoint } from '../audit/store';
import { ConfigError } from '../lib/env';
import { serveGraphQL, type RouteHandler } from '../lib/graphql-http';
import type { Logger } from '../lib/logger';
import { openRedisDepartmentCache } from './cache/open';
import type { Config } from './config';
import { openDepartmentTransport } from './department-transport';
import { createGateway, type Gateway } from './gateway';
import { liveness, readinessCheck } from './health';
import { auditConsoleRoutes } from './pages/audit-console';
import { explorerPages } from './pages/explorer';
import { fallbackRateLimitStore, memoryRateLimitStore, redisRateLimitStore } from './rate-limit-store';


export interface RunningGateway {
  url: string;
  /** Stops taking requests, drains those in flight, writes the last audit records and checkpoint, closes stores. */
  stop(): Promise<void>;
}

/**
 * Builds the gateway with its infrastructure, the audit log and Redis (when configured),
 * and serves it at `/graphql`.
 */
export async function startGateway(config: Config, options: { logger?: Logger; now?: () => number } = {}): Promise<RunningGateway> {
  const { logger } = options;
  const warn = (message: string) => logger?.warn(message);
  // Pages read their files now, before anything is opened that a missing file would leave open.
  const explorer = config.isExplorerEnabled ? explorerPages() : undefined;
  // Every path served beside /graphql, one line each (exact paths; anything else is a coded 404).
  const routes: Record<string, RouteHandler> = {
    ...explorer?.routes,
    ...(config.isAuditConsoleEnabled ? auditConsoleRoutes() : {}),
  };
  // Before the audit log: a certificate or key that cannot be read refuses the start with nothing yet opened.
  const transport = openDepartmentTransport(config.departmentTransport, logger);
  let gateway: Gateway | undefined;
  // Checkpoints signed before the gateway is built (the opening one) follow no department call: there is no one to send them to.
  const onCheckpoint = (checkpoint: SignedCheckpoint) => void gateway?.witnessCheckpoint(checkpoint);
  const { store, log } = await openConfiguredAuditLog(config, logger, onCheckpoint).catch((error: unknown) => {
    transport.close();
    throw error;
  });
  let redis: Redis | undefined;
  let sharedCache: Awaited<ReturnType<typeof openRedisDepartmentCache>> | undefined;
  const closeInfrastructure = async () => {
    transport.close();
    await log.close();
    await store.close();
    sharedCache?.close();
    redis?.disconnect();
  };
  try {
    redis = config.redisUrl ? await connectRedis(config.redisUrl) : undefined;
    const rateLimitStore = redis
      ? fallbackRateLimitStore(redisRateLimitStore(redis, config.rateLimits), memoryRateLimitStore(config.rateLimits), warn)
      : undefined;
    sharedCache = redis && config.cache.isEnabled ? await openRedisDepartmentCache(redis, config.cache, config.pseudonymKey, warn) : undefined;
    gateway = createGateway(config, { auditLog: log, rateLimitStore, cache: sharedCache?.cache, log: logger, now: options.now, transport });
    const readiness = readinessCheck({ departments: gateway.departments, auditStore: store, auditLog: log, chainId: config.audit.chainId, redis, transport });
    routes['/healthz'] = liveness;
    routes['/readyz'] = readiness.route;
    routes['/metrics'] = gateway.metrics.route;
    const served = await serveGraphQL(gateway.server, {
      host: config.host,
      port: config.port,
      maxBodyBytes: config.maxBodyBytes,
      context: gateway.context,
      didAnswer: gateway.didAnswer,
      refusedBeforeGraphQL: gateway.refusedBeforeGraphQL,
      routes,
      browserPage: explorer?.page,
    });
    return {
      url: served.url,
      async stop() {
        // Load balancers see 503 from now on, while requests already in flight are answered.
        readiness.startDraining();
        await served.stop();
        // The last records' checkpoint, witnessed by the departments they called while the connections to them are still open.
        await log.checkpoint().catch(() => null);
        await gateway?.close();
        await closeInfrastructure();
      },
    };
  } catch (error) {
    // A gateway that cannot start (a catalog that does not fit, a port in use) leaves nothing open behind it.
    await gateway?.server.stop().catch(() => undefined);
    await gateway?.close();
    await closeInfrastructure();
    throw error;
  }
}

const NO_WITNESS = 'PROOFLESS_AUDIT_WITNESS_FILE is not set: audit records and checkpoints cut from the store while this gateway is down ' +
  'cannot be detected; set it to a file on storage that whoever can write to the audit store cannot';

/**
 * The audit store and this instance's log on it, checkpoints also going to the witness
 * file when one is configured. What the store lacks of the chain's last checkpoint (cut
 * while this instance was down) is logged as an error at start; the gateway still starts
 * (audit/log.ts says why), and its next checkpoint names what was lost.
 */
async function openConfiguredAuditLog(config: Config, logger: Logger | undefined, onCheckpoint: (checkpoint: SignedCheckpoint) => void): Promise<{ store: AuditStore; log: AuditLog }> {
  const { audit } = config;
  if (config.isDevelopment) ensureSigningKeyFile(audit.signingKeyFile);
  else if (!existsSync(audit.signingKeyFile)) throw new ConfigError(`PROOFLESS_AUDIT_KEY_FILE names ${audit.signingKeyFile}, which does not exist; production gateways sign audit checkpoints with their own Ed25519 key`);
  if (audit.witnessFile === null) logger?.warn(NO_WITNESS);
  const store = await openAuditStore(audit);
  try {
    const log = await openAuditLog({
      store,
      chainId: audit.chainId,
      signingKeyFile: audit.signingKeyFile,
      groupCommitWindowMs: audit.groupCommitWindowMs,
      maxGroupSize: audit.maxGroupSize,
      checkpointIntervalMs: audit.checkpointIntervalMs,
      witnessFile: audit.witnessFile,
      onStoreDisagrees: logger ? (message) => logger.error({ chainId: audit.chainId }, message) : undefined,
      onCheckpoint,
    });
    return { store, log };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/**
 * Commands fail at once while Redis is away (no offline queue, one try), so a request
 * falls back to in-process counting instead of waiting; ioredis reconnects by itself.
 * The gateway waits up to two seconds for the first connection, so its first requests are
 * counted where every instance counts them; a Redis that is down at start is not fatal.
 */
async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  // Connection errors are reported once by the rate-limit store; without a listener ioredis would print each retry.
  redis.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return redis;
}
