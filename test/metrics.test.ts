import { growth, parseMetrics } from '../bench/gateway-metrics';
import { ZHANG_WEI } from './fixtures/registries';
import { useFixtureStack } from './helpers/stack';

/** `/metrics` in the Prometheus text format: requests by outcome, departments, cache, audit writes, circuits. */
const city = useFixtureStack();

/** Every sample of the exposition, by series (`name{labels}`). */
async function scrape(): Promise<{ contentType: string | null; samples: Map<string, number>; text: string }> {
  const response = await fetch(new URL('/metrics', city.stack.gatewayUrl));
  const text = await response.text();
  return { contentType: response.headers.get('content-type'), samples: parseMetrics(text), text };
}

const QUERY = `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } residence { status } } }`;

test('requests by outcome, each department\'s calls by how they ended, cache hits and audit writes are counted', async () => {
  const before = (await scrape()).samples;
  expect((await city.stack.query(QUERY)).status).toBe(200);
  expect((await city.stack.query(QUERY)).status).toBe(200);
  const refused = await city.stack.query(QUERY, {}, { 'content-type': 'application/json', ...(await city.stack.serviceHeaders({}, { serviceItem: '330100-SJ-0001' })) });
  expect(refused.status).toBe(403);
  const after = (await scrape()).samples;

  expect(growth(before, after, 'proofless_requests_total{outcome="ok"}')).toBe(2);
  expect(growth(before, after, 'proofless_requests_total{outcome="refused"}')).toBe(1);
  expect(growth(before, after, 'proofless_request_duration_seconds_count{outcome="ok"}')).toBe(2);
  // The first request called both departments; the second was answered from the cache.
  expect(growth(before, after, 'proofless_department_request_duration_seconds_count{department="household",outcome="ok"}')).toBe(1);
  expect(growth(before, after, 'proofless_department_request_duration_seconds_count{department="residence",outcome="ok"}')).toBe(1);
  expect(growth(before, after, 'proofless_department_request_duration_seconds_count{department="household",outcome="cache_hit"}')).toBe(1);
  expect(growth(before, after, 'proofless_department_request_duration_seconds_count{department="residence",outcome="cache_hit"}')).toBe(1);
  expect(growth(before, after, 'proofless_cache_hits_total')).toBe(2);
  expect(growth(before, after, 'proofless_cache_misses_total')).toBe(2);
  expect(growth(before, after, 'proofless_audit_write_duration_seconds_count{durable="true"}')).toBe(3);
});

test('each department\'s circuit state, with the exposition\'s content type; no citizen, caller or case in any label', async () => {
  await city.stack.query(QUERY);
  const { contentType, samples, text } = await scrape();
  expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  for (const department of ['household', 'residence', 'license', 'service', 'audit']) {
    expect(samples.get(`proofless_circuit_state{department="${department}"}`)).toBe(0);
  }
  expect(text).not.toContain(ZHANG_WEI);
  expect(text).not.toMatch(/officer|application|case|idNumber/i);
});

test('a request refused before GraphQL (a bad token) is counted as refused', async () => {
  const before = (await scrape()).samples;
  const { status } = await city.stack.query(QUERY, {}, { 'content-type': 'application/json', authorization: 'Bearer not-a-token', 'x-service-item': 'x', 'x-case-number': 'y' });
  expect(status).toBe(401);
  expect(growth(before, (await scrape()).samples, 'proofless_requests_total{outcome="refused"}')).toBe(1);
});
