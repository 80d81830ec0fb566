import { canonicalJson, canonicalRecord, GENESIS_HASH, recordHash } from '../audit/canonical';
import { normaliseEntry, type StoredRecord } from '../audit/entry';
import { auditEntry } from './helpers/audit-stores';

/**
 * The canonical encoding is a contract with whoever verifies an archive without this
 * code: these worked examples (a record, and the same record standing for 3 requests)
 * were hashed outside it (`printf '%s' ... | sha256sum`, and Python's json.dumps with
 * sorted keys) and must never change.
 */
const WORKED_EXAMPLE: Omit<StoredRecord, 'hash'> = {
  chainId: 'gw-1',
  sequence: 1,
  previousHash: GENESIS_HASH,
  time: '2024-06-01T09:30:00.000Z',
  requestId: 'req-1',
  application: 'hz-social-security',
  officer: 'officer-007',
  role: 'service',
  serviceItem: '养老金申领',
  caseNumber: 'CASE-2024-0001',
  operationName: 'CitizenFacts',
  documentHash: null,
  coordinates: ['Citizen.identity', 'Citizen.household'],
  citizens: ['330106199001011234', '110101199003077777'],
  departments: ['residence', 'household'],
  outcome: 'partial',
  errorCodes: [],
  latencyMs: 12,
  requests: 1,
  exchange: null,
};

test('the worked example encodes with sorted members, sorted lists and no whitespace, and hashes to its published value', () => {
  expect(canonicalRecord(WORKED_EXAMPLE)).toBe(
    '{"application":"hz-social-security","caseNumber":"CASE-2024-0001","chainId":"gw-1",' +
      '"citizens":["110101199003077777","330106199001011234"],"coordinates":["Citizen.household","Citizen.identity"],' +
      '"departments":["household","residence"],"documentHash":null,"errorCodes":[],"latencyMs":12,"officer":"officer-007",' +
      '"operationName":"CitizenFacts","outcome":"partial","previousHash":"0000000000000000000000000000000000000000000000000000000000000000",' +
      '"requestId":"req-1","role":"service","sequence":1,"serviceItem":"养老金申领","time":"2024-06-01T09:30:00.000Z"}',
  );
  expect(recordHash(WORKED_EXAMPLE)).toBe('44baf047b1ab9f2c1517e09c116f5e1e1d4abcab4e546945ae13763493b26cbd');
});

test('a record standing for several requests includes `requests`, in its sorted place; for one request it is left out, so older hashes hold', () => {
  const aggregate = { ...WORKED_EXAMPLE, requests: 3 };
  expect(canonicalRecord(aggregate)).toBe(
    '{"application":"hz-social-security","caseNumber":"CASE-2024-0001","chainId":"gw-1",' +
      '"citizens":["110101199003077777","330106199001011234"],"coordinates":["Citizen.household","Citizen.identity"],' +
      '"departments":["household","residence"],"documentHash":null,"errorCodes":[],"latencyMs":12,"officer":"officer-007",' +
      '"operationName":"CitizenFacts","outcome":"partial","previousHash":"0000000000000000000000000000000000000000000000000000000000000000",' +
      '"requestId":"req-1","requests":3,"role":"service","sequence":1,"serviceItem":"养老金申领","time":"2024-06-01T09:30:00.000Z"}',
  );
  expect(recordHash(aggregate)).toBe('fd07478556bffa5367f1ab2be010370b69bbea66669732b0b846704618198108');
  expect(canonicalRecord({ ...WORKED_EXAMPLE, requests: 1 })).not.toContain('requests');
  expect(recordHash({ ...WORKED_EXAMPLE, requests: 2 })).not.toBe(recordHash(aggregate));
});

test('a department access-log record includes `exchange` (issue 18), hashed as Python hashes the same record; without it the member is left out, so older hashes hold', () => {
  const departmentRecord: Omit<StoredRecord, 'hash'> = {
    chainId: 'household:host-1', sequence: 7, previousHash: GENESIS_HASH, time: '2024-06-01T09:30:00.000Z', requestId: 'req-1',
    application: 'hz-social-security', officer: 'officer-007', role: 'service', serviceItem: '330100-ZJ-0001', caseNumber: 'CASE-2024-0001',
    operationName: null, documentHash: 'a'.repeat(64), coordinates: ['Citizen.household'], citizens: ['330106199001011234'],
    departments: ['household'], outcome: 'ok', errorCodes: [], latencyMs: 3, requests: 1,
    exchange: {
      kind: 'department-answer', department: 'household', gatewayKeyId: 'gateway-1a2b3c4d',
      requestDigest: 'b'.repeat(64), bodyDigest: 'c'.repeat(64), answerDigest: 'd'.repeat(64), status: 200,
    },
  };
  // python3: json.dumps(record, sort_keys=True, separators=(',', ':'), ensure_ascii=False), then hashlib.sha256.
  expect(canonicalRecord(departmentRecord)).toBe(
    '{"application":"hz-social-security","caseNumber":"CASE-2024-0001","chainId":"household:host-1","citizens":["330106199001011234"],' +
      '"coordinates":["Citizen.household"],"departments":["household"],"documentHash":"' + 'a'.repeat(64) + '","errorCodes":[],' +
      '"exchange":{"answerDigest":"' + 'd'.repeat(64) + '","bodyDigest":"' + 'c'.repeat(64) + '","department":"household",' +
      '"gatewayKeyId":"gateway-1a2b3c4d","kind":"department-answer","requestDigest":"' + 'b'.repeat(64) + '","status":200},' +
      '"latencyMs":3,"officer":"officer-007","operationName":null,"outcome":"ok","previousHash":"' + GENESIS_HASH + '","requestId":"req-1",' +
      '"role":"service","sequence":7,"serviceItem":"330100-ZJ-0001","time":"2024-06-01T09:30:00.000Z"}',
  );
  expect(recordHash(departmentRecord)).toBe('69b62b5223bfcd339a80af88cc19229bb1a4a0ad2604607f51469cbc29ee8118');
  expect(canonicalRecord(WORKED_EXAMPLE)).not.toContain('exchange');
  expect(recordHash({ ...departmentRecord, exchange: { ...departmentRecord.exchange, status: 500 } as StoredRecord['exchange'] })).not.toBe(recordHash(departmentRecord));
});

test('canonicalJson refuses a boolean rather than writing it as {}', () => {
  expect(() => canonicalJson(true as unknown as string)).toThrow(new TypeError('canonical JSON holds text, whole numbers, null, lists and objects only, got a boolean'));
});

test('every field is covered by the hash', () => {
  const base = recordHash(WORKED_EXAMPLE);
  const changed: Array<Partial<StoredRecord>> = [
    { chainId: 'gw-2' }, { sequence: 2 }, { previousHash: 'f'.repeat(64) }, { time: '2024-06-01T09:30:00.001Z' },
    { requestId: 'req-2' }, { application: null }, { officer: 'officer-008' }, { role: 'auditor' }, { serviceItem: null },
    { caseNumber: 'CASE-2024-0002' }, { operationName: null }, { documentHash: 'b'.repeat(64) }, { coordinates: [] },
    { citizens: ['330106199001011234'] }, { departments: ['household'] }, { outcome: 'ok' }, { errorCodes: ['DEPARTMENT_UNAVAILABLE'] },
    { latencyMs: 13 }, { requests: 2 }, { exchange: { kind: 'gateway-calls', calls: [], departmentCheckpoints: [] } },
  ];
  expect(changed).toHaveLength(20);
  for (const change of changed) expect(recordHash({ ...WORKED_EXAMPLE, ...change })).not.toBe(base);
});

test('canonicalJson refuses numbers it cannot encode unambiguously', () => {
  expect(() => canonicalJson(1.5)).toThrow(new TypeError('canonical JSON holds whole numbers only, got 1.5'));
  expect(canonicalJson({ b: [2, 'x'], a: null })).toBe('{"a":null,"b":[2,"x"]}');
});

describe('normaliseEntry', () => {
  test('sorts and de-duplicates the lists, writes the time as toISOString and rounds the latency', () => {
    const entry = normaliseEntry(auditEntry({
      time: '2024-06-01T17:30:00+08:00',
      coordinates: ['Citizen.identity', 'Citizen.household', 'Citizen.identity'],
      citizens: ['330106199001011234', '110101199003077777', '330106199001011234'],
      departments: ['residence', 'household'],
      errorCodes: ['DEPARTMENT_UNAVAILABLE', 'BAD_USER_INPUT'],
      latencyMs: 12.6,
    }));
    expect(entry).toEqual(auditEntry({
      time: '2024-06-01T09:30:00.000Z',
      coordinates: ['Citizen.household', 'Citizen.identity'],
      citizens: ['110101199003077777', '330106199001011234'],
      departments: ['household', 'residence'],
      errorCodes: ['BAD_USER_INPUT', 'DEPARTMENT_UNAVAILABLE'],
      latencyMs: 13,
      requests: 1,
    }));
    expect(normaliseEntry(auditEntry({ requests: 40 })).requests).toBe(40);
  });

  test('replaces NUL and lone surrogates, which no database stores as given, with U+FFFD', () => {
    const entry = normaliseEntry(auditEntry({ caseNumber: 'CASE\u0000-\uD800-\uDC00-😀', citizens: ['x\uDFFF'] }));
    expect(entry.caseNumber).toBe('CASE\uFFFD-\uFFFD-\uFFFD-😀');
    expect(entry.citizens).toEqual(['x\uFFFD']);
  });

  test('names the malformed field without echoing its value', () => {
    expect(() => normaliseEntry(auditEntry({ time: 'yesterday' }))).toThrow(new TypeError('entry.time must be an ISO instant'));
    expect(() => normaliseEntry(auditEntry({ outcome: 'fine' as never }))).toThrow(new TypeError('entry.outcome must be one of ok, partial, refused, error'));
    expect(() => normaliseEntry(auditEntry({ latencyMs: -1 }))).toThrow(new TypeError('entry.latencyMs must be a non-negative number'));
    expect(() => normaliseEntry(auditEntry({ citizens: [42 as never] }))).toThrow(new TypeError('entry.citizens must be an array of strings'));
    expect(() => normaliseEntry(auditEntry({ officer: 7 as never }))).toThrow(new TypeError('entry.officer must be a string or null'));
    for (const requests of [0, -1, 1.5, Number.NaN]) {
      expect(() => normaliseEntry(auditEntry({ requests }))).toThrow(new TypeError('entry.requests must be a whole number from 1'));
    }
  });
});
