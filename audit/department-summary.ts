import type { StoredRecord } from './entry';

/**
 * A department's operational figures over its own access log (issue 18, in the spirit of
 * X-Road's operational monitoring): per calling application and service item, how many
 * requests it answered, refused and failed, and how long answering took. Counts and
 * times only: no citizen, officer or case number is in a figure.
 */
export interface OperationalFigures {
  application: string | null;
  serviceItem: string | null;
  requests: number;
  refusals: number;
  errors: number;
  /** Nearest-rank percentiles of the records' latencyMs. */
  latencyP50Ms: number;
  latencyP95Ms: number;
}

/** Summarises records as they stream by; only a department's answers count (witnessed checkpoints are not requests). */
export class OperationalSummary {
  private readonly groups = new Map<string, { application: string | null; serviceItem: string | null; requests: number; refusals: number; errors: number; latencies: number[] }>();

  add(record: StoredRecord): void {
    if (record.exchange?.kind !== 'department-answer') return;
    const key = JSON.stringify([record.application, record.serviceItem]);
    let group = this.groups.get(key);
    if (!group) {
      group = { application: record.application, serviceItem: record.serviceItem, requests: 0, refusals: 0, errors: 0, latencies: [] };
      this.groups.set(key, group);
    }
    group.requests += record.requests;
    if (record.outcome === 'refused') group.refusals += record.requests;
    if (record.outcome === 'error') group.errors += record.requests;
    group.latencies.push(record.latencyMs);
  }

  /** One entry per application and service item, sorted by them. */
  figures(): OperationalFigures[] {
    return [...this.groups.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, { latencies, ...group }]) => {
        const sorted = [...latencies].sort((a, b) => a - b);
        return { ...group, latencyP50Ms: percentile(sorted, 0.5), latencyP95Ms: percentile(sorted, 0.95) };
      });
  }
}

/** Nearest rank: the smallest value at or above which `share` of the values lie. */
function percentile(sorted: readonly number[], share: number): number {
  return sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)] ?? 0;
}
