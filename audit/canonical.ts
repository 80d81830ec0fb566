import { createHash } from 'node:crypto';
import { canonicalJson, type CanonicalValue } from './canonical-json';
import { LIST_FIELDS, type StoredRecord } from './entry';

/**
 * The canonical encoding of an audit record: a contract for anyone verifying a store or
 * an archive without this code. Change it and every existing chain stops verifying.
 *
 * hash = lowercase hex SHA-256 of the UTF-8 bytes of the RFC 8785 (JSON Canonicalization
 * Scheme) serialisation of an object with exactly these 18 members:
 *
 *   chainId, sequence, previousHash, time, requestId, application, officer, role,
 *   serviceItem, caseNumber, operationName, documentHash, coordinates, citizens,
 *   departments, outcome, errorCodes, latencyMs
 *
 * and a 19th, `requests`, only when it is more than 1, and a 20th, `exchange`, only when
 * it is not null (every StoredRecord field except `hash` itself), where
 *   - sequence, latencyMs and requests are integers (latencyMs is rounded to whole
 *     milliseconds; requests, how many requests the record stands for, is 1 or more);
 *   - `requests` is left out when it is 1: records written before it existed (every one
 *     of them stood for one request) keep their hashes, chains and archives verifying,
 *     and an ordinary record is encoded as it always was. A record standing for several
 *     requests (refusals recorded in aggregate) includes it, so changing the count, to 1
 *     or to any other number, changes the hash;
 *   - `exchange` (exchange.ts) is left out when null, for the same reason: every record
 *     written before it existed keeps its hash. When present it is an object of text,
 *     whole numbers, null, lists and objects, encoded by RFC 8785 like the rest;
 *   - time is the instant as `Date#toISOString()` writes it: `2024-06-01T09:30:00.000Z`;
 *   - application ... documentHash are a string or null;
 *   - coordinates, citizens, departments and errorCodes are arrays of strings sorted by
 *     UTF-16 code units (JavaScript's default sort), because their order carries no
 *     meaning; the log also removes duplicates before hashing, the encoding does not;
 *   - previousHash of sequence 1 is GENESIS_HASH; after an archive, the first kept
 *     record's previousHash is the hash of the last archived one.
 * With only strings, integers, null and arrays of strings, RFC 8785 is `JSON.stringify`
 * with members sorted by name and no whitespace, which is what `canonicalJson` writes;
 * in Python it is `json.dumps(record, sort_keys=True, separators=(',', ':'), ensure_ascii=False)`.
 * test/audit-canonical.test.ts holds worked examples with their hashes: a record, and
 * the same record standing for 3 requests.
 *
 * Checkpoints and archive anchors are signed over the same serialisation of their own
 * members (signing.ts), and a checkpoint names the one before it by its digest, the
 * SHA-256 of that serialisation too.
 */
export const GENESIS_HASH = '0'.repeat(64);

export { canonicalJson, type CanonicalValue } from './canonical-json';

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The 20 members, in the order RFC 8785 writes them (sorted by name), each with its `"name":` prefix. */
const RECORD_MEMBERS = ([
  'chainId', 'sequence', 'previousHash', 'time', 'requestId', 'application', 'officer', 'role', 'serviceItem',
  'caseNumber', 'operationName', 'documentHash', 'coordinates', 'citizens', 'departments', 'outcome', 'errorCodes', 'latencyMs',
  'requests', 'exchange',
] as const).slice().sort().map((name) => ({ name, prefix: `${JSON.stringify(name)}:`, isList: (LIST_FIELDS as readonly string[]).includes(name) }));

/**
 * The canonical encoding of a record (without its `hash`), as hashed: `canonicalJson` of
 * its members with the lists sorted, `requests` only when more than 1, written member by
 * member (every record is hashed as it is written, so no intermediate object is built
 * and sorted each time).
 */
export function canonicalRecord(record: Omit<StoredRecord, 'hash'>): string {
  let text = '{';
  for (const { name, prefix, isList } of RECORD_MEMBERS) {
    const value = record[name];
    if (name === 'requests' && value === 1) continue;
    if (name === 'exchange' && (value === null || value === undefined)) continue;
    // A list of strings sorted: JSON.stringify writes it as canonicalJson would.
    text += `${text.length > 1 ? ',' : ''}${prefix}${isList ? JSON.stringify([...(value as string[])].sort()) : canonicalJson(value as CanonicalValue)}`;
  }
  return `${text}}`;
}

export function recordHash(record: Omit<StoredRecord, 'hash'>): string {
  return sha256Hex(canonicalRecord(record));
}
