import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../lib/paths';
import type { FetchCountCheck } from './fetch-count';
import type { CacheCounts, LatencyBreakdown } from './gateway-metrics';
import type { LoadResult } from './load';
import { PROOFLESS_GATEWAYS, type TargetName } from './stack';

export const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');

export interface Measurement {
  scenario: string;
  title: string;
  target: TargetName;
  /** Concurrent keep-alive connections, each with one request in flight. */
  connections: number;
  citizensInRegistry: number;
  /** The machine's 1-minute load average as the run started: other engineers' work shows here. */
  loadAverageAtStart: number;
  result: LoadResult;
  /** Each figure divided by the reference's (the plain gateway in the same scenario and run, unless the results say otherwise); null without one. */
  ratios: Ratios | null;
  /** Each round's own figures, when the target was measured in turns with the others (the result combines them). */
  rounds?: { requestsPerSecond: number; p50: number; p99: number }[];
  /** Requests/s divided by the reference's in the same round, round by round: the spread of the ratio within one run. */
  roundRatios?: number[];
  /** Department fetches answered from the cache during the measurement (scenarios that measure the cache). */
  cache?: CacheCounts;
  /** Where a Proofless gateway's answers spent their time, from its own metrics. */
  latency?: LatencyBreakdown;
  /** Connections the departments the target called accepted during the row (for guarded ones, each a TLS handshake); absent for a department called directly. */
  departmentConnections?: number;
}

/** Higher is better for requests/s; lower is better for the others. */
export interface Ratios {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  rssPeak: number;
}

export function targetLabel(target: TargetName): string {
  if (target === 'proofless') return 'Proofless';
  if (target === 'proofless-cache') return 'Proofless, cache in process';
  if (target === 'proofless-redis') return 'Proofless, cache in Redis';
  if (target === 'plain') return 'plain gateway';
  // A department called directly is the baseline's, without the guard (bench/stack.ts, url, says why).
  return target in PROOFLESS_GATEWAYS ? target : `${target} direct (unguarded)`;
}

export function ratiosOf(of: LoadResult, to: LoadResult): Ratios {
  const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : Number.NaN);
  return {
    requestsPerSecond: ratio(of.requestsPerSecond, to.requestsPerSecond),
    p50: ratio(of.latencyMs.p50, to.latencyMs.p50),
    p99: ratio(of.latencyMs.p99, to.latencyMs.p99),
    rssPeak: ratio(of.rss.peakMb, to.rss.peakMb),
  };
}

/**
 * The results table: one row per scenario and target, then each figure as a ratio to the
 * reference, the CPU time the target's process and the departments' processes spent per
 * request, and the share of the machine's CPU others used meanwhile. With
 * `isRegistrySizeShown` the scenario reads `A@1000k`.
 */
export function formatMeasurements(rows: Measurement[], isRegistrySizeShown = false): string {
  const header = ['scenario', 'target', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'RSS MB', 'req/s ×', 'p50 ×', 'p99 ×', 'RSS ×', 'CPU ms/req', 'depts CPU ms/req', 'others CPU %'];
  const x = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? '-' : `${value.toFixed(2)}`);
  const lines = rows.map((row) => [
    isRegistrySizeShown ? `${row.scenario}@${row.citizensInRegistry / 1000}k` : row.scenario,
    targetLabel(row.target),
    String(row.connections),
    String(row.result.requestsPerSecond),
    String(row.result.latencyMs.p50),
    String(row.result.latencyMs.p99),
    describeErrors(row.result),
    String(row.result.rss.peakMb),
    x(row.ratios?.requestsPerSecond),
    x(row.ratios?.p50),
    x(row.ratios?.p99),
    x(row.ratios?.rssPeak),
    row.result.cpuMsPerRequest.target.toFixed(2),
    row.result.cpuMsPerRequest.departments.toFixed(2),
    row.result.machine.othersPercent.toFixed(1),
  ]);
  return formatTable(header, lines);
}

function describeErrors(result: LoadResult): string {
  const { errors } = result;
  if (errors.total === 0) return '0';
  const parts = [['transport', errors.transport], ['non-2xx', errors.non2xx], ['GraphQL', errors.graphql], ['wrong', errors.wrongAnswers]]
    .filter(([, n]) => (n as number) > 0)
    .map(([name, n]) => `${n} ${name}`);
  return `${errors.total} (${parts.join(', ')})`;
}

/** Where a Proofless row's answers spent their time, in one line; null for a row without the gateway's metrics. */
export function formatLatency(row: Measurement): string | null {
  if (!row.latency) return null;
  const { answers, answerMs, departmentMs, auditMs } = row.latency;
  const ms = (value: number) => (Number.isNaN(value) ? '-' : value.toFixed(2));
  const departments = Object.entries(departmentMs).sort().map(([name, value]) => `${name} ${ms(value)}`).join(', ');
  return `(${row.scenario}) ${targetLabel(row.target)}, ${row.connections} connections: its metrics say ${answers} answers took ${ms(answerMs)} ms on average; ` +
    `department round trips ${departments || 'none'} ms; audit record durable after ${ms(auditMs)} ms`;
}

/** How many connections the row's departments accepted, per thousand requests; null for a row whose target calls no department. */
export function formatDepartmentConnections(row: Measurement): string | null {
  if (row.departmentConnections === undefined || !(row.target in PROOFLESS_GATEWAYS || row.target === 'plain')) return null;
  const perThousand = row.result.requests > 0 ? ((row.departmentConnections / row.result.requests) * 1000).toFixed(1) : '-';
  return `(${row.scenario}) ${targetLabel(row.target)}, ${row.connections} connections: its departments accepted ${row.departmentConnections} connections, ${perThousand} per 1000 requests`;
}

export function formatFetchCheck(check: FetchCountCheck): string {
  const show = (counts: Record<string, number>) => Object.entries(counts).sort().map(([name, n]) => `${name} ${Number(n.toFixed(2))}`).join(', ');
  const failed = check.failedOperations > 0 ? `; ${check.failedOperations} of ${check.operations} answers wrong, first: ${check.problems[0]}` : '';
  return `(${check.scenario}) ${targetLabel(check.target)}: department requests per operation ${show(check.requestsPerOperation)}; ` +
    `plan fetches ${show(check.plannedFetches)}: ${check.isEqual ? 'equal' : 'NOT EQUAL'} (${check.operations} operations${failed})`;
}

/** A plain-text table: the first `textColumns` columns left-aligned, figures right-aligned. */
export function formatTable(header: string[], rows: string[][], textColumns = 2): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i < textColumns ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Writes `bench/results/<name>.json`, creating the folder (it is not committed). */
export function writeResults(name: string, results: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}
