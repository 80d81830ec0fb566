import { cacheBetween, latencyBetween, parseMetrics } from '../bench/gateway-metrics';

/**
 * The harness reads a Proofless gateway's /metrics before and after a target's rounds:
 * the difference is theirs. Expositions as prom-client writes them (gateway/metrics.ts).
 */
const BEFORE = parseMetrics(`# HELP proofless_request_duration_seconds Time from a request's arrival to its answer, by outcome
# TYPE proofless_request_duration_seconds histogram
proofless_request_duration_seconds_bucket{le="0.005",outcome="ok"} 1
proofless_request_duration_seconds_sum{outcome="ok"} 0.5
proofless_request_duration_seconds_count{outcome="ok"} 10
proofless_department_request_duration_seconds_sum{department="household",outcome="ok"} 0.1
proofless_department_request_duration_seconds_count{department="household",outcome="ok"} 10
proofless_audit_write_duration_seconds_sum{durable="true"} 0.2
proofless_audit_write_duration_seconds_count{durable="true"} 10
proofless_cache_hits_total 4
proofless_cache_misses_total 6
`);

const AFTER = parseMetrics(`proofless_request_duration_seconds_bucket{le="0.005",outcome="ok"} 3
proofless_request_duration_seconds_sum{outcome="ok"} 2.5
proofless_request_duration_seconds_count{outcome="ok"} 110
proofless_request_duration_seconds_sum{outcome="refused"} 0.15
proofless_request_duration_seconds_count{outcome="refused"} 10
proofless_department_request_duration_seconds_sum{department="household",outcome="ok"} 0.4
proofless_department_request_duration_seconds_count{department="household",outcome="ok"} 110
proofless_department_request_duration_seconds_sum{department="household",outcome="cache_hit"} 0.001
proofless_department_request_duration_seconds_count{department="household",outcome="cache_hit"} 20
proofless_department_request_duration_seconds_sum{department="residence",outcome="ok"} 0.35
proofless_department_request_duration_seconds_count{department="residence",outcome="ok"} 100
proofless_audit_write_duration_seconds_sum{durable="true"} 0.6
proofless_audit_write_duration_seconds_count{durable="true"} 110
proofless_audit_write_duration_seconds_sum{durable="false"} 50
proofless_audit_write_duration_seconds_count{durable="false"} 10
proofless_cache_hits_total 34
proofless_cache_misses_total 16
`);

test('the mean of each histogram over the stretch: every outcome for answers, calls the department answered, durable records', () => {
  expect(latencyBetween(BEFORE, AFTER)).toEqual({
    answers: 110,
    // (2.5 - 0.5 + 0.15) s over 110 answers
    answerMs: 19.55,
    // A cache hit is not a round trip; a department first seen after the start counts from zero.
    departmentMs: { household: 3, residence: 3.5 },
    // A record that never became durable waited out its timeout: not the wait of the others.
    auditMs: 4,
  });
});

test('cache hits and misses over the stretch, and their ratio', () => {
  expect(cacheBetween(BEFORE, AFTER)).toEqual({ hits: 30, misses: 10, hitRatio: 0.75 });
});

test('a stretch with no answers has no means, rather than a division by zero, and no department called', () => {
  expect(latencyBetween(AFTER, AFTER)).toEqual({ answers: 0, answerMs: Number.NaN, departmentMs: {}, auditMs: Number.NaN });
});
