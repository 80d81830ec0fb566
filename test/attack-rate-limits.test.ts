import { CHEN_QIANG, LI_NA, WANG_XIUYING, ZHANG_WEI } from './fixtures/registries';
import { startStack, useFixtureStack } from './helpers/stack';

/**
 * Red team, issue 16, area 3: "distinct citizens per officer per hour". The hour is a
 * fixed window of the clock (rate-limit-store.ts: `Math.floor(now / HOUR)`), in Redis and
 * in process: an officer who reads the whole allowance at 08:59:59 gets a whole new one at
 * 09:00:00, so twice the limit (400 by default) in two seconds, and again every hour on
 * the hour. Shown with a limit of 2.
 */
const city = useFixtureStack();

test('an officer reads 2 distinct citizens at 08:59:59 and 2 more at 09:00:00, with a limit of 2 per hour: the second read is refused', async () => {
  let now = Date.UTC(2026, 10, 30, 8, 59, 59);
  const stack = await startStack({ dataDir: city.dataDir, now: () => now, env: { PROOFLESS_RATE_LIMIT_DISTINCT_CITIZENS_PER_HOUR: '2' } });
  try {
    const read = (ids: string[]) => stack.query(`{ citizens(idNumbers: ${JSON.stringify(ids)}) { identity { name } } }`);
    expect((await read([ZHANG_WEI, LI_NA])).status).toBe(200);
    now += 1000;
    const second = await read([WANG_XIUYING, CHEN_QIANG]);
    // Today: 200 with both names: four distinct citizens within one second.
    expect({ status: second.status, code: second.body.errors?.[0]?.extensions?.code, limit: second.body.errors?.[0]?.extensions?.limit }).toEqual({
      status: 429, code: 'RATE_LIMITED', limit: 'distinctCitizensPerHour',
    });
  } finally {
    await stack.stop();
  }
});
