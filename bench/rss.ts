import { readFileSync } from 'node:fs';

/** A process's resident set size in bytes, from /proc/<pid>/status (Linux), or null once it has gone. */
export function residentBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export interface RssSummary {
  /** Megabytes, all figures. */
  peakMb: number;
  meanMb: number;
  firstMb: number;
  lastMb: number;
  /** One sample per interval, for growth over a soak. */
  samplesMb: number[];
}

/** Samples `pid`'s RSS every `intervalMs` until `stop()`, which returns the summary. */
export function sampleRss(pid: number, intervalMs: number): { stop(): RssSummary } {
  const samples: number[] = [];
  const take = () => {
    const bytes = residentBytes(pid);
    if (bytes !== null) samples.push(bytes / 1_048_576);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return summariseRss(samples);
    },
  };
}

/** The summary of RSS samples in MB, in order, each figure to 0.1 MB (samples already rounded stay as they are). */
export function summariseRss(samplesMb: readonly number[]): RssSummary {
  const round = (mb: number) => Math.round(mb * 10) / 10;
  return {
    peakMb: round(Math.max(...samplesMb)),
    meanMb: round(samplesMb.reduce((sum, mb) => sum + mb, 0) / samplesMb.length),
    firstMb: round(samplesMb[0]),
    lastMb: round(samplesMb[samplesMb.length - 1]),
    samplesMb: samplesMb.map(round),
  };
}
