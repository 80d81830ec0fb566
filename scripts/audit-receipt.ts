import { UsageError, parseOptions, runCommand } from '../audit/command';
import { loadAuditConfig, loadTrustedPublicKeys } from '../audit/config';
import { openAuditStore } from '../audit/open-store';
import { buildReceiptExport, receiptExportText, ReceiptExportError } from '../audit/receipt-export';
import { loadSigningKey, trustedKeys } from '../audit/signing';

/**
 * `npm run --silent audit:receipt -- REQUEST_ID > receipt.json`: the gateway's records of
 * one request with every department's receipt, verified through the store to a signed
 * checkpoint and attested with the gateway's audit key (audit/receipt-export.ts), as
 * canonical JSON and a newline on stdout and nothing else there. `audit:verify-receipt`
 * checks the file offline. Exit 1 when the store holds no record of the request or one
 * that cannot be vouched for yet (after the chain's last checkpoint), 2 for usage.
 */

const USAGE = 'usage: npm run --silent audit:receipt -- REQUEST_ID > receipt.json';

runCommand('audit-receipt', async () => {
  const [requestId, ...rest] = process.argv.slice(2);
  if (requestId === undefined || requestId === '' || requestId.startsWith('--')) throw new UsageError(`a request ID is required\n${USAGE}`);
  parseOptions(rest, [], USAGE);
  const config = loadAuditConfig();
  const keys = trustedKeys(loadTrustedPublicKeys(config));
  const key = loadSigningKey(config.signingKeyFile);
  const store = await openAuditStore(config, { mustExist: true });
  try {
    const exported = await buildReceiptExport(store, requestId, keys, key, new Date());
    process.stdout.write(receiptExportText(exported));
    return 0;
  } catch (error) {
    if (!(error instanceof ReceiptExportError)) throw error;
    process.stderr.write(`audit-receipt: ${error.message}\n`);
    return 1;
  } finally {
    await store.close();
  }
});
