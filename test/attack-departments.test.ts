import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { CALLER_HEADER, encodeAssertedCaller, type AssertedCaller } from '../lib/asserted-caller';
import { createRequestSigner } from '../lib/http-signatures';
import { ensureDevelopmentPki } from '../lib/pki';
import { loadSigningKey } from '../lib/trust-list';
import { writeFixtureRegistries, ZHANG_WEI } from './fixtures/registries';
import { departmentRefusingToStart, spawnDepartment, type DepartmentProcess } from './helpers/department-process';
import { callDepartmentAsGateway, mutualTlsAgent, mutualTlsAgentOptions, testPkiDir, testSigningKey } from './helpers/federation-security';

/**
 * Issue 17: every department trusts no one. Each attack here is made against a real
 * department process, started as `npm start` starts it, by someone who reached its port:
 * with no TLS, with TLS but no certificate or one from another CA, with the gateway's
 * certificate but no signature or a forged, replayed, expired or tampered one, and, with
 * everything valid, for data the asserted purpose does not allow (a compromised gateway).
 */
const ISSUE_ATTACK = `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name ethnicity } household { members { citizen { idNumber } } } } }`;
const HOUSING_ITEM = '330100-ZJ-0001';
const officer: AssertedCaller = { application: 'window-app', officer: 'officer-7', role: 'service', serviceItems: [HOUSING_ITEM], scopes: [] };
const purpose = { 'x-service-item': HOUSING_ITEM, 'x-case-number': 'ZJ-2026-0007' };

let city: ReturnType<typeof writeFixtureRegistries>;
let household: DepartmentProcess;
let otherPki: string;

beforeAll(async () => {
  city = writeFixtureRegistries();
  household = await spawnDepartment('household', city.dataDir);
  otherPki = mkdtempSync(path.join(os.tmpdir(), 'proofless-other-ca-'));
  await ensureDevelopmentPki(otherPki, ['gateway']);
});

afterAll(async () => {
  await household?.stop();
  city?.remove();
  rmSync(otherPki, { recursive: true, force: true });
});

/** A request the gateway would sign, with what the test changes: headers as a flat list (to duplicate one), a signer's clock, another key. */
async function send(options: {
  query?: string;
  /** Signed over this body; sent with `sentBody` when given (a tampered body). */
  sentBody?: string;
  headers?: Record<string, string>;
  extraRawHeaders?: string[];
  now?: () => number;
  keyId?: string;
  privateKey?: ReturnType<typeof loadSigningKey>;
  agent?: Agent;
  replay?: { headers: Record<string, string>; body: string };
} = {}): Promise<{ status: number; body: any; signed: { headers: Record<string, string>; body: string } }> {
  const body = JSON.stringify({ query: options.query ?? ISSUE_ATTACK });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-proofless-department': 'household',
    'x-request-id': 'req-attack-0001',
    [CALLER_HEADER]: encodeAssertedCaller(officer),
    ...purpose,
    ...options.headers,
  };
  const key = testSigningKey();
  const sign = createRequestSigner({ keyId: options.keyId ?? key.keyId, privateKey: options.privateKey ?? loadSigningKey(key.keyFile), now: options.now });
  const signed = options.replay ?? { headers: { ...headers, ...sign({ method: 'POST', targetUri: household.url, headers, body }) }, body };
  const flat: string[] = [...(Object.entries(signed.headers) as [string, string][]).flatMap(([name, value]) => [name, value]), ...(options.extraRawHeaders ?? [])];
  const response = await request(household.url, { method: 'POST', dispatcher: options.agent ?? mutualTlsAgent('household'), headers: flat, body: options.sentBody ?? signed.body });
  return { status: response.statusCode, body: JSON.parse(await response.body.text()), signed };
}

const refusal = (code: string) => expect.objectContaining({ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code }) })] });

describe('the TLS handshake refuses whoever is not the federation', () => {
  test('plain HTTP to a department gets no answer at all', async () => {
    const plain = household.url.replace('https:', 'http:');
    await expect(fetch(plain, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: ISSUE_ATTACK }) })).rejects.toThrow();
    await household.lineMatching(/refused a connection in the TLS handshake/);
  });

  test('TLS without a client certificate is refused', async () => {
    const agent = new Agent({ connect: { ca: readFileSync(path.join(testPkiDir(), 'ca.pem'), 'utf8'), servername: 'household' } });
    await expect(send({ agent })).rejects.toThrow();
  });

  test('a client certificate from another CA is refused', async () => {
    const agent = new Agent({
      connect: {
        ca: readFileSync(path.join(testPkiDir(), 'ca.pem'), 'utf8'),
        cert: readFileSync(path.join(otherPki, 'gateway.pem'), 'utf8'),
        key: readFileSync(path.join(otherPki, 'gateway-key.pem'), 'utf8'),
        servername: 'household',
      },
    });
    await expect(send({ agent })).rejects.toThrow();
  });

  test('the gateway refuses a department presenting another department\'s certificate (its SAN is checked)', async () => {
    await expect(send({ agent: mutualTlsAgent('residence') })).rejects.toThrow(/residence|altname|Hostname/i);
  });

  test('another department\'s certificate, from the right CA, is refused: only the gateway may call a department', async () => {
    const agent = new Agent({ connect: { ...mutualTlsAgentOptions('household', 'residence') } });
    expect(await send({ agent })).toMatchObject({ status: 403, body: refusal('FORBIDDEN') });
  });

  test('TLS 1.2 is refused: TLS 1.3 only', async () => {
    const dir = testPkiDir();
    const agent = new Agent({
      connect: {
        ca: readFileSync(path.join(dir, 'ca.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'gateway.pem'), 'utf8'), key: readFileSync(path.join(dir, 'gateway-key.pem'), 'utf8'),
        servername: 'household', maxVersion: 'TLSv1.2',
      },
    });
    await expect(send({ agent })).rejects.toThrow();
  });
});

describe('with the gateway\'s certificate, every request must carry the gateway\'s valid signature', () => {
  test('the issue\'s attack, unsigned, is a coded 401 and discloses nothing', async () => {
    const response = await request(household.url, {
      method: 'POST', dispatcher: mutualTlsAgent('household'),
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-unsigned-0001' }, body: JSON.stringify({ query: ISSUE_ATTACK }),
    });
    expect({ status: response.statusCode, body: JSON.parse(await response.body.text()) }).toEqual({ status: 401, body: refusal('SIGNATURE_MISSING') });
    expect(JSON.parse(await household.lineMatching(/req-unsigned-0001/))).toMatchObject({ requestId: 'req-unsigned-0001', code: 'SIGNATURE_MISSING' });
  });

  test('a signature by a key the trust list does not hold is refused', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    expect(await send({ keyId: 'intruder-1', privateKey })).toMatchObject({ status: 401, body: refusal('SIGNATURE_KEY_UNKNOWN') });
  });

  test('a signature under the gateway\'s key ID by another key is refused', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    expect(await send({ privateKey })).toMatchObject({ status: 401, body: refusal('SIGNATURE_INVALID') });
  });

  test('a replayed request is refused the second time', async () => {
    const first = await send({ query: '{ __typename }' });
    expect(first.status).toBe(200);
    expect(await send({ replay: first.signed })).toMatchObject({ status: 401, body: refusal('SIGNATURE_REPLAYED') });
  });

  test('an expired signature, and one from the future, are refused', async () => {
    expect(await send({ now: () => Date.now() - 10 * 60_000 })).toMatchObject({ status: 401, body: refusal('SIGNATURE_EXPIRED') });
    expect(await send({ now: () => Date.now() + 10 * 60_000 })).toMatchObject({ status: 401, body: refusal('SIGNATURE_EXPIRED') });
  });

  test('a tampered body is refused: its digest does not match', async () => {
    const tampered = JSON.stringify({ query: `{ citizen(idNumber: "${ZHANG_WEI}") { identity { ethnicity } } }` });
    expect(await send({ query: '{ __typename }', sentBody: tampered })).toMatchObject({ status: 401, body: refusal('CONTENT_DIGEST_MISMATCH') });
  });

  test('a covered header sent twice is refused (X-Road #1177)', async () => {
    expect(await send({ extraRawHeaders: ['x-service-item', '330100-GA-0001'] })).toMatchObject({ status: 401, body: refusal('HEADER_DUPLICATED') });
    expect(await send({ extraRawHeaders: [CALLER_HEADER, encodeAssertedCaller({ ...officer, role: 'auditor' })] })).toMatchObject({ status: 401, body: refusal('HEADER_DUPLICATED') });
  });

  test('a request signed for another department is refused', async () => {
    expect(await send({ headers: { 'x-proofless-department': 'residence' } })).toMatchObject({ status: 403, body: refusal('FORBIDDEN') });
  });
});

describe('a validly signed request is held to its purpose by the department itself', () => {
  test('the issue\'s attack under a housing item that does not need ethnicity is refused, naming the field', async () => {
    const { status, body } = await send();
    expect(status).toBe(403);
    expect(body).toEqual(refusal('FORBIDDEN'));
    expect(body.errors[0].message).toMatch(/Identity\.ethnicity/);
    expect(body.data).toBeUndefined();
  });

  test('no asserted caller reads nothing', async () => {
    const response = await callDepartmentAsGateway(household.url, 'household', { query: ISSUE_ATTACK, headers: purpose });
    expect(response).toMatchObject({ status: 401, body: refusal('UNAUTHENTICATED') });
  });

  test('an auditor reads no citizen data at a department', async () => {
    const response = await callDepartmentAsGateway(household.url, 'household', { query: `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`, caller: { ...officer, role: 'auditor' }, headers: purpose });
    expect(response).toMatchObject({ status: 403, body: refusal('FORBIDDEN') });
  });

  test('what the purpose allows is answered', async () => {
    const response = await callDepartmentAsGateway(household.url, 'household', { query: `{ citizen(idNumber: "${ZHANG_WEI}") { household { members { citizen { idNumber } } } } }`, caller: officer, headers: purpose });
    expect(response.status).toBe(200);
    expect(response.body.data.citizen.household.members.length).toBeGreaterThan(0);
  });
});

describe('the other departments hold their own lines', () => {
  test('the audit department answers no one but an asserted auditor', async () => {
    const audit = await spawnDepartment('audit', city.dataDir);
    try {
      const asOfficer = await callDepartmentAsGateway(audit.url, 'audit', { query: `{ auditRecords(idNumber: "${ZHANG_WEI}") { records { requestId } } }`, caller: officer, headers: purpose });
      expect(asOfficer).toMatchObject({ status: 403, body: refusal('FORBIDDEN') });
      const unsigned = await request(audit.url, { method: 'POST', dispatcher: mutualTlsAgent('audit'), headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ auditRecords { records { requestId } } }' }) });
      expect(unsigned.statusCode).toBe(401);
      await unsigned.body.text();
    } finally {
      await audit.stop();
    }
  });

  test('a commitment sent straight to the service bureau without the gateway is not stored', async () => {
    const service = await spawnDepartment('service', city.dataDir, { PROOFLESS_COMMITMENT_CHECK_INTERVAL_SECONDS: '0' });
    try {
      const mutation = `mutation { recordCommitment(input: { serviceItem: "${HOUSING_ITEM}", proof: "X", applicant: "${ZHANG_WEI}", statement: "本人承诺" }) { id } }`;
      const unsigned = await request(service.url, { method: 'POST', dispatcher: mutualTlsAgent('service'), headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: mutation }) });
      expect(unsigned.statusCode).toBe(401);
      await unsigned.body.text();
      const forItemWithoutCommitments = await callDepartmentAsGateway(service.url, 'service', { query: mutation, caller: officer, headers: purpose });
      expect(forItemWithoutCommitments).toMatchObject({ status: 403, body: refusal('FORBIDDEN') });
    } finally {
      await service.stop();
    }
  });
});

describe('a department that cannot read what it trusts refuses to start, naming the file', () => {
  test('a missing trust list', async () => {
    const missing = path.join(city.dataDir, 'no-such-keys.json');
    const { code, stderr } = await departmentRefusingToStart('household', city.dataDir, { PROOFLESS_GATEWAY_KEYS_FILE: missing });
    expect(code).toBe(1);
    expect(stderr).toContain(missing);
  });

  test('a missing certificate', async () => {
    const missing = path.join(city.dataDir, 'no-such-cert.pem');
    const { code, stderr } = await departmentRefusingToStart('household', city.dataDir, { PROOFLESS_TLS_CERT_FILE: missing });
    expect(code).toBe(1);
    expect(stderr).toContain(missing);
  });

  test('plain HTTP in production', async () => {
    const { code, stderr } = await departmentRefusingToStart('household', city.dataDir, { NODE_ENV: 'production', PROOFLESS_INSECURE_PLAIN_HTTP: 'true' });
    expect(code).toBe(1);
    expect(stderr).toContain('PROOFLESS_INSECURE_PLAIN_HTTP is refused in production');
  });
});
