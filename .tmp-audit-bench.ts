import { writeFixtureRegistries, ZHANG_WEI, LI_NA, CHEN_QIANG, ZHANG_ZIHAN } from './test/fixtures/registries';
import { startStack } from './test/helpers/stack';
import { loadConfig } from './gateway/config';
import { createGateway } from './gateway/gateway';
import { serveGraphQL } from './lib/graphql-http';
import type { AuditLog } from './audit/log';

async function drive(url: string, headers: Record<string, string>, seconds: number): Promise<number> {
  const ids = [ZHANG_WEI, LI_NA, CHEN_QIANG, ZHANG_ZIHAN];
  let done = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: 10 }, async (_, w) => {
    for (let i = w; Date.now() < end; i++) {
      const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query: `{ citizen(idNumber: "${ids[i % 4]}") { identity { name } residence { status } } }` }) });
      await r.text(); if (r.status === 200) done++;
    }
  }));
  return done / seconds;
}

async function main() {
  const fixture = writeFixtureRegistries();
  const env = { PROOFLESS_RATE_LIMIT_OFFICER_PER_MINUTE: '10000000', PROOFLESS_RATE_LIMIT_DISTINCT_CITIZENS_PER_HOUR: '10000000', PROOFLESS_RATE_LIMIT_APPLICATION_PER_MINUTE: '10000000' };
  const stack = await startStack({ dataDir: fixture.dataDir, env });
  const headers = { 'content-type': 'application/json', ...(await stack.serviceHeaders()) };
  const config = loadConfig({ PROOFLESS_GATEWAY_PORT: '0', PROOFLESS_DATA_DIR: fixture.dataDir, PROOFLESS_CATALOG: `${fixture.dataDir}/test-catalog.json`,
    PROOFLESS_HOUSEHOLD_URL: stack.subgraphs.household.url, PROOFLESS_RESIDENCE_URL: stack.subgraphs.residence.url, PROOFLESS_LICENSE_URL: stack.subgraphs.license.url, ...env });
  const nullLog: AuditLog = { chainId: 'none', record: async () => ({} as never), checkpoint: async () => null, close: async () => undefined };
  const off = createGateway(config, { auditLog: nullLog });
  const served = await serveGraphQL(off.server, { host: '127.0.0.1', port: 0, context: off.context });
  await drive(stack.gatewayUrl, headers, 2); await drive(served.url, headers, 2);
  const results: string[] = [];
  for (let round = 0; round < 2; round++) {
    const on = await drive(stack.gatewayUrl, headers, 5);
    const offRate = await drive(served.url, headers, 5);
    results.push(`audit on ${on.toFixed(0)} req/s, audit off ${offRate.toFixed(0)} req/s, ratio ${(on / offRate).toFixed(2)}`);
  }
  console.log(results.join('\n'));
  await served.stop(); await stack.stop(); fixture.remove();
}
main();
