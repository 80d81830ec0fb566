import { canonicalJson, type CanonicalValue } from './canonical-json';
import type { StoredRecord } from './entry';

/** The record table's columns and the StoredRecord field each holds, in table order (both stores). */
export const RECORD_COLUMNS: ReadonlyArray<readonly [column: string, field: keyof StoredRecord]> = [
  ['chain_id', 'chainId'],
  ['sequence', 'sequence'],
  ['previous_hash', 'previousHash'],
  ['hash', 'hash'],
  ['time', 'time'],
  ['request_id', 'requestId'],
  ['application', 'application'],
  ['officer', 'officer'],
  ['role', 'role'],
  ['service_item', 'serviceItem'],
  ['case_number', 'caseNumber'],
  ['operation_name', 'operationName'],
  ['document_hash', 'documentHash'],
  ['coordinates', 'coordinates'],
  ['citizens', 'citizens'],
  ['departments', 'departments'],
  ['outcome', 'outcome'],
  ['error_codes', 'errorCodes'],
  ['latency_ms', 'latencyMs'],
  ['request_count', 'requests'],
  ['exchange', 'exchange'],
];

/** A record's field as its column holds it: lists as they are (each store encodes them), the exchange as its canonical JSON text. */
export function columnValueOf(record: StoredRecord, field: keyof StoredRecord): StoredRecord[keyof StoredRecord] | string {
  if (field === 'exchange') return record.exchange === null ? null : canonicalJson(record.exchange as unknown as CanonicalValue);
  return record[field];
}

/** Review filters that are one column equal to the value asked for. */
export const EQUALITY_FILTER_COLUMNS = [
  ['requestId', 'request_id'],
  ['application', 'application'],
  ['officer', 'officer'],
  ['serviceItem', 'service_item'],
  ['caseNumber', 'case_number'],
  ['outcome', 'outcome'],
] as const;

/**
 * The record a readiness probe inserts into its writer's chain and rolls back (both
 * stores' `probeWrite`): every column filled as a real record fills it, one citizen (so
 * SQLite's citizen index is written too), at sequence 0, before any chain's first record,
 * so it can never meet a real one.
 */
export function probeRecord(writerId: string, time: string): StoredRecord {
  return {
    chainId: writerId, sequence: 0, previousHash: '0'.repeat(64), hash: '0'.repeat(64), time, requestId: 'readiness-probe',
    application: null, officer: null, role: null, serviceItem: null, caseNumber: null, operationName: null, documentHash: null,
    coordinates: [], citizens: ['readiness-probe'], departments: [], outcome: 'ok', errorCodes: [], latencyMs: 0, requests: 1, exchange: null,
  };
}
