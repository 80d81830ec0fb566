import { rmSync } from 'node:fs';

/** After every test: the run's PKI (global-setup.ts) is removed. */
export default function globalTeardown(): void {
  if (process.env.PROOFLESS_TEST_PKI_DIR) rmSync(process.env.PROOFLESS_TEST_PKI_DIR, { recursive: true, force: true });
}
