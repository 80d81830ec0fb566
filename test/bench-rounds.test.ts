import { combineRounds, median, type LoadResult } from '../bench/load';

/** The harness measures each scenario's targets in turns; a target's rounds are reported as one result. */
function round(overrides: { requests: number; p50: number; p99: number; mean: number; cpu: number; rss: number[]; others: number; wrong?: number; example?: string }): LoadResult {
  const wrong = overrides.wrong ?? 0;
  return {
    requests: overrides.requests,
    requestsPerSecond: overrides.requests / 5,
    latencyMs: { p50: overrides.p50, p99: overrides.p99, mean: overrides.mean },
    errors: { transport: 0, non2xx: 0, graphql: 0, wrongAnswers: wrong, total: wrong, examples: overrides.example ? [overrides.example] : [] },
    rss: { peakMb: Math.max(...overrides.rss), meanMb: 0, firstMb: overrides.rss[0], lastMb: overrides.rss[overrides.rss.length - 1], samplesMb: overrides.rss },
    cpuMsPerRequest: { target: overrides.cpu, departments: overrides.cpu / 2 },
    machine: { busyPercent: 90, othersPercent: overrides.others },
  };
}

test('rounds combine: requests/s over the whole time, median percentiles, CPU per request over all requests, every RSS sample, every error', () => {
  const combined = combineRounds([
    round({ requests: 4000, p50: 12, p99: 30, mean: 12.5, cpu: 1.0, rss: [200, 210], others: 1 }),
    round({ requests: 3000, p50: 15, p99: 45, mean: 16, cpu: 1.2, rss: [205, 230], others: 4, wrong: 2, example: 'wrong answer: name' }),
    round({ requests: 5000, p50: 10, p99: 26, mean: 10, cpu: 0.9, rss: [208, 206], others: 0 }),
  ], 5);
  expect(combined).toEqual({
    requests: 12000,
    requestsPerSecond: 800,
    latencyMs: { p50: 12, p99: 30, mean: 12.33 },
    errors: { transport: 0, non2xx: 0, graphql: 0, wrongAnswers: 2, total: 2, examples: ['wrong answer: name'] },
    rss: { peakMb: 230, meanMb: 209.8, firstMb: 200, lastMb: 206, samplesMb: [200, 210, 205, 230, 208, 206] },
    cpuMsPerRequest: { target: 1.01, departments: 0.5 },
    machine: { busyPercent: 90, othersPercent: 1.7 },
  });
});

test('one round is its own result; none is refused', () => {
  const only = round({ requests: 100, p50: 1, p99: 2, mean: 1, cpu: 1, rss: [100], others: 0 });
  expect(combineRounds([only], 5)).toBe(only);
  expect(() => combineRounds([], 5)).toThrow('no rounds to combine');
});

test('median of odd and even counts', () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
});
