import { verifyArchive } from '../audit/archive';
import { UsageError, parseOptions, runCommand } from '../audit/command';
import { loadAuditConfig, loadTrustedPublicKeys } from '../audit/config';
import { openAuditStore } from '../audit/open-store';
import { verifyChains, type ChainVerification } from '../audit/verify';

/**
 * `npm run audit:verify -- [--archive FILE]`: checks every chain in the audit store (or
 * an archive file against the store's anchors) and prints one line per chain. Exits 0
 * when all verify, 1 when one does not (its line names the first bad sequence), 2 for a
 * bad argument or configuration. The store is the one the gateway's environment names.
 */

const USAGE = 'usage: npm run audit:verify -- [--archive FILE]';

function describe(result: ChainVerification, label: string): string {
  const figures = `${result.records} record${result.records === 1 ? '' : 's'}, last sequence ${result.lastSequence}, ` +
    (result.lastCheckpoint === null ? 'no checkpoint' : `last checkpoint ${result.lastCheckpoint}`);
  return result.ok
    ? `${label}: ok, ${figures}`
    : `${label}: BAD at record ${result.firstBadSequence}: ${result.problem} (${figures})`;
}

runCommand('audit-verify', async () => {
  const { archive } = parseOptions(process.argv.slice(2), ['archive'], USAGE);
  if (archive === '') throw new UsageError(`--archive must name a file, got ""\n${USAGE}`);
  const config = loadAuditConfig();
  const publicKeys = loadTrustedPublicKeys(config);
  const store = await openAuditStore(config, { mustExist: true });
  try {
    const results = archive === undefined ? await verifyChains(store, publicKeys) : await verifyArchive(store, archive, publicKeys);
    if (results.length === 0) console.log(archive === undefined ? `no audit chains in ${store.location}` : `no audit records in ${archive}`);
    for (const result of results) {
      console.log(describe(result, archive === undefined ? `chain ${result.chainId}` : `chain ${result.chainId} in ${archive}`));
    }
    return results.every((result) => result.ok) ? 0 : 1;
  } finally {
    await store.close();
  }
});
