import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { issueCertificate } from '../lib/pki';
import { writeFixtureRegistries } from './fixtures/registries';
import { spawnDepartment } from './helpers/department-process';
import { callDepartmentAsGateway, mutualTlsAgentOptions, testPkiDir } from './helpers/federation-security';

/**
 * Certificates rotate without a restart (issue 17): a department whose certificate files are
 * replaced presents the new certificate to the next connection, and keeps answering the
 * gateway, signed, over it.
 */
let city: ReturnType<typeof writeFixtureRegistries>;
let pki: string;

beforeAll(() => {
  city = writeFixtureRegistries();
  pki = mkdtempSync(path.join(os.tmpdir(), 'proofless-rotation-'));
  for (const file of ['ca.pem', 'ca-key.pem']) copyFileSync(path.join(testPkiDir(), file), path.join(pki, file));
});

afterAll(() => {
  city?.remove();
  rmSync(pki, { recursive: true, force: true });
});

/** The serial number of the certificate the department at `url` presents in a new handshake. */
function presentedSerial(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname, port: Number(port), ...mutualTlsAgentOptions('household') }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.once('error', reject);
  });
}

test('a department presents its rotated certificate to new connections, with no restart', async () => {
  const first = await issueCertificate(pki, 'household', { days: 10 });
  const department = await spawnDepartment('household', city.dataDir, { PROOFLESS_TLS_CERT_FILE: first.certFile, PROOFLESS_TLS_KEY_FILE: first.keyFile });
  try {
    const before = await presentedSerial(department.url);
    await issueCertificate(pki, 'household', { days: 397 });
    await department.lineMatching(/reloaded its TLS certificate/);
    const after = await presentedSerial(department.url);
    expect(after).not.toBe(before);
    expect(await callDepartmentAsGateway(department.url, 'household', { query: '{ __typename }' })).toMatchObject({ status: 200, body: { data: { __typename: 'Query' } } });
    // Its first certificate was within the warning period: the department said so at start.
    expect(JSON.parse(await department.lineMatching(/the TLS certificate expires in/))).toMatchObject({ level: 'warn', daysLeft: 9 });
  } finally {
    await department.stop();
  }
});
