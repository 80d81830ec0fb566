import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson, type CanonicalValue } from '../audit/canonical';
import { checkReceiptExport, type ExportTrust } from '../audit/receipt-export';
import { keyIdOf, loadPublicKey, trustedKeys } from '../audit/signing';
import { ensureDevelopmentSigningKey, loadTrustList } from '../lib/trust-list';
import { auditEntry, signingKeyFileIn } from './helpers/audit-stores';
import { openWorld, postgresStores, runScript, sqliteStores, type Stores } from './helpers/exchange-stores';

/**
 * audit:receipt exports one request's gateway records with every department receipt,
 * vouched for by a checkpoint and attested with the audit key; audit:verify-receipt
 * checks the file with public keys only, and fails whatever single byte of it changes.
 */

describe.each([
  ['SQLite', () => sqliteStores(['household'])],
  ['PostgreSQL', () => postgresStores('household')],
])('audit:receipt and audit:verify-receipt on %s', (_kind, create) => {
  let stores: Stores;
  let file: string;
  let exported: Buffer;
  let auditKeyId: string;
  let gatewayKeyId: string;
  let trust: ExportTrust;

  /** gw-1: r-1 answered by household, r-2 timed out, checkpointed; then r-3, after the last checkpoint. */
  beforeAll(async () => {
    stores = await create();
    const world = await openWorld(stores);
    await world.exchange({ requestId: 'r-1', department: 'household' });
    await world.exchange({ requestId: 'r-2', department: 'household', failure: 'DEPARTMENT_TIMEOUT' });
    await world.gateway.checkpoint();
    await world.gateway.record(auditEntry({ requestId: 'r-3', departments: [] }));
    // Closing the gateway's log would checkpoint r-3: it is left open, its store closed under it at the end.
    for (const log of world.departments.values()) await log.close();
    file = path.join(stores.dataDir, 'receipt.json');
    auditKeyId = keyIdOf(loadPublicKey(signingKeyFileIn(stores.dataDir)));
    const pki = path.join(stores.dataDir, 'pki');
    gatewayKeyId = ensureDevelopmentSigningKey(pki).keyId;
    trust = {
      auditKeys: trustedKeys([loadPublicKey(signingKeyFileIn(stores.dataDir))]),
      gatewayKeys: loadTrustList(path.join(pki, 'gateway-keys.json')),
      departmentKeys: loadTrustList(path.join(pki, 'department-keys.json')),
    };
    const result = runScript('audit-receipt', stores, ['r-1']);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    exported = Buffer.from(result.stdout, 'utf8');
  });
  afterAll(() => stores.close());

  const exportedAt = (bytes: Buffer) => (JSON.parse(bytes.toString('utf8')) as { attestation: { time: string } }).attestation.time;
  const verifyFile = (bytes: Buffer, args: string[] = []) => {
    writeFileSync(file, bytes);
    return runScript('audit-verify-receipt', stores, [file, ...args]);
  };
  const failures = (bytes: Buffer) => checkReceiptExport(bytes, trust).filter((line) => !line.ok).map((line) => line.text);

  test('the export is canonical JSON and a newline, and verifies offline: one line per check, exit 0', () => {
    expect(exported.toString('utf8')).toBe(`${canonicalJson(JSON.parse(exported.toString('utf8')) as CanonicalValue)}\n`);
    expect(verifyFile(exported)).toEqual({
      status: 0,
      stdout: [
        'ok: the file is canonical JSON (RFC 8785) and one newline',
        'ok: the file is a receipt export (proofless-receipt-export-1) with no unknown member',
        `ok: the attestation verifies with trusted audit key ${auditKeyId.slice(0, 16)} (exported ${exportedAt(exported)})`,
        'ok: record 1 of chain gw-1 is request r-1',
        'ok: record 1 of chain gw-1: its hash recomputes from its contents',
        'ok: record 1 of chain gw-1: checkpoint at 2 verifies with a trusted audit key',
        `ok: record 1 of chain gw-1: call 1 to household: the gateway's request signature verifies with gateway key ${gatewayKeyId}`,
        "ok: record 1 of chain gw-1: call 1 to household: the signed request's x-request-id, x-service-item, x-case-number, x-proofless-department and caller match the record",
        "ok: record 1 of chain gw-1: call 1 to household: household's receipt verifies: it answered with status 200 and logged it as record 1 of chain household:host-1 at 2024-06-01T09:30:00.000Z",
        `${file}: verified`,
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  test('a failed call: the export says the gateway released nothing of it, and verifies', () => {
    const failed = runScript('audit-receipt', stores, ['r-2']);
    const result = verifyFile(Buffer.from(failed.stdout));
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n').filter((line) => line.includes('call 1'))).toEqual([
      `ok: record 2 of chain gw-1: call 1 to household: the gateway's request signature verifies with gateway key ${gatewayKeyId}`,
      "ok: record 2 of chain gw-1: call 1 to household: the signed request's x-request-id, x-service-item, x-case-number, x-proofless-department and caller match the record",
      'ok: record 2 of chain gw-1: call 1 to household: no receipt: the call failed with DEPARTMENT_TIMEOUT (the gateway released nothing of it)',
    ]);
  });

  /** The export with the first `after`..`before` span's character at `offset` replaced by `by`. */
  function edited(after: string, offset: number, by: (character: string) => string): Buffer {
    const text = exported.toString('utf8');
    const at = text.indexOf(after) + after.length + offset;
    expect(text.indexOf(after)).toBeGreaterThanOrEqual(0);
    return Buffer.from(`${text.slice(0, at)}${by(text[at])}${text.slice(at + 1)}`, 'utf8');
  }
  const otherHex = (c: string) => (c === 'a' ? 'b' : 'a');
  const otherBase64 = (c: string) => (c === 'A' ? 'B' : 'A');
  const attestationFails = "the attestation's signature does not verify: the export was changed";
  const hashFails = 'record 1 of chain gw-1: its hash does not match its contents';

  test.each([
    ['inside the receipt\'s signature', '"sequence":1,"signature":"', 3, otherBase64, [attestationFails, hashFails, "record 1 of chain gw-1: call 1 to household: household's receipt: the receipt's signature does not verify"]],
    ['inside the receipt\'s answer digest', '"receipt":{"answerDigest":"', 10, otherHex, [attestationFails, hashFails, "record 1 of chain gw-1: call 1 to household: household's receipt: the receipt's signature does not verify"]],
    ['inside the record (its officer)', '"officer":"officer-00', 0, () => '8', [attestationFails, hashFails, 'record 1 of chain gw-1: call 1 to household: the signed request and the record differ in officer']],
    ['inside the gateway\'s signature base (the request ID it signed)', '\\"x-request-id\\": r-', 0, () => '9', [
      attestationFails, hashFails,
      `record 1 of chain gw-1: call 1 to household: the gateway's request signature does not verify with gateway key GATEWAY_KEY: the signed request was changed`,
      'record 1 of chain gw-1: call 1 to household: the signed request and the record differ in x-request-id',
      "record 1 of chain gw-1: call 1 to household: household's receipt: the receipt is for another request",
    ]],
    ['inside the checkpoint\'s hash', '"checkpoint":{"chainId":"gw-1","hash":"', 5, otherHex, [attestationFails, 'record 1 of chain gw-1: checkpoint at 2: signature invalid']],
    ['inside the attestation\'s signature', '"attestation":{"keyId":"', 64 + 15, otherBase64, [attestationFails]],
    ['whitespace added (a space after the first brace)', '{', -1, () => '{ ', ['the file is not exactly canonical JSON (RFC 8785) and one newline: it was changed after export']],
  ])('one character changed %s: the check that covers it names it, exit 1', (_where, after, offset, by, expected) => {
    const bytes = edited(after as string, offset as number, by as (c: string) => string);
    expect(failures(bytes)).toEqual((expected as string[]).map((text) => text.replace('GATEWAY_KEY', gatewayKeyId)));
    const result = verifyFile(bytes);
    expect({ status: result.status, last: result.stdout.split('\n').at(-2) }).toEqual({
      status: 1, last: `${file}: NOT VERIFIED: ${(expected as string[]).length} check${(expected as string[]).length === 1 ? '' : 's'} failed`,
    });
  });

  test('any single byte flipped, anywhere in the file (the padding bits of a base64 signature too): it no longer verifies', () => {
    const positions: number[] = [];
    for (let index = 0; index < exported.length; index += 1) {
      const bytes = Buffer.from(exported);
      bytes[index] ^= 0x01;
      if (failures(bytes).length === 0) positions.push(index);
    }
    expect(positions).toEqual([]);
  });

  test('an unknown member added, the file still canonical: refused as not a receipt export, exit 1', () => {
    const value = JSON.parse(exported.toString('utf8')) as Record<string, CanonicalValue>;
    const bytes = Buffer.from(`${canonicalJson({ ...value, note: 'approved' })}\n`);
    expect(verifyFile(bytes)).toEqual({
      status: 1,
      stdout: `ok: the file is canonical JSON (RFC 8785) and one newline\nFAIL: the file is not a receipt export: the export has an unknown member "note"\n${file}: NOT VERIFIED: 1 check failed\n`,
      stderr: '',
    });
  });

  test('checked with keys that are not the gateway\'s audit key: the attestation and the checkpoint are untrusted, exit 1', () => {
    const other = signingKeyFileIn(stores.dataDir, 'other-audit-key.pem');
    const result = verifyFile(exported, ['--audit-keys', other]);
    expect({ status: result.status, failed: result.stdout.split('\n').filter((line) => line.startsWith('FAIL')) }).toEqual({
      status: 1,
      failed: [
        `FAIL: the attestation is signed by key ${auditKeyId.slice(0, 16)}, which is not a trusted audit key`,
        `FAIL: record 1 of chain gw-1: checkpoint at 2: signed by key ${auditKeyId.slice(0, 16)}, which is not trusted`,
      ],
    });
  });

  test('a record after the chain\'s last checkpoint, or a request the store has no record of: nothing exported, exit 1', () => {
    expect(runScript('audit-receipt', stores, ['r-3'])).toEqual({
      status: 1, stdout: '', stderr: 'audit-receipt: record 3 of chain gw-1 is after the chain\'s last checkpoint that verifies: export it after the next checkpoint\n',
    });
    expect(runScript('audit-receipt', stores, ['r-404'])).toEqual({ status: 1, stdout: '', stderr: 'audit-receipt: the gateway\'s store holds no record of request r-404\n' });
  });

  test('usage: exit 2', () => {
    expect(runScript('audit-receipt', stores, [])).toEqual({ status: 2, stdout: '', stderr: 'audit-receipt: a request ID is required\nusage: npm run --silent audit:receipt -- REQUEST_ID > receipt.json\n' });
    expect(runScript('audit-verify-receipt', stores, [path.join(stores.dataDir, 'absent.json')])).toEqual({
      status: 2, stdout: '', stderr: `audit-verify-receipt: cannot read ${path.join(stores.dataDir, 'absent.json')}: ENOENT\n`,
    });
  });
});

