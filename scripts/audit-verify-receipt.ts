import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError, parseOptions, runCommand } from '../audit/command';
import { departmentKeysFileFromEnv } from '../audit/access-log-config';
import { loadAuditConfig, loadTrustedPublicKeys } from '../audit/config';
import { printable } from '../audit/printable';
import { checkReceiptExport } from '../audit/receipt-export';
import { trustedKeys } from '../audit/signing';
import { ConfigError } from '../lib/env';
import { pkiDirFromEnv } from '../lib/federation-transport';
import { loadTrustList } from '../lib/trust-list';

/**
 * `npm run audit:verify-receipt -- receipt.json [--gateway-keys FILE] [--department-keys FILE] [--audit-keys FILE]...`:
 * checks an exported receipt offline, with public keys only (audit/receipt-export.ts):
 * one line per check, `ok` or `FAIL` and what is wrong, then a verdict. Exit 0 when every
 * check passes, 1 when one fails, 2 for usage or keys that cannot be read.
 * Keys by default: PROOFLESS_GATEWAY_KEYS_FILE or `<pki>/gateway-keys.json`;
 * PROOFLESS_DEPARTMENT_KEYS_FILE or `<pki>/department-keys.json`;
 * PROOFLESS_AUDIT_TRUSTED_KEY_FILES, else the audit key file.
 */

const USAGE = 'usage: npm run audit:verify-receipt -- receipt.json [--gateway-keys FILE] [--department-keys FILE] [--audit-keys FILE]...';

runCommand('audit-verify-receipt', async () => {
  const [file, ...rest] = process.argv.slice(2);
  if (file === undefined || file === '' || file.startsWith('--')) throw new UsageError(`the receipt file is required\n${USAGE}`);
  const options = parseOptions(rest, ['gateway-keys', 'department-keys'], USAGE, ['audit-keys']);
  const gatewayKeysFile = path.resolve(options['gateway-keys'] ?? process.env.PROOFLESS_GATEWAY_KEYS_FILE ?? path.join(pkiDirFromEnv(process.env), 'gateway-keys.json'));
  const departmentKeysFile = options['department-keys'] === undefined ? departmentKeysFileFromEnv(process.env) : path.resolve(options['department-keys']);
  const auditKeyFiles = options['audit-keys']?.flatMap((value) => value.split(',')).map((name) => path.resolve(name.trim()));
  const auditKeys = trustedKeys(loadTrustedPublicKeys(auditKeyFiles ? { trustedKeyFiles: auditKeyFiles } : loadAuditConfig()));
  const trust = { auditKeys, gatewayKeys: loadTrustList(gatewayKeysFile, { mayBeEmpty: true }), departmentKeys: loadTrustList(departmentKeysFile, { mayBeEmpty: true }) };
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const lines = checkReceiptExport(bytes, trust);
  for (const line of lines) console.log(printable(`${line.ok ? 'ok' : 'FAIL'}: ${line.text}`));
  const failed = lines.filter((line) => !line.ok).length;
  console.log(printable(failed === 0 ? `${file}: verified` : `${file}: NOT VERIFIED: ${failed} check${failed === 1 ? '' : 's'} failed`));
  return failed === 0 ? 0 : 1;
});
