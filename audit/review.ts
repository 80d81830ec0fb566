import { OUTCOMES, type Outcome, type StoredRecord } from './entry';
import { AuditQueryError } from './errors';
import { INSTANT_EXAMPLE, parseInstant } from './instant';
import type { AuditStore, RecordFilter, RecordKey } from './store';
import { arrived } from '../lib/arrived';

export const MAX_REVIEW_PAGE = 100;
export const DEFAULT_REVIEW_PAGE = 20;

/** What an auditor asks: "who looked at this citizen's data, when, for which case". Every filter given must match. */
export interface ReviewQuery {
  /** An ID number among the citizens the operation asked for or returned. */
  citizen?: string | null;
  application?: string | null;
  officer?: string | null;
  serviceItem?: string | null;
  caseNumber?: string | null;
  outcome?: string | null;
  /** Inclusive ISO instant, e.g. 2024-06-01T09:30:00Z or 2024-06-01 (midnight UTC). */
  from?: string | null;
  /** Exclusive ISO instant. */
  to?: string | null;
  /** Page size, 1 to 100; default 20. */
  first?: number | null;
  /** `endCursor` of the previous page. */
  after?: string | null;
}

export interface ReviewPage {
  /** Newest first: by time, then chain, then sequence, all descending. */
  records: StoredRecord[];
  /** Pass as `after` for the next page; null when this page is empty. */
  endCursor: string | null;
  hasNextPage: boolean;
}

/**
 * One page of records matching the query, newest first. Pages are keyset pages: the
 * cursor names the last record shown, so records appended while an auditor pages never
 * shift a page, duplicate a record or hide one that existed when paging began.
 * Malformed input throws AuditQueryError with a message meant for the auditor.
 */
export async function reviewRecords(store: AuditStore, query: ReviewQuery): Promise<ReviewPage> {
  const first = query.first ?? DEFAULT_REVIEW_PAGE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_REVIEW_PAGE) {
    throw new AuditQueryError(`first must be a whole number from 1 to ${MAX_REVIEW_PAGE}, got ${first}`);
  }
  const after = query.after ? decodeCursor(query.after) : null;
  const found = await store.queryRecords({ filter: checkFilter(query), order: 'newest-first', after, limit: first + 1 });
  const records = found.slice(0, first);
  const last = records.at(-1);
  return { records, endCursor: last ? encodeCursor(last) : null, hasNextPage: found.length > first };
}

/** The most records `auditReceipt` returns of one request ID; past it, an error pointing to `npm run audit:receipt`. */
export const MAX_RECEIPT_RECORDS = 1000;
/** Records of one request ID counted for that error; past it, "more than". */
const MAX_RECEIPT_RECORDS_COUNTED = 100_000;

/**
 * Every record of the request with this ID, oldest first: what `auditReceipt` answers,
 * each record with the evidence of its department calls. A caller may send its own
 * `x-request-id`, so one ID can name several requests, and one who sends many requests
 * under an ID first must not push the real one out of the answer: the store is read page
 * after page, and past MAX_RECEIPT_RECORDS the answer is an AuditQueryError saying how
 * many records there are and to export them with `npm run audit:receipt` (which has no
 * bound), never a silently shortened list.
 */
export async function recordsOfRequest(store: AuditStore, requestId: unknown): Promise<StoredRecord[]> {
  if (typeof requestId !== 'string' || requestId === '' || requestId.length > 128) throw new AuditQueryError(`requestId must be text of 1 to 128 characters, got ${arrived(requestId)}`);
  const found: StoredRecord[] = [];
  let count = 0;
  let after: RecordKey | null = null;
  while (count <= MAX_RECEIPT_RECORDS_COUNTED) {
    const page = await store.queryRecords({ filter: { requestId }, order: 'oldest-first', after, limit: MAX_RECEIPT_RECORDS + 1 });
    count += page.length;
    // Past the bound only the count matters: no record beyond the first page is kept.
    if (count <= MAX_RECEIPT_RECORDS) found.push(...page);
    const last = page.at(-1);
    if (!last || page.length < MAX_RECEIPT_RECORDS + 1) break;
    after = { time: last.time, chainId: last.chainId, sequence: last.sequence };
  }
  if (count > MAX_RECEIPT_RECORDS) {
    const counted = count > MAX_RECEIPT_RECORDS_COUNTED ? `more than ${MAX_RECEIPT_RECORDS_COUNTED}` : String(count);
    throw new AuditQueryError(`the gateway's store holds ${counted} records of request ${requestId}, more than auditReceipt returns (${MAX_RECEIPT_RECORDS}): export them all with \`npm run audit:receipt -- ${requestId}\``);
  }
  return found;
}

function checkFilter(query: ReviewQuery): RecordFilter {
  const filter: RecordFilter = {};
  for (const name of ['citizen', 'application', 'officer', 'serviceItem', 'caseNumber'] as const) {
    const value = query[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || value === '') throw new AuditQueryError(`${name} must be non-empty text, got ${arrived(value)}`);
    filter[name] = value;
  }
  if (query.outcome !== undefined && query.outcome !== null) {
    if (!OUTCOMES.includes(query.outcome as Outcome)) {
      throw new AuditQueryError(`outcome must be one of ${OUTCOMES.join(', ')}, got ${arrived(query.outcome)}`);
    }
    filter.outcome = query.outcome as Outcome;
  }
  for (const name of ['from', 'to'] as const) {
    const raw = query[name];
    if (raw === undefined || raw === null) continue;
    const instant = parseInstant(raw);
    if (instant === null) throw new AuditQueryError(`${name} must be an ISO instant such as ${INSTANT_EXAMPLE}, got ${arrived(raw)}`);
    filter[name] = instant;
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.from >= filter.to) {
    throw new AuditQueryError(`from must be before to, got from ${filter.from} and to ${filter.to}`);
  }
  return filter;
}

/** Opaque to callers: base64url of the last record's review key. */
function encodeCursor(record: StoredRecord): string {
  return Buffer.from(JSON.stringify([record.time, record.chainId, record.sequence]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): RecordKey {
  try {
    const [time, chainId, sequence] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof time === 'string' && parseInstant(time) === time && typeof chainId === 'string' && Number.isSafeInteger(sequence)) {
      return { time, chainId, sequence: sequence as number };
    }
  } catch {
    // Falls through to the one message for any cursor this review did not issue.
  }
  throw new AuditQueryError('after must be the endCursor of an earlier page');
}
