import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listDepartments } from '../../lib/composition';
import { ensureDevelopmentPki, issueCertificate } from '../../lib/pki';
import { ensureDevelopmentDepartmentKey, ensureDevelopmentSigningKey } from '../../lib/trust-list';
import { TEST_PKI_NAMES } from './federation-security';

/**
 * Before any test: the real Redis and PostgreSQL the suite talks to are up (started by
 * scripts/ensure-services.sh where they are not), Debian's Chromium the browser tests
 * drive is installed (scripts/ensure-browser.sh), so `npm test` works on its own; and the
 * run's own PKI is made (a CA, a certificate per process, the gateway's signing key and
 * the departments' trust list), so every test runs with mutual TLS and signatures on, as
 * production does. Workers find it through PROOFLESS_TEST_PKI_DIR.
 */
export default async function globalSetup(): Promise<void> {
  try {
    execFileSync('bash', [path.join(__dirname, '../../scripts/ensure-services.sh')], { stdio: 'inherit' });
  } catch {
    throw new Error('the test suite needs Redis and PostgreSQL on loopback; see the message above');
  }
  try {
    execFileSync('bash', [path.join(__dirname, '../../scripts/ensure-browser.sh')], { stdio: 'inherit' });
  } catch {
    throw new Error('the browser tests need Chromium at /usr/bin/chromium; see the message above');
  }
  const pkiDir = mkdtempSync(path.join(os.tmpdir(), 'proofless-test-pki-'));
  await ensureDevelopmentPki(pkiDir, TEST_PKI_NAMES);
  // For test/helpers/fault-server.ts, which stands in for any department.
  await issueCertificate(pkiDir, 'fault-department', { extraDnsNames: listDepartments().map((department) => department.name) });
  ensureDevelopmentSigningKey(pkiDir);
  for (const department of listDepartments()) ensureDevelopmentDepartmentKey(pkiDir, department.name);
  process.env.PROOFLESS_TEST_PKI_DIR = pkiDir;
}
