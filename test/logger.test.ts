import { createLogger, maskIdNumbers } from '../lib/logger';
import { SNACK_SHOP, ZHANG_WEI, LI_NA } from './fixtures/registries';

/** Log lines as JSON objects, written where the logger is told. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(JSON.parse(line)) } };
}

test('an ID number keeps its first 6 and last 4 characters, check digit X included', () => {
  expect(maskIdNumbers(`asked for ${ZHANG_WEI} and ${LI_NA}`)).toBe('asked for 330106********0015 and 330106********006X');
});

test('longer runs, credit codes and hashes are not ID numbers and stay as they are', () => {
  const hash = 'a3f1330106197503120015b2';
  expect(maskIdNumbers(`${SNACK_SHOP} ${hash} 1330106197503120015`)).toBe(`${SNACK_SHOP} ${hash} 1330106197503120015`);
});

test('every line is JSON with time, level and process name; ID numbers are masked in the message, in fields at any depth and in errors', () => {
  const { lines, destination } = capture();
  const log = createLogger('gateway', { level: 'info', destination });
  log.info({ requestId: 'r-1', variables: { ids: [ZHANG_WEI] }, err: new Error(`no row for ${LI_NA}`) }, `request for ${ZHANG_WEI} failed`);
  log.debug('not at info');
  expect(lines).toEqual([
    {
      level: 'info',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      name: 'gateway',
      pid: process.pid,
      hostname: expect.any(String),
      requestId: 'r-1',
      variables: { ids: ['330106********0015'] },
      err: { type: 'Error', message: 'no row for 330106********006X' },
      msg: 'request for 330106********0015 failed',
    },
  ]);
  expect(JSON.stringify(lines)).not.toMatch(/\d{17}[\dX]/);
});
