import { canonicalJson, type CanonicalValue } from './canonical-json';
import { CorruptRecordError } from './errors';
import type { ExchangeEvidence } from './exchange';
import { printable } from './printable';

export type Outcome = 'ok' | 'partial' | 'refused' | 'error';

export const OUTCOMES: readonly Outcome[] = ['ok', 'partial', 'refused', 'error'];

/**
 * How a GraphQL answer ended, as the gateway's record and each department's access log
 * both say it: answered whole (no error); refused (no data, and only errors whose code is
 * one of `refusedCodes`: the request was not run because of what was sent or whom for);
 * answered in part (some data is there); else an error.
 */
export function outcomeOfAnswer(data: unknown, errors: readonly { extensions?: { code?: unknown } }[], refusedCodes: ReadonlySet<string>): Outcome {
  if (errors.length === 0) return 'ok';
  if (data === undefined && errors.every((error) => refusedCodes.has(error.extensions?.code as string))) return 'refused';
  const hasData = data !== null && data !== undefined && Object.values(data as object).some((value) => value !== null);
  return hasData ? 'partial' : 'error';
}

/** What the gateway hands the log for one operation. */
export interface AuditEntry {
  /** ISO instant the request arrived; stored as `Date#toISOString()` (UTC, milliseconds). */
  time: string;
  requestId: string;
  /** Calling service system (JWT claim). */
  application: string | null;
  /** Staff ID acting. */
  officer: string | null;
  /** 'service' | 'auditor' | other/unknown. */
  role: string | null;
  /** X-Service-Item. */
  serviceItem: string | null;
  /** X-Case-Number. */
  caseNumber: string | null;
  operationName: string | null;
  /** sha256 hex of the normalised document. */
  documentHash: string | null;
  /** Field coordinates disclosed, e.g. 'Citizen.household'; stored sorted, without duplicates. */
  coordinates: string[];
  /** ID numbers asked for or returned; stored sorted, without duplicates. */
  citizens: string[];
  /** Departments called; stored sorted, without duplicates. */
  departments: string[];
  outcome: Outcome;
  /** Stored sorted, without duplicates. */
  errorCodes: string[];
  /** Stored rounded to whole milliseconds. */
  latencyMs: number;
  /**
   * How many requests this record stands for, a whole number from 1; default 1. More
   * than 1 only for refusals recorded in aggregate (many alike, one record).
   */
  requests?: number;
  /**
   * What the record adds about an exchange between the gateway and a department
   * (exchange.ts): the gateway's calls with their receipts, or a department's view of
   * one request; default null, nothing to add.
   */
  exchange?: ExchangeEvidence | null;
}

/** The fields that are lists of text: stored sorted and without duplicates, hashed sorted, kept as JSON arrays in SQLite. */
export const LIST_FIELDS = ['coordinates', 'citizens', 'departments', 'errorCodes'] as const satisfies readonly (keyof AuditEntry)[];

/** A record as the store holds it: the entry, its place in its chain, and the hash linking it there. */
export interface StoredRecord extends AuditEntry {
  /** Always present once stored: 1 for an ordinary record. */
  requests: number;
  /** Always present once stored: null when the record adds nothing about an exchange. */
  exchange: ExchangeEvidence | null;
  chainId: string;
  /** 1, 2, 3... per chain, without gaps. */
  sequence: number;
  /** The hash of the record before it, or GENESIS_HASH for sequence 1. */
  previousHash: string;
  /** SHA-256 (lowercase hex) of the canonical encoding (canonical.ts). */
  hash: string;
}

const CHAIN_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What a chain ID must be, as messages say it. */
export const CHAIN_ID_RULE = "1 to 128 letters, digits, '.', '_', ':' or '-'";

/** Checks a chain ID where it enters (options, configuration), saying what was expected. */
export function checkChainId(chainId: string, source: string): string {
  if (!isChainId(chainId)) throw new TypeError(`${source} must be ${CHAIN_ID_RULE}, got ${quoteChainId(chainId)}`);
  return chainId;
}

/** Whether `chainId` is one a gateway can write: read back from a store, anything else was put there by someone else. */
export function isChainId(chainId: unknown): chainId is string {
  return typeof chainId === 'string' && CHAIN_ID.test(chainId);
}

/** The longest part of a malformed chain ID a message quotes. */
const QUOTED_LENGTH = 160;

/**
 * A chain ID as messages and reports show it: a well-formed one as it is; any other in
 * double quotes, its control characters escaped (printable.ts), and cut short when long,
 * so a chain ID written into the store by someone else can neither drive a terminal nor
 * flood one.
 */
export function describeChainId(chainId: string): string {
  return isChainId(chainId) ? chainId : quoteChainId(chainId);
}

function quoteChainId(chainId: string): string {
  const shown = chainId.length > QUOTED_LENGTH ? `${chainId.slice(0, QUOTED_LENGTH)}...` : chainId;
  const escaped = printable(shown.replace(/\\/g, '\\\\').replace(/"/g, '\\"'));
  return `"${escaped}"${chainId.length > QUOTED_LENGTH ? ` (${chainId.length} characters)` : ''}`;
}

/**
 * The entry as it will be hashed and stored. Lists that are sets are sorted and
 * de-duplicated, so two gateways describing the same operation write the same record.
 * Strings are made well-formed and free of NUL (each offending code unit becomes
 * U+FFFD): PostgreSQL text cannot hold NUL, and a lone surrogate turns into U+FFFD on
 * its way to either database, so the hash would otherwise cover something not stored.
 * A malformed entry throws TypeError naming the field but not its value.
 */
export function normaliseEntry(entry: AuditEntry): Required<AuditEntry> {
  const time = new Date(entry.time);
  if (typeof entry.time !== 'string' || Number.isNaN(time.getTime())) throw new TypeError('entry.time must be an ISO instant');
  if (!OUTCOMES.includes(entry.outcome)) throw new TypeError(`entry.outcome must be one of ${OUTCOMES.join(', ')}`);
  if (!Number.isFinite(entry.latencyMs) || entry.latencyMs < 0) throw new TypeError('entry.latencyMs must be a non-negative number');
  if (typeof entry.requestId !== 'string') throw new TypeError('entry.requestId must be a string');
  const requests = entry.requests ?? 1;
  if (!Number.isSafeInteger(requests) || requests < 1) throw new TypeError('entry.requests must be a whole number from 1');
  return {
    time: time.toISOString(),
    requestId: wellFormed(entry.requestId),
    application: optionalString(entry.application, 'application'),
    officer: optionalString(entry.officer, 'officer'),
    role: optionalString(entry.role, 'role'),
    serviceItem: optionalString(entry.serviceItem, 'serviceItem'),
    caseNumber: optionalString(entry.caseNumber, 'caseNumber'),
    operationName: optionalString(entry.operationName, 'operationName'),
    documentHash: optionalString(entry.documentHash, 'documentHash'),
    coordinates: stringSet(entry.coordinates, 'coordinates'),
    citizens: stringSet(entry.citizens, 'citizens'),
    departments: stringSet(entry.departments, 'departments'),
    outcome: entry.outcome,
    errorCodes: stringSet(entry.errorCodes, 'errorCodes'),
    latencyMs: Math.round(entry.latencyMs),
    requests,
    exchange: exchangeOf(entry.exchange),
  };
}

/** The exchange evidence as it will be hashed: an object of the types canonical JSON encodes, or null. */
function exchangeOf(exchange: ExchangeEvidence | null | undefined): ExchangeEvidence | null {
  if (exchange === undefined || exchange === null) return null;
  if (typeof exchange !== 'object' || Array.isArray(exchange) || typeof exchange.kind !== 'string') throw new TypeError('entry.exchange must be an object with a kind, or null');
  try {
    // Round-tripped through its canonical form: what is stored is exactly what is hashed.
    return JSON.parse(canonicalJson(exchange as unknown as CanonicalValue)) as ExchangeEvidence;
  } catch {
    throw new TypeError('entry.exchange must hold only text, whole numbers, null, lists and objects');
  }
}

const NOT_STORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function wellFormed(value: string): string {
  return value.replace(NOT_STORABLE, '\uFFFD');
}

function optionalString(value: string | null, field: string): string | null {
  if (value === null) return null;
  if (typeof value !== 'string') throw new TypeError(`entry.${field} must be a string or null`);
  return wellFormed(value);
}

function stringSet(values: string[], field: string): string[] {
  if (!Array.isArray(values) || values.some((value) => typeof value !== 'string')) {
    throw new TypeError(`entry.${field} must be an array of strings`);
  }
  return [...new Set(values.map(wellFormed))].sort();
}

/**
 * Checks a row read back from a store has the types of a StoredRecord. A row edited into
 * another shape (a list that is not a list, a sequence that is not a whole number) cannot
 * be hashed; verification reports it as unreadable at its sequence.
 */
export function checkStoredRecord(row: Record<string, unknown>): StoredRecord {
  const chainId = String(row.chainId);
  const sequence = Number(row.sequence);
  const fail = (what: string): never => {
    throw new CorruptRecordError(chainId, sequence, what);
  };
  if (!Number.isSafeInteger(sequence)) fail('sequence is not a whole number');
  for (const field of ['previousHash', 'hash', 'time', 'requestId']) {
    if (typeof row[field] !== 'string') fail(`${field} is not text`);
  }
  for (const field of ['application', 'officer', 'role', 'serviceItem', 'caseNumber', 'operationName', 'documentHash']) {
    if (row[field] !== null && typeof row[field] !== 'string') fail(`${field} is neither text nor null`);
  }
  for (const field of LIST_FIELDS) {
    const value = row[field];
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) fail(`${field} is not a list of text`);
  }
  if (!OUTCOMES.includes(row.outcome as Outcome)) fail(`outcome is not one of ${OUTCOMES.join(', ')}`);
  if (!Number.isSafeInteger(row.latencyMs)) fail('latencyMs is not a whole number');
  // Archive files written before records carried `requests` lack it: those records stood for one request each.
  const requests = row.requests === undefined ? 1 : row.requests;
  if (!Number.isSafeInteger(requests) || (requests as number) < 1) fail('requests is not a whole number from 1');
  const exchange = exchangeFromRow(row.exchange, fail);
  const fields = row as unknown as StoredRecord;
  return {
    chainId,
    sequence,
    previousHash: fields.previousHash,
    hash: fields.hash,
    time: fields.time,
    requestId: fields.requestId,
    application: fields.application,
    officer: fields.officer,
    role: fields.role,
    serviceItem: fields.serviceItem,
    caseNumber: fields.caseNumber,
    operationName: fields.operationName,
    documentHash: fields.documentHash,
    coordinates: fields.coordinates,
    citizens: fields.citizens,
    departments: fields.departments,
    outcome: fields.outcome,
    errorCodes: fields.errorCodes,
    latencyMs: fields.latencyMs,
    requests: requests as number,
    exchange,
  };
}

/** The exchange column as stored (canonical JSON text, or the object an archive line holds), or null; anything else is corrupt. */
function exchangeFromRow(value: unknown, fail: (what: string) => never): ExchangeEvidence | null {
  if (value === undefined || value === null) return null;
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      fail('exchange is not JSON');
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof (parsed as { kind?: unknown }).kind !== 'string') fail('exchange is not an object with a kind');
  return parsed as ExchangeEvidence;
}
