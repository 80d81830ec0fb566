import { archiveRecords } from '../audit/archive';
import { UsageError, parseOptions, runCommand } from '../audit/command';
import { configuredWitnessFiles, defaultExpectedChains, loadAuditConfig, loadTrustedPublicKeys } from '../audit/config';
import { INSTANT_EXAMPLE, parseInstant } from '../audit/instant';
import { openAuditStore } from '../audit/open-store';
import { readWitnesses } from '../audit/witness';

/**
 * `npm run audit:archive -- --before ISO --out FILE`: moves records from before the
 * instant (and older than the retention period, PROOFLESS_AUDIT_RETENTION_YEARS) into a
 * new JSON Lines file and leaves a signed anchor per chain, so the store and the file
 * both still verify (`npm run audit:verify [-- --archive FILE]`). Refuses, removing
 * nothing, when a chain does not verify as `audit:verify` without arguments verifies it:
 * with the configured witness (PROOFLESS_AUDIT_WITNESS_FILE) and the chains that must
 * exist. Removal happens only through this command.
 */

const USAGE = 'usage: npm run audit:archive -- --before ISO --out FILE';

runCommand('audit-archive', async () => {
  const options = parseOptions(process.argv.slice(2), ['before', 'out'], USAGE);
  if (options.before === undefined) throw new UsageError(`--before is required\n${USAGE}`);
  if (options.out === undefined || options.out === '') throw new UsageError(`--out must name a new file\n${USAGE}`);
  const before = parseInstant(options.before);
  if (before === null) throw new UsageError(`--before must be an ISO instant such as ${INSTANT_EXAMPLE}, got "${options.before}"`);
  const config = loadAuditConfig();
  const publicKeys = loadTrustedPublicKeys(config);
  const store = await openAuditStore(config, { mustExist: true });
  try {
    const archived = await archiveRecords({
      store,
      before,
      out: options.out,
      signingKeyFile: config.signingKeyFile,
      publicKeys,
      verifyOptions: { expectedChains: defaultExpectedChains(config), witnessed: await readWitnesses(configuredWitnessFiles(config)) },
      retentionYears: config.retentionYears,
    });
    if (archived.length === 0) console.log(`nothing to archive: no chain in ${store.location} has records before ${before}`);
    for (const chain of archived) {
      console.log(
        `chain ${chain.chainId}: archived records ${chain.firstArchivedSequence} to ${chain.lastArchivedSequence} into ${options.out}; ` +
          `the chain continues at ${chain.firstKeptSequence}`,
      );
    }
    return 0;
  } finally {
    await store.close();
  }
});
