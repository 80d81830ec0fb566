import { createLogger } from '../lib/logger';
import { writeFixtureRegistries, ZHANG_WEI } from './fixtures/registries';
import { EVERY_FIELD_ITEM, startStack, type Stack } from './helpers/stack';

/** The gateway's request log: one JSON line per answer, for operations; never a citizen's ID number. */
let fixture: ReturnType<typeof writeFixtureRegistries>;
let stack: Stack;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  fixture = writeFixtureRegistries();
  const logger = createLogger('gateway', { level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  stack = await startStack({ dataDir: fixture.dataDir, logger });
});

afterAll(async () => {
  await stack.stop();
  fixture.remove();
});

beforeEach(() => {
  lines.length = 0;
});

/** `didAnswer` runs when the answer has been written: give it a turn of the event loop. */
const settled = () => new Promise((resolve) => setTimeout(resolve, 50));

test('an answered request: who, for which item, how it ended, how long, which departments; no citizen, no case', async () => {
  const { headers } = await stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } residence { status } } }`);
  await settled();
  expect(lines).toEqual([
    {
      level: 'info',
      time: expect.any(String),
      name: 'gateway',
      pid: process.pid,
      hostname: expect.any(String),
      requestId: headers.get('x-request-id'),
      status: 200,
      outcome: 'ok',
      ms: expect.any(Number),
      application: 'test-window',
      officer: 'officer-001',
      serviceItem: EVERY_FIELD_ITEM,
      departments: ['household', 'residence'],
      msg: 'answered',
    },
  ]);
  expect(JSON.stringify(lines)).not.toContain(ZHANG_WEI);
  expect(JSON.stringify(lines)).not.toContain('CASE-2026-0001');
});

test('a refusal says which check refused', async () => {
  await stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`, {}, { 'content-type': 'application/json', ...(await stack.serviceHeaders({ serviceItems: ['330100-SJ-0001'] })) });
  await settled();
  expect(lines).toMatchObject([{ status: 403, outcome: 'refused', refusal: 'FORBIDDEN', departments: [] }]);
});

test('a department whose circuit opens is logged as a warning naming it', async () => {
  const broken = await startStack({
    dataDir: fixture.dataDir,
    env: { PROOFLESS_RESIDENCE_URL: 'https://127.0.0.1:9/graphql', PROOFLESS_BREAKER_FAILURES: '1', PROOFLESS_CACHE: 'off' },
    logger: createLogger('gateway', { level: 'warn', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } }),
  });
  try {
    await broken.query(`{ citizen(idNumber: "${ZHANG_WEI}") { residence { status } } }`);
    await settled();
    expect(lines).toMatchObject([{ level: 'warn', department: 'residence', circuit: 'open', msg: 'the residence department\'s circuit is open' }]);
  } finally {
    await broken.stop();
  }
});
