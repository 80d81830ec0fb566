import type { IncomingMessage, ServerResponse } from 'node:http';
import type Redis from 'ioredis';
import type { AuditLog } from '../audit/log';
import type { AuditStore } from '../audit/store';
import { sendJson, type RouteHandler } from '../lib/graphql-http';
import { withTimeout } from '../lib/with-timeout';
import type { CircuitState } from './circuit-breaker';
import type { DepartmentDataSource } from './data-source';
import { certificateExpiry } from '../lib/federation-transport';
import type { DepartmentTransport } from './department-transport';

export interface ReadinessOptions {
  /** Each department's data source (its URL, fetcher and circuit), as the gateway built them. */
  departments: Map<string, DepartmentDataSource>;
  /** The audit store this instance writes; nothing is answered while it cannot be reached or cannot take writes. */
  auditStore: AuditStore;
  /**
   * This instance's audit log, when it writes one: while it refuses records (it found the
   * store no longer holds records it wrote, audit/log.ts) nothing is answered either, and
   * the store counts as not writable. Default: none, the store alone is looked at.
   */
  auditLog?: Pick<AuditLog, 'isRefusingRecords'>;
  /** The chain this instance writes: its head is read as the store's reachability check, and it names this instance's probe row. */
  chainId: string;
  /**
   * While the store's writes succeed, how often a check still probes it with a real write;
   * default 10000 ms. After a failed write every check probes, so readiness returns as
   * soon as the store takes writes again (room made on a full disk).
   */
  probeIntervalMs?: number;
  /** Milliseconds now, for the probe interval; default `Date.now`. */
  clock?: () => number;
  /** Shared Redis, when configured. */
  redis?: Redis;
  /** How long each check may take, in ms; default 1000. */
  checkTimeoutMs?: number;
  /** The certificates to report (the gateway's own and each department's); default none. */
  transport?: Pick<DepartmentTransport, 'certificates' | 'expiryWarningDays'>;
}

/** Health answers are about this moment: no cache on the way may keep one. */
const NOT_STORED = { 'cache-control': 'no-store' };

type Status = 'ready' | 'degraded' | 'unavailable' | 'draining';

export interface Readiness {
  status: Status;
  departments: Record<string, { isReachable: boolean; circuit: CircuitState }>;
  auditStore: { isReachable: boolean; isWritable: boolean };
  redis: { isConfigured: false } | { isConfigured: true; isReachable: boolean };
  /**
   * Each TLS certificate: the gateway's own and each department's as it presented it last,
   * with its expiry and whether that is within the warning period. An expiring certificate
   * does not change the status: it still works, and every instance would go at once.
   */
  certificates: Record<string, { notAfter: string; daysLeft: number; isExpiringSoon: boolean }>;
}

/** `/healthz`: the process is alive and serving HTTP. Nothing else is checked, so a load balancer never restarts a gateway for a department's fault. */
export const liveness: RouteHandler = (_req, res) => sendJson(res, 200, { status: 'alive' }, NOT_STORED);

/**
 * `/readyz`, for load balancers: whether this instance should get traffic, with a body
 * saying what it reached. 503 when it cannot answer anything: the audit store is out of
 * reach or cannot take writes (a full disk: every answer would be 503 AUDIT_UNAVAILABLE),
 * every department is out of reach, or it is draining after SIGTERM. A department or Redis that is down makes it `degraded`, still
 * 200: the other departments' facts are still served (partial answers) and the cache and
 * rate limits fall back to this process, and every instance shares the same departments
 * and Redis, so taking instances out of the pool would turn a partial outage into a
 * whole one.
 */
export function readinessCheck(options: ReadinessOptions): { route: RouteHandler; startDraining(): void } {
  let isDraining = false;
  const timeoutMs = options.checkTimeoutMs ?? 1000;
  const auditStore = auditStoreCheck(options, timeoutMs);
  return {
    startDraining() {
      isDraining = true;
    },
    async route(_req: IncomingMessage, res: ServerResponse) {
      const readiness = await checkReadiness(options, auditStore, timeoutMs, isDraining);
      sendJson(res, readiness.status === 'ready' || readiness.status === 'degraded' ? 200 : 503, readiness, NOT_STORED);
    },
  };
}

/**
 * Whether the audit store answers (its chain head is read) and takes records. Reading
 * alone said ready while a full disk refused every record: a write is the only proof. The
 * probe (store.ts `probeWrite`) tries a record of this instance's chain and rolls it back,
 * and commits this instance's row of the probe table, which no chain includes, so it
 * meets both a full disk and whatever refuses records alone, and never touches what
 * auditors verify. It runs when the last write of records failed (every check, until a
 * probe or a record succeeds: a write to the probe table alone once cleared a failure
 * while every record was refused) and otherwise at most once per interval, so an idle
 * instance finds out too.
 */
function auditStoreCheck(options: ReadinessOptions, timeoutMs: number): () => Promise<Readiness['auditStore']> {
  const { auditStore: store, chainId } = options;
  const probeIntervalMs = options.probeIntervalMs ?? 10_000;
  const clock = options.clock ?? Date.now;
  let lastProbeAt = -Infinity;
  return async () => {
    const isReachable = await withinTime(store.readHead(chainId).then(() => true), timeoutMs);
    if (!isReachable || options.auditLog?.isRefusingRecords()) return { isReachable, isWritable: false };
    const now = clock();
    if (!store.hasRecordWriteFailed() && now - lastProbeAt < probeIntervalMs) return { isReachable, isWritable: true };
    const isWritable = await withinTime(store.probeWrite(chainId).then(() => true), timeoutMs);
    if (isWritable) lastProbeAt = now;
    return { isReachable, isWritable };
  };
}

async function checkReadiness(
  options: ReadinessOptions,
  checkAuditStore: () => Promise<Readiness['auditStore']>,
  timeoutMs: number,
  isDraining: boolean,
): Promise<Readiness> {
  const [departmentResults, auditStore, isRedisReachable] = await Promise.all([
    Promise.all([...options.departments].map(async ([name, source]) => [name, { isReachable: await isDepartmentReachable(source, timeoutMs), circuit: source.breaker.state }] as const)),
    checkAuditStore(),
    options.redis ? withinTime(options.redis.ping().then((pong) => pong === 'PONG'), timeoutMs) : Promise.resolve(undefined),
  ]);
  const departments = Object.fromEntries(departmentResults);
  const reachable = departmentResults.filter(([, result]) => result.isReachable).length;
  let status: Status = 'ready';
  if (reachable < departmentResults.length || isRedisReachable === false) status = 'degraded';
  if (!auditStore.isReachable || !auditStore.isWritable || reachable === 0) status = 'unavailable';
  if (isDraining) status = 'draining';
  return {
    status,
    departments,
    auditStore,
    redis: isRedisReachable === undefined ? { isConfigured: false } : { isConfigured: true, isReachable: isRedisReachable },
    certificates: certificatesOf(options.transport, Date.now()),
  };
}

function certificatesOf(transport: ReadinessOptions['transport'], now: number): Readiness['certificates'] {
  if (!transport) return {};
  return Object.fromEntries(transport.certificates().map(({ name, notAfter }) => [name, { notAfter: notAfter.toISOString(), ...certificateExpiry(notAfter, now, transport.expiryWarningDays) }]));
}

/** The smallest GraphQL request every subgraph answers, signed and sent over mutual TLS with the department's own client and deadline. */
function isDepartmentReachable(source: DepartmentDataSource, timeoutMs: number): Promise<boolean> {
  return withinTime(source.answersReadinessProbe(), timeoutMs);
}

/** True when `check` resolves true within `timeoutMs`; false on false, on any error and on time-out. */
function withinTime(check: Promise<boolean>, timeoutMs: number): Promise<boolean> {
  return withTimeout(check, timeoutMs, 'check timed out').catch(() => false);
}
