import type { AuditEntry } from '../audit/entry';
import { refusalAggregates } from '../audit/refusal-aggregates';
import { auditEntry } from './helpers/audit-stores';

/** audit/refusal-aggregates.ts: refusals alike become one record; kinds past the cap share one; close writes what is pending; a lost write is told. */
describe('refusals recorded in aggregate', () => {
  const refusal = (requestId: string, code: string, time: string): AuditEntry => auditEntry({ requestId, time, outcome: 'refused', errorCodes: [code], citizens: [], coordinates: [] });

  test('alike refusals are one record with their count, the first one\'s time and ID; past the cap of kinds, one catch-all record with every code', async () => {
    const written: AuditEntry[] = [];
    const aggregates = refusalAggregates({ windowMs: 60_000, maxKeys: 2, write: async (entry) => written.push(entry), onWriteError: () => undefined });
    aggregates.count('A', refusal('r-1', 'FORBIDDEN', '2024-06-01T09:00:00.000Z'));
    aggregates.count('A', refusal('r-2', 'FORBIDDEN', '2024-06-01T09:00:01.000Z'));
    aggregates.count('B', refusal('r-3', 'SIGNATURE_MISSING', '2024-06-01T09:00:02.000Z'));
    aggregates.count('C', refusal('r-4', 'SIGNATURE_INVALID', '2024-06-01T09:00:03.000Z'));
    aggregates.count('D', refusal('r-5', 'SIGNATURE_KEY_UNKNOWN', '2024-06-01T09:00:04.000Z'));
    expect(written).toEqual([]);
    await aggregates.close();
    expect(written.map((entry) => ({ requestId: entry.requestId, time: entry.time, errorCodes: entry.errorCodes, requests: entry.requests }))).toEqual([
      { requestId: 'r-1', time: '2024-06-01T09:00:00.000Z', errorCodes: ['FORBIDDEN'], requests: 2 },
      { requestId: 'r-3', time: '2024-06-01T09:00:02.000Z', errorCodes: ['SIGNATURE_MISSING'], requests: 1 },
      { requestId: 'r-4', time: '2024-06-01T09:00:03.000Z', errorCodes: ['SIGNATURE_INVALID', 'SIGNATURE_KEY_UNKNOWN'], requests: 2 },
    ]);
  });

  test('a record that cannot be written is told, with its count', async () => {
    const lost: Array<{ requestId: string; requests: number | undefined; reason: string }> = [];
    const aggregates = refusalAggregates({
      windowMs: 60_000, maxKeys: 10, write: () => Promise.reject(new Error('the disk is full')),
      onWriteError: (entry, error) => lost.push({ requestId: entry.requestId, requests: entry.requests, reason: error.message }),
    });
    aggregates.count('A', refusal('r-1', 'FORBIDDEN', '2024-06-01T09:00:00.000Z'));
    await aggregates.close();
    expect(lost).toEqual([{ requestId: 'r-1', requests: 1, reason: 'the disk is full' }]);
  });
});
