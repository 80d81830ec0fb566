import { loadAuditConfig, loadTrustedPublicKeys } from '../audit/config';
import { verifyChains } from '../audit/verify';
import { CHEN_QIANG, LI_NA, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { spawnGateway } from './helpers/gateway-process';
import { useFixtureStack } from './helpers/stack';

/**
 * "Kill the gateway with SIGKILL under load: every request whose response was received
 * has its record." The gateway runs as its own process over the test's departments and
 * data folder; the test keeps the request ID of every answer it got, kills the gateway
 * mid-load, and looks each one up in the audit store.
 */
const city = useFixtureStack();
const CHAIN = 'sigkill-test';

test('no answered request is missing from the audit log after a SIGKILL under load, and the chain verifies', async () => {
  const { stack, dataDir } = city;
  const { child: gateway, url } = await spawnGateway(stack, dataDir, CHAIN, {
    PROOFLESS_RATE_LIMIT_OFFICER_PER_MINUTE: '1000000',
    PROOFLESS_RATE_LIMIT_DISTINCT_CITIZENS_PER_HOUR: '1000000',
  });

  const headers = { 'content-type': 'application/json', ...(await stack.serviceHeaders()) };
  const answered: string[] = [];
  let isKilled = false;
  const citizens = [ZHANG_WEI, LI_NA, ZHANG_ZIHAN, CHEN_QIANG];
  const worker = async (offset: number) => {
    for (let i = offset; !isKilled; i += 1) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ query: `{ citizen(idNumber: "${citizens[i % citizens.length]}") { identity { name } residence { status } } }` }),
        });
        await response.json();
        if (response.status === 200) answered.push(response.headers.get('x-request-id') as string);
      } catch {
        return;
      }
    }
  };
  const workers = Array.from({ length: 8 }, (_, i) => worker(i));
  while (answered.length < 150) await new Promise((resolve) => setTimeout(resolve, 20));
  gateway.kill('SIGKILL');
  isKilled = true;
  await Promise.all(workers);
  expect(answered.length).toBeGreaterThanOrEqual(150);

  const records = await stack.audit.store.readChain(CHAIN, 0, 1_000_000);
  const recorded = new Set(records.map((record) => record.requestId));
  expect(answered.filter((requestId) => !recorded.has(requestId))).toEqual([]);
  const verification = (await verifyChains(stack.audit.store, loadTrustedPublicKeys(loadAuditConfig({ PROOFLESS_DATA_DIR: dataDir })))).find((chain) => chain.chainId === CHAIN);
  expect(verification).toMatchObject({ ok: true, records: records.length });
});
