import type { IncomingMessage, ServerResponse } from 'node:http';
import type Redis from 'ioredis';
import type { AuditStore } from '../audit/store';
import { sendJson, type RouteHandler } from '../lib/graphql-http';
import { withTimeout } from '../lib/with-timeout';
import type { CircuitState } from './circuit-breaker';
import type { DepartmentDataSource } from './data-source';

export interface ReadinessOptions {
  /** Each department's data source (its URL, fetcher and circuit), as the gateway built them. */
  departments: Map<string, DepartmentDataSource>;
  /** The audit store this instance writes; nothing is answered while it cannot be reached. */
  auditStore: AuditStore;
  /** The chain this instance writes, whose head is read as the store's check. */
  chainId: string;
  /** Shared Redis, when configured. */
  redis?: Redis;
  /** How long each check may take, in ms; default 1000. */
  checkTimeoutMs?: number;
}

/** Health answers are about this moment: no cache on the way may keep one. */
const NOT_STORED = { 'cache-control': 'no-store' };

type Status = 'ready' | 'degraded' | 'unavailable' | 'draining';

export interface Readiness {
  status: Status;
  departments: Record<string, { isReachable: boolean; circuit: CircuitState }>;
  auditStore: { isReachable: boolean };
  redis: { isConfigured: false } | { isConfigured: true; isReachable: boolean };
}

/** `/healthz`: the process is alive and serving HTTP. Nothing else is checked, so a load balancer never restarts a gateway for a department's fault. */
export const liveness: RouteHandler = (_req, res) => sendJson(res, 200, { status: 'alive' }, NOT_STORED);

/**
 * `/readyz`, for load balancers: whether this instance should get traffic, with a body
 * saying what it reached. 503 when it cannot answer anything: the audit store is out of
 * reach (every answer would be 503 AUDIT_UNAVAILABLE), every department is, or it is
 * draining after SIGTERM. A department or Redis that is down makes it `degraded`, still
 * 200: the other departments' facts are still served (partial answers) and the cache and
 * rate limits fall back to this process, and every instance shares the same departments
 * and Redis, so taking instances out of the pool would turn a partial outage into a
 * whole one.
 */
export function readinessCheck(options: ReadinessOptions): { route: RouteHandler; startDraining(): void } {
  let isDraining = false;
  const timeoutMs = options.checkTimeoutMs ?? 1000;
  return {
    startDraining() {
      isDraining = true;
    },
    async route(_req: IncomingMessage, res: ServerResponse) {
      const readiness = await checkReadiness(options, timeoutMs, isDraining);
      sendJson(res, readiness.status === 'ready' || readiness.status === 'degraded' ? 200 : 503, readiness, NOT_STORED);
    },
  };
}

async function checkReadiness(options: ReadinessOptions, timeoutMs: number, isDraining: boolean): Promise<Readiness> {
  const [departmentResults, isStoreReachable, isRedisReachable] = await Promise.all([
    Promise.all([...options.departments].map(async ([name, source]) => [name, { isReachable: await isDepartmentReachable(source, timeoutMs), circuit: source.breaker.state }] as const)),
    withinTime(options.auditStore.readHead(options.chainId).then(() => true), timeoutMs),
    options.redis ? withinTime(options.redis.ping().then((pong) => pong === 'PONG'), timeoutMs) : Promise.resolve(undefined),
  ]);
  const departments = Object.fromEntries(departmentResults);
  const reachable = departmentResults.filter(([, result]) => result.isReachable).length;
  let status: Status = 'ready';
  if (reachable < departmentResults.length || isRedisReachable === false) status = 'degraded';
  if (!isStoreReachable || reachable === 0) status = 'unavailable';
  if (isDraining) status = 'draining';
  return {
    status,
    departments,
    auditStore: { isReachable: isStoreReachable },
    redis: isRedisReachable === undefined ? { isConfigured: false } : { isConfigured: true, isReachable: isRedisReachable },
  };
}

/** The smallest GraphQL request every subgraph answers, sent with the department's own client and deadline. */
async function isDepartmentReachable(source: DepartmentDataSource, timeoutMs: number): Promise<boolean> {
  const answer = source.fetcher(source.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"query":"{ __typename }"}',
  }).then(async (response) => response.ok && (await response.json())?.data?.__typename === 'Query');
  return withinTime(answer, timeoutMs);
}

/** True when `check` resolves true within `timeoutMs`; false on false, on any error and on time-out. */
function withinTime(check: Promise<boolean>, timeoutMs: number): Promise<boolean> {
  return withTimeout(check, timeoutMs, 'check timed out').catch(() => false);
}
