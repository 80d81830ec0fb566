import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Agent, request } from 'undici';
import { CALLER_HEADER, encodeAssertedCaller, type AssertedCaller } from '../../lib/asserted-caller';
import { randomUUID } from 'node:crypto';
import { accessLogConfigFromEnv, DEPARTMENT_KEYS_FILE_NAME } from '../../audit/access-log-config';
import { createRequestSigner, SIGNATURE_LABEL, signatureBase } from '../../lib/http-signatures';
import { createLogger, type Logger } from '../../lib/logger';
import { ensureDevelopmentSigningKey, loadSigningKey } from '../../lib/trust-list';
import { openDepartmentAccessLog, type DepartmentAccessLog } from '../../subgraphs/shared/access-log';
import { openDepartmentSecurity, type DepartmentSecurity } from '../../subgraphs/shared/security';

/** Every process name the test PKI has a certificate for. */
export const TEST_PKI_NAMES = ['gateway', 'household', 'residence', 'license', 'service', 'audit'];

/** The test run's PKI folder, made by test/helpers/global-setup.ts: a CA, a certificate per name, the gateway's signing key and the trust list. */
export function testPkiDir(): string {
  const dir = process.env.PROOFLESS_TEST_PKI_DIR;
  if (!dir) throw new Error('PROOFLESS_TEST_PKI_DIR is not set: jest runs test/helpers/global-setup.ts first, which makes the test PKI');
  return dir;
}

/** The gateway's request-signing key in the test PKI: its file, ID and the trust list it is in. */
export function testSigningKey(): { keyFile: string; keyId: string; trustListFile: string } {
  return ensureDevelopmentSigningKey(testPkiDir());
}

/** The environment a gateway (or a department, with its own `name`) reads its TLS files and signing key from, in the test PKI. */
export function transportEnv(name = 'gateway'): Record<string, string> {
  const dir = testPkiDir();
  const key = testSigningKey();
  // A department's receipt key, when the test PKI made one (every department schema/departments.json lists): listed in testDepartmentKeysFile().
  const departmentKey = testDepartmentKeyFile(name);
  return {
    PROOFLESS_TLS_CA_FILE: path.join(dir, 'ca.pem'),
    PROOFLESS_TLS_CERT_FILE: path.join(dir, `${name}.pem`),
    PROOFLESS_TLS_KEY_FILE: path.join(dir, `${name}-key.pem`),
    PROOFLESS_REQUEST_SIGNING_KEY_FILE: key.keyFile,
    PROOFLESS_REQUEST_SIGNING_KEY_ID: key.keyId,
    PROOFLESS_GATEWAY_KEYS_FILE: key.trustListFile,
    // Made for every department by global-setup.ts (a name outside it, such as a scaffolded department, makes its own): a department signs its receipts with its own, the gateway checks them against the list.
    ...(name !== 'gateway' && existsSync(departmentKey) ? { PROOFLESS_DEPARTMENT_KEY_FILE: departmentKey } : {}),
    PROOFLESS_DEPARTMENT_KEYS_FILE: path.join(dir, DEPARTMENT_KEYS_FILE_NAME),
  };
}

/** Department `name`'s receipt and access-log key in the test PKI (test/helpers/global-setup.ts makes one per department). */
export function testDepartmentKeyFile(name: string): string {
  return path.join(testPkiDir(), `${name}-signing-key.pem`);
}

/** The departments' trust list in the test PKI: every department's receipt key. */
export function testDepartmentKeysFile(): string {
  return path.join(testPkiDir(), DEPARTMENT_KEYS_FILE_NAME);
}

/** Department `name`'s security as `npm start` opens it, over the test PKI; `catalogFile` is the catalog its purpose check reads. */
export function departmentSecurityForTest(name: string, options: { catalogFile: string; logger?: Logger; now?: () => number }): DepartmentSecurity {
  const env = transportEnv(name);
  return openDepartmentSecurity(name, {
    pkiDir: testPkiDir(),
    tlsFiles: { caFile: env.PROOFLESS_TLS_CA_FILE, certFile: env.PROOFLESS_TLS_CERT_FILE, keyFile: env.PROOFLESS_TLS_KEY_FILE },
    trustListFile: env.PROOFLESS_GATEWAY_KEYS_FILE,
    catalogFile: options.catalogFile,
    clientNames: ['gateway'],
    expiryWarningDays: 21,
    expiryCheckHours: 6,
  }, options.logger ?? createLogger(name, { level: 'silent' }), options.now);
}

/**
 * Department `name`'s access log as `npm start` opens it, in `dataDir`, signed with its key
 * in the test PKI, on a chain of its own (several stacks may share a data folder), with no
 * group-commit wait (tests make requests one at a time).
 */
export function departmentAccessLogForTest(name: string, dataDir: string, security: Pick<DepartmentSecurity, 'verifiedRequest'>, logger?: Logger): Promise<DepartmentAccessLog> {
  const config = accessLogConfigFromEnv({
    PROOFLESS_DATA_DIR: dataDir,
    PROOFLESS_DEPARTMENT_KEY_FILE: testDepartmentKeyFile(name),
    PROOFLESS_ACCESS_LOG_CHAIN_ID: `${name}:test-${randomUUID()}`,
    PROOFLESS_ACCESS_LOG_GROUP_COMMIT_MS: '0',
  }, name);
  return openDepartmentAccessLog(config, { verifiedRequest: (req) => security.verifiedRequest(req), logger: logger ?? createLogger(name, { level: 'silent' }) });
}

/** The TLS options of a client as the gateway is one (`as` names whose certificate it presents), expecting `department`'s certificate. */
export function mutualTlsAgentOptions(department: string, as = 'gateway') {
  const dir = testPkiDir();
  return {
    ca: readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    cert: readFileSync(path.join(dir, `${as}.pem`), 'utf8'),
    key: readFileSync(path.join(dir, `${as}-key.pem`), 'utf8'),
    servername: department,
    minVersion: 'TLSv1.3' as const,
  };
}

/** A TLS client as the gateway is one (`as` names whose certificate it presents), expecting `department`'s certificate. */
export function mutualTlsAgent(department: string, as = 'gateway'): Agent {
  return new Agent({ connect: mutualTlsAgentOptions(department, as) });
}

export interface DepartmentCall {
  query: string;
  variables?: Record<string, unknown>;
  /** The caller the gateway asserts; default none. */
  caller?: AssertedCaller;
  /** Purpose headers and any other, lower-case; signed with the rest. */
  headers?: Record<string, string>;
}

/**
 * Calls a department as the gateway does: over mutual TLS with the gateway's certificate,
 * signed with the gateway's test key, with the department header and a request ID.
 */
export async function callDepartmentAsGateway(url: string, department: string, call: DepartmentCall, agent: Agent = mutualTlsAgent(department)): Promise<SignedCallAnswer> {
  const body = JSON.stringify({ query: call.query, variables: call.variables });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-proofless-department': department,
    'x-request-id': 'req-test-department-call',
    ...(call.caller ? { [CALLER_HEADER]: encodeAssertedCaller(call.caller) } : {}),
    ...call.headers,
  };
  return sendSignedAsGateway(url, headers, body, agent);
}

/** A department's answer to a signed call, with the RFC 9421 signature base the call was signed over (what the department's receipt names by its SHA-256) and the exact answer text. */
export interface SignedCallAnswer {
  status: number;
  body: any;
  text: string;
  headers: Record<string, string | string[] | undefined>;
  signatureBase: string;
}

/** POSTs `body` to `url` with `headers` (lower-case), signed as the gateway signs (with the gateway's test key unless `key` names another), over mutual TLS. */
export async function sendSignedAsGateway(url: string, headers: Record<string, string>, body: string, agent: Agent, key: { keyId: string; keyFile: string } = testSigningKey()): Promise<SignedCallAnswer> {
  const sign = createRequestSigner({ keyId: key.keyId, privateKey: loadSigningKey(key.keyFile) });
  const signed = { ...headers, ...sign({ method: 'POST', targetUri: url, headers, body }) };
  const response = await request(url, { method: 'POST', dispatcher: agent, headers: signed, body });
  const text = await response.body.text();
  return { status: response.statusCode, body: JSON.parse(text), text, headers: response.headers, signatureBase: signatureBaseOf(url, signed) };
}

/** The base a signature was made over, rebuilt from the headers sent: its Signature-Input names the components and parameters. */
function signatureBaseOf(url: string, signed: Record<string, string>): string {
  const params = signed['signature-input'].slice(`${SIGNATURE_LABEL}=`.length);
  const covered = [...(/^\(([^)]*)\)/.exec(params)?.[1] ?? '').matchAll(/"([^"]+)"/g)].map((match) => match[1]);
  return signatureBase({ method: 'POST', targetUri: url, header: (name) => signed[name] }, covered, params);
}

/**
 * The TLS options of a server standing in for any department as the gateway meets one
 * (a fault, a held answer): TLS 1.3, the test PKI's `fault-department` certificate, which
 * names every department, and the gateway's client certificate required.
 */
export function departmentStandInTlsOptions() {
  const pki = (file: string) => readFileSync(path.join(testPkiDir(), file), 'utf8');
  return { minVersion: 'TLSv1.3' as const, ca: pki('ca.pem'), cert: pki('fault-department.pem'), key: pki('fault-department-key.pem'), requestCert: true, rejectUnauthorized: true };
}
