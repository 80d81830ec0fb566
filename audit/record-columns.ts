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
];

/** Review filters that are one column equal to the value asked for. */
export const EQUALITY_FILTER_COLUMNS = [
  ['application', 'application'],
  ['officer', 'officer'],
  ['serviceItem', 'service_item'],
  ['caseNumber', 'case_number'],
  ['outcome', 'outcome'],
] as const;
