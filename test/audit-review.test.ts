import type { StoredRecord } from '../audit/entry';
import { AuditQueryError } from '../audit/errors';
import { exportRecords } from '../audit/export';
import { openAuditLog, type AuditLog } from '../audit/log';
import { recordsOfRequest, reviewRecords, type ReviewQuery } from '../audit/review';
import { AUDIT_STORE_KINDS, auditEntry, signingKeyFileIn, type AuditStoreTarget } from './helpers/audit-stores';

const CITIZENS = ['110101199003077777', '330106199001011234', '330102198512120011', '330104197706060022', '330105200001010033'];

/**
 * 30 records over two chains, three to a minute (so times tie across chains), with
 * officers, applications, cases, service items, outcomes and citizens in different cycles.
 */
function recordNumber(i: number) {
  return auditEntry({
    requestId: `req-${i}`,
    time: `2024-06-01T09:${String(Math.floor(i / 3)).padStart(2, '0')}:00.000Z`,
    officer: ['officer-a', 'officer-b', 'officer-c'][i % 3],
    application: i % 4 < 2 ? 'app-x' : 'app-y',
    caseNumber: `CASE-${i % 6}`,
    serviceItem: i % 2 === 0 ? 'housing' : 'pension',
    outcome: i % 7 === 0 ? 'refused' : 'ok',
    citizens: i % 5 === 0 ? [CITIZENS[0], CITIZENS[1]] : [CITIZENS[i % 5]],
  });
}

/** The review order, written independently of the stores: time, chain, sequence, all descending. */
function newestFirst(a: StoredRecord, b: StoredRecord): number {
  return b.time.localeCompare(a.time) || (b.chainId < a.chainId ? -1 : b.chainId > a.chainId ? 1 : 0) || b.sequence - a.sequence;
}

describe.each(AUDIT_STORE_KINDS)('reviewing a $name store', (kind) => {
  let target: AuditStoreTarget;
  let logs: Record<'gw-1' | 'gw-2', AuditLog>;
  let all: StoredRecord[];

  beforeAll(async () => {
    target = await kind.create();
    const signingKeyFile = signingKeyFileIn(target.folder);
    logs = {
      'gw-1': await openAuditLog({ store: target.store, chainId: 'gw-1', signingKeyFile }),
      'gw-2': await openAuditLog({ store: target.store, chainId: 'gw-2', signingKeyFile }),
    };
    all = [];
    for (let i = 0; i < 30; i += 1) all.push(await logs[i % 2 === 0 ? 'gw-1' : 'gw-2'].record(recordNumber(i)));
    all.sort(newestFirst);
  });
  afterAll(async () => {
    await logs['gw-1'].close();
    await logs['gw-2'].close();
    await target.remove();
  });

  const ids = (records: StoredRecord[]) => records.map((r) => r.requestId);

  test('a citizen\'s records, newest first, including operations about several citizens at once', async () => {
    const page = await reviewRecords(target.store, { citizen: CITIZENS[1], first: 100 });
    expect(ids(page.records)).toEqual(['req-25', 'req-26', 'req-21', 'req-20', 'req-15', 'req-16', 'req-11', 'req-10', 'req-6', 'req-5', 'req-1', 'req-0']);
    expect(page.hasNextPage).toBe(false);
  });

  test('ties in time are ordered by chain, then sequence, descending', async () => {
    const page = await reviewRecords(target.store, { first: 6 });
    expect(page.records.map((r) => [r.time, r.chainId, r.sequence])).toEqual([
      ['2024-06-01T09:09:00.000Z', 'gw-2', 15],
      ['2024-06-01T09:09:00.000Z', 'gw-2', 14],
      ['2024-06-01T09:09:00.000Z', 'gw-1', 15],
      ['2024-06-01T09:08:00.000Z', 'gw-2', 13],
      ['2024-06-01T09:08:00.000Z', 'gw-1', 14],
      ['2024-06-01T09:08:00.000Z', 'gw-1', 13],
    ]);
    expect(page.hasNextPage).toBe(true);
  });

  const filters: Array<[string, ReviewQuery, (r: StoredRecord) => boolean]> = [
    ['citizen', { citizen: CITIZENS[3] }, (r) => r.citizens.includes(CITIZENS[3])],
    ['application', { application: 'app-y' }, (r) => r.application === 'app-y'],
    ['officer', { officer: 'officer-b' }, (r) => r.officer === 'officer-b'],
    ['service item', { serviceItem: 'pension' }, (r) => r.serviceItem === 'pension'],
    ['case number', { caseNumber: 'CASE-4' }, (r) => r.caseNumber === 'CASE-4'],
    ['outcome', { outcome: 'refused' }, (r) => r.outcome === 'refused'],
    ['from (inclusive) and to (exclusive)', { from: '2024-06-01T09:02:00Z', to: '2024-06-01T17:05:00+08:00' }, (r) => r.time >= '2024-06-01T09:02:00.000Z' && r.time < '2024-06-01T09:05:00.000Z'],
    ['officer and outcome and time together', { officer: 'officer-a', outcome: 'ok', from: '2024-06-01' }, (r) => r.officer === 'officer-a' && r.outcome === 'ok'],
    ['a citizen and a case together', { citizen: CITIZENS[0], caseNumber: 'CASE-0' }, (r) => r.citizens.includes(CITIZENS[0]) && r.caseNumber === 'CASE-0'],
  ];

  test.each(filters)('filter by %s, walked in pages of 2', async (_name, query, matches) => {
    const expected = all.filter(matches);
    expect(expected.length).toBeGreaterThan(0);
    const walked: StoredRecord[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 50; pages += 1) {
      const page = await reviewRecords(target.store, { ...query, first: 2, after });
      walked.push(...page.records);
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    expect(walked).toEqual(expected);
  });

  test('a cursor walk sees every record that existed when it began, once, in order, while records are appended between pages', async () => {
    const before = [...all];
    const walked: StoredRecord[] = [];
    let after: string | null = null;
    let appended = 0;
    for (;;) {
      const page = await reviewRecords(target.store, { first: 4, after });
      walked.push(...page.records);
      if (!page.hasNextPage) break;
      after = page.endCursor;
      const time = `2024-06-01T10:00:0${appended}.000Z`;
      all.unshift(await logs['gw-1'].record(auditEntry({ requestId: `late-${appended}`, time })));
      appended += 1;
    }
    expect(appended).toBe(7);
    expect(walked).toEqual(before);
    all.sort(newestFirst);
  });

  test('an empty result has no cursor and no next page', async () => {
    expect(await reviewRecords(target.store, { officer: 'nobody' })).toEqual({ records: [], endCursor: null, hasNextPage: false });
  });

  test('export gives every record in [from, to), oldest first', async () => {
    const exported: StoredRecord[] = [];
    for await (const record of exportRecords(target.store, { from: '2024-06-01T09:03:00.000Z', to: '2024-06-01T09:06:00.000Z' })) exported.push(record);
    expect(exported).toEqual(all.filter((r) => r.time >= '2024-06-01T09:03:00.000Z' && r.time < '2024-06-01T09:06:00.000Z').reverse());
    expect(exported).toHaveLength(9);
  });

  test.each([
    [{ first: 0 }, 'first must be a whole number from 1 to 100, got 0'],
    [{ first: 101 }, 'first must be a whole number from 1 to 100, got 101'],
    [{ first: 2.5 }, 'first must be a whole number from 1 to 100, got 2.5'],
    [{ outcome: 'fine' }, 'outcome must be one of ok, partial, refused, error, got "fine"'],
    [{ officer: '' }, 'officer must be non-empty text, got ""'],
    [{ from: 'last Tuesday' }, 'from must be an ISO instant such as 2024-06-01T09:30:00Z, got "last Tuesday"'],
    [{ to: '2024-06-01T09:30:00' }, 'to must be an ISO instant such as 2024-06-01T09:30:00Z, got "2024-06-01T09:30:00"'],
    [{ from: '2024-06-02', to: '2024-06-01' }, 'from must be before to, got from 2024-06-02T00:00:00.000Z and to 2024-06-01T00:00:00.000Z'],
    [{ after: 'bm90IGEgY3Vyc29y' }, 'after must be the endCursor of an earlier page'],
    [{ after: Buffer.from('["2024-06-01T09:00:00.000Z","gw-1","1"]').toString('base64url') }, 'after must be the endCursor of an earlier page'],
  ])('%j is refused: %s', async (query, message) => {
    const review = reviewRecords(target.store, query as ReviewQuery);
    await expect(review).rejects.toBeInstanceOf(AuditQueryError);
    await expect(review).rejects.toThrow(message);
  });
});

describe.each(AUDIT_STORE_KINDS)('a request\'s records in a $name store', (kind) => {
  test('by its ID, in every chain, oldest first; none for an ID no record has; an empty ID refused', async () => {
    const target = await kind.create();
    const signingKeyFile = signingKeyFileIn(target.folder);
    const logs = [await openAuditLog({ store: target.store, chainId: 'gw-1', signingKeyFile }), await openAuditLog({ store: target.store, chainId: 'gw-2', signingKeyFile })];
    try {
      const first = await logs[0].record(auditEntry({ requestId: 'req-twice', time: '2024-06-01T09:00:00.000Z' }));
      await logs[0].record(auditEntry({ requestId: 'req-other', time: '2024-06-01T09:10:00.000Z' }));
      const second = await logs[1].record(auditEntry({ requestId: 'req-twice', time: '2024-06-01T09:20:00.000Z' }));
      expect(await recordsOfRequest(target.store, 'req-twice')).toEqual([first, second]);
      expect(await recordsOfRequest(target.store, 'req-none')).toEqual([]);
      await expect(recordsOfRequest(target.store, '')).rejects.toThrow(new AuditQueryError('requestId must be text of 1 to 128 characters, got ""'));
    } finally {
      for (const log of logs) await log.close();
      await target.remove();
    }
  });
});
