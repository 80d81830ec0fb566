import { verifyArchive } from '../audit/archive';
import { UsageError, parseOptions, runCommand } from '../audit/command';
import { configuredWitnessFiles, defaultExpectedChains, loadAuditConfig, loadTrustedPublicKeys, parseChainList, type AuditConfig } from '../audit/config';
import { openAuditStore } from '../audit/open-store';
import { printable } from '../audit/printable';
import { verifyChains, type ChainVerification } from '../audit/verify';
import { readWitnesses, type WitnessedCheckpoint } from '../audit/witness';

/**
 * `npm run audit:verify -- [--chains ID,...] [--witness FILE]...`: checks every chain in
 * the audit store and prints one line per chain; with `--archive FILE`, checks an archive
 * file against the store's anchors instead. Exits 0 when all verify, 1 when one does not
 * (its line names the first bad sequence and what is wrong there), 2 for a bad argument or
 * configuration. The store is the one the gateway's environment names.
 *
 * Chains that must exist: `--chains`, else PROOFLESS_AUDIT_EXPECTED_CHAINS, else this
 * instance's own chain (PROOFLESS_AUDIT_CHAIN_ID) when the store is its SQLite file; and
 * every chain a witness saw. Witnesses: each `--witness` (repeatable, or comma-separated),
 * else PROOFLESS_AUDIT_WITNESS_FILE when that file exists.
 */

const USAGE = 'usage: npm run audit:verify -- [--chains ID,...] [--witness FILE]... | --archive FILE';

/**
 * Prints a line of the report. Chain IDs and problems come printable from verify.ts
 * already; this holds for whatever else a line quotes from the store or a file too, so
 * nothing in the store can drive the operator's terminal (printable.ts).
 */
function print(line: string): void {
  console.log(printable(line));
}

function describe(result: ChainVerification, label: string): string {
  const figures = `${result.records} record${result.records === 1 ? '' : 's'}, last sequence ${result.lastSequence}, ` +
    (result.lastCheckpoint === null ? 'no checkpoint' : `last checkpoint ${result.lastCheckpoint}`);
  if (result.ok) return `${label}: ok, ${figures}`;
  const where = result.firstBadSequence === undefined ? '' : ` at record ${result.firstBadSequence}`;
  return `${label}: BAD${where}: ${result.problem} (${figures})`;
}

function expectedChains(config: AuditConfig, chains: string | undefined): Map<string, string> {
  if (chains !== undefined) {
    try {
      return new Map(parseChainList(chains, '--chains').map((chainId) => [chainId, '--chains names it']));
    } catch (error) {
      throw new UsageError(`${(error as Error).message}\n${USAGE}`);
    }
  }
  return defaultExpectedChains(config);
}

/** One line per witness file read: how much it saw, so an operator knows it was checked. */
function describeWitnesses(files: readonly string[], witnessed: ReadonlyMap<string, readonly WitnessedCheckpoint[]>): string[] {
  return files.map((file) => {
    const seen = [...witnessed.values()].map((ofChain) => ofChain.filter((entry) => entry.file === file).length).filter((count) => count > 0);
    const checkpoints = seen.reduce((sum, count) => sum + count, 0);
    return `witness ${file}: ${checkpoints} checkpoint${checkpoints === 1 ? '' : 's'} of ${seen.length} chain${seen.length === 1 ? '' : 's'}`;
  });
}

runCommand('audit-verify', async () => {
  const options = parseOptions(process.argv.slice(2), ['archive', 'chains'], USAGE, ['witness']);
  const { archive } = options;
  if (archive === '') throw new UsageError(`--archive must name a file, got ""\n${USAGE}`);
  if (archive !== undefined && (options.chains !== undefined || options.witness !== undefined)) {
    throw new UsageError(`--archive checks an archive file; --chains and --witness check the store: give one or the other\n${USAGE}`);
  }
  const given = options.witness?.flatMap((value) => value.split(',')).map((file) => file.trim());
  if (given?.some((file) => file === '')) throw new UsageError(`--witness must name a file, got ""\n${USAGE}`);
  const config = loadAuditConfig();
  const expected = expectedChains(config, options.chains);
  const publicKeys = loadTrustedPublicKeys(config);
  const store = await openAuditStore(config, { mustExist: true });
  try {
    if (archive !== undefined) {
      const results = await verifyArchive(store, archive, publicKeys);
      if (results.length === 0) print(`no audit records in ${archive}`);
      for (const result of results) print(describe(result, `chain ${result.chainId} in ${archive}`));
      return results.every((result) => result.ok) ? 0 : 1;
    }
    const witnessFiles = given ?? configuredWitnessFiles(config);
    const witnessed = await readWitnesses(witnessFiles);
    for (const line of describeWitnesses(witnessFiles, witnessed)) print(line);
    const results = await verifyChains(store, publicKeys, { expectedChains: expected, witnessed });
    if (results.length === 0) print(`no audit chains in ${store.location}`);
    for (const result of results) print(describe(result, `chain ${result.chainId}`));
    return results.every((result) => result.ok) ? 0 : 1;
  } finally {
    await store.close();
  }
});
