/**
 * What a Proofless gateway's own `/metrics` say about a stretch of load: read before and
 * after, the difference is the stretch's. The cache counters give a cache scenario its hit
 * ratio; the latency histograms say where an answer's time went, which at 10 connections
 * is what bounds the gateway's requests/s (scenarios.ts, LOAD_CURVE).
 */

/** Every sample of a Prometheus text exposition, by its name and labels as written (`name{a="b"}`). */
export type MetricSamples = Map<string, number>;

export async function readMetrics(gatewayUrl: string): Promise<MetricSamples> {
  const text = await (await fetch(new URL('/metrics', gatewayUrl))).text();
  return parseMetrics(text);
}

/** Also how test/metrics.test.ts reads the gateway's exposition. */
export function parseMetrics(text: string): MetricSamples {
  const samples: MetricSamples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const separator = line.lastIndexOf(' ');
    samples.set(line.slice(0, separator), Number(line.slice(separator + 1)));
  }
  return samples;
}

export interface CacheCounts {
  hits: number;
  misses: number;
  hitRatio: number;
}

/** Department fetches the cache answered, and did not, between two readings. */
export function cacheBetween(before: MetricSamples, after: MetricSamples): CacheCounts {
  const hits = growth(before, after, 'proofless_cache_hits_total');
  const misses = growth(before, after, 'proofless_cache_misses_total');
  return { hits, misses, hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses) };
}

/** Mean milliseconds between two readings: an answer in all, each department's round trip, an audit record's wait to be durable. */
export interface LatencyBreakdown {
  /** Answers the gateway gave, the service bureau's reads through it included (scenario B). */
  answers: number;
  answerMs: number;
  /** Calls the department answered (`outcome="ok"`), by department called in the stretch; cache hits are not round trips. */
  departmentMs: Record<string, number>;
  auditMs: number;
}

export function latencyBetween(before: MetricSamples, after: MetricSamples): LatencyBreakdown {
  const departmentMs: Record<string, number> = {};
  for (const key of after.keys()) {
    const department = /^proofless_department_request_duration_seconds_sum\{department="([^"]+)",outcome="ok"\}$/.exec(key)?.[1];
    if (!department) continue;
    const labels = `{department="${department}",outcome="ok"}`;
    if (total(before, after, 'proofless_department_request_duration_seconds_count', labels) > 0) {
      departmentMs[department] = meanMs(before, after, 'proofless_department_request_duration_seconds', labels);
    }
  }
  return {
    answers: total(before, after, 'proofless_request_duration_seconds_count', ''),
    answerMs: meanMs(before, after, 'proofless_request_duration_seconds', ''),
    departmentMs,
    auditMs: meanMs(before, after, 'proofless_audit_write_duration_seconds', '{durable="true"}'),
  };
}

/** A histogram's mean over the stretch, in ms to two decimals; with empty `labels`, over every label set; NaN without observations. */
function meanMs(before: MetricSamples, after: MetricSamples, histogram: string, labels: string): number {
  const count = total(before, after, `${histogram}_count`, labels);
  return count > 0 ? Math.round((total(before, after, `${histogram}_sum`, labels) / count) * 100000) / 100 : Number.NaN;
}

/** A series' growth over the stretch; with empty `labels`, summed over every label set. */
function total(before: MetricSamples, after: MetricSamples, series: string, labels: string): number {
  if (labels) return growth(before, after, `${series}${labels}`);
  let sum = 0;
  for (const key of after.keys()) if (key === series || key.startsWith(`${series}{`)) sum += growth(before, after, key);
  return sum;
}

/** One series' growth between two readings (0 where it is absent). Also what test/metrics.test.ts measures with. */
export function growth(before: MetricSamples, after: MetricSamples, key: string): number {
  return (after.get(key) ?? 0) - (before.get(key) ?? 0);
}
