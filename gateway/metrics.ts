import { collectDefaultMetrics, Counter, Histogram, Gauge, Registry } from 'prom-client';
import type { RouteHandler } from '../lib/graphql-http';
import type { CacheCounters } from './cache/department-cache';
import type { CircuitState } from './circuit-breaker';
import type { Outcome } from './outcome';

/** How one call to a department ended, as the metrics label it. */
export type DepartmentCallOutcome = 'ok' | 'error' | 'timeout' | 'receipt_invalid' | 'circuit_open' | 'cache_hit';

export interface GatewayMetricsOptions {
  /** Each department's circuit, read at every scrape. */
  circuits: () => Iterable<[department: string, state: CircuitState]>;
  /** The department-answer cache's counters, read at every scrape; absent when the cache is off. */
  cacheCounters?: () => CacheCounters;
  /** Seconds until each TLS certificate the gateway holds or has seen expires, by name, read at every scrape; default none. */
  certificateSecondsLeft?: () => Record<string, number>;
}

export interface GatewayMetrics {
  /** Counts one answered request and its duration from arrival. */
  observeRequest(outcome: Outcome, seconds: number): void;
  /** Times one call to a department (a query-plan fetch), however it ended. */
  observeDepartmentCall(department: string, outcome: DepartmentCallOutcome, seconds: number): void;
  /** Counts one push of the gateway's checkpoint to a department to witness (checkpoint-witnesses.ts), delivered or not. */
  countWitnessPush(department: string, isDelivered: boolean): void;
  /** Times one audit record from handing it to the log to its being durable. */
  observeAuditWrite(seconds: number, isDurable: boolean): void;
  /** `/metrics` in the Prometheus text format. */
  route: RouteHandler;
}

const CIRCUIT_VALUE: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** Latency buckets in seconds, from a cached answer (under a millisecond) to a department timeout. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The gateway's Prometheus metrics, on a registry of its own (two gateways in one process,
 * as in tests, never mix counts). Labels are closed sets — outcome, department — and
 * never a caller, a case or a citizen: those belong in the audit log.
 */
export function createGatewayMetrics(options: GatewayMetricsOptions): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'proofless_' });
  const requests = new Counter({ name: 'proofless_requests_total', help: 'GraphQL requests answered, by outcome (ok, partial, refused, error)', labelNames: ['outcome'], registers: [registry] });
  const requestSeconds = new Histogram({ name: 'proofless_request_duration_seconds', help: 'Time from a request\'s arrival to its answer, by outcome', labelNames: ['outcome'], buckets: BUCKETS, registers: [registry] });
  const departmentSeconds = new Histogram({
    name: 'proofless_department_request_duration_seconds',
    help: 'Calls to each department (query-plan fetches), by how they ended: ok, error, timeout, receipt_invalid (no valid receipt), circuit_open, cache_hit',
    labelNames: ['department', 'outcome'],
    buckets: BUCKETS,
    registers: [registry],
  });
  const witnessPushes = new Counter({
    name: 'proofless_checkpoint_witness_pushes_total',
    help: 'Checkpoints of the gateway\'s audit chain sent to a department to witness, by department and whether it took them (delivered=false: it is sent the next one)',
    labelNames: ['department', 'delivered'],
    registers: [registry],
  });
  const auditSeconds = new Histogram({ name: 'proofless_audit_write_duration_seconds', help: 'Time for an audit record to become durable (group commit included); durable=false when it was not', labelNames: ['durable'], buckets: BUCKETS, registers: [registry] });
  new Gauge({
    name: 'proofless_circuit_state',
    help: 'Each department\'s circuit breaker: 0 closed, 1 half-open, 2 open',
    labelNames: ['department'],
    registers: [registry],
    collect() {
      for (const [department, state] of options.circuits()) this.set({ department }, CIRCUIT_VALUE[state]);
    },
  });
  if (options.certificateSecondsLeft) {
    const secondsLeft = options.certificateSecondsLeft;
    new Gauge({
      name: 'proofless_tls_certificate_expiry_seconds',
      help: 'Seconds until each TLS certificate expires (negative once it has): the gateway\'s own and each department\'s as last presented',
      labelNames: ['certificate'],
      registers: [registry],
      collect() {
        for (const [certificate, seconds] of Object.entries(secondsLeft())) this.set({ certificate }, seconds);
      },
    });
  }
  if (options.cacheCounters) {
    const counters = options.cacheCounters;
    // The cache counts for itself; these mirror its counts at each scrape.
    const mirror = (name: string, help: string, read: (counts: CacheCounters) => number) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read(counters()));
        },
      });
    mirror('proofless_cache_hits_total', 'Department fetches answered from the cache', (counts) => counts.hits);
    mirror('proofless_cache_misses_total', 'Cacheable department fetches sent to the department', (counts) => counts.misses);
    mirror('proofless_cache_errors_total', 'Cache operations that failed or ran out of time (the request went on without the cache)', (counts) => counts.errors);
    mirror('proofless_cache_skips_total', 'Cache operations not tried because the cache store was not connected', (counts) => counts.skips);
    mirror('proofless_cache_invalidated_total', 'Cached answers dropped because a department published a registry change', (counts) => counts.invalidated);
  }
  return {
    observeRequest(outcome, seconds) {
      requests.inc({ outcome });
      requestSeconds.observe({ outcome }, seconds);
    },
    observeDepartmentCall(department, outcome, seconds) {
      departmentSeconds.observe({ department, outcome }, seconds);
    },
    countWitnessPush(department, isDelivered) {
      witnessPushes.inc({ department, delivered: String(isDelivered) });
    },
    observeAuditWrite(seconds, isDurable) {
      auditSeconds.observe({ durable: String(isDurable) }, seconds);
    },
    async route(_req, res) {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(body);
    },
  };
}
