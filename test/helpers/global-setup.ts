import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Before any test: the real Redis and PostgreSQL the suite talks to are up (started by
 * scripts/ensure-services.sh where they are not), and Debian's Chromium the browser tests
 * drive is installed (scripts/ensure-browser.sh), so `npm test` works on its own.
 */
export default function ensureServices(): void {
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
}
