import { verifyArchive } from '../audit/archive';
import { UsageError, parseOptions, runCommand } from '../audit/command';
import { configuredWitnessFiles, defaultExpectedChains, loadAuditConfig, loadTrustedPublicKeys, parseChainList, type AuditConfig } from '../audit/config';
import { closeDepartmentLogs, departmentPublicKeys, openDepartmentLog, openDepartmentLogs, type DepartmentLog } from '../audit/department-logs';
import { GATEWAY_STORE_LABEL, mergeWitnesses, readDepartmentWitnesses, readGatewayWitnesses } from '../audit/department-witnesses';
import { keyIdOf } from '../audit/signing';
import { openAuditStore } from '../audit/open-store';
import { printable } from '../audit/printable';
import { verifyChains, type ChainVerification } from '../audit/verify';
import { readWitnesses, type WitnessedCheckpoint } from '../audit/witness';
import { witnessLags, type WitnessLag } from '../audit/witness-lag';
import { listDepartments } from '../lib/composition';

/**
 * `npm run audit:verify -- [--chains ID,...] [--witness FILE]... [--department-log NAME]...`:
 * checks every chain in the audit store and prints one line per chain; with
 * `--archive FILE`, checks an archive file against the store's anchors instead; with
 * `--department NAME`, checks that department's own access log instead, with the keys the
 * departments' trust list holds for it. Exits 0 when all verify, 1 when one does not
 * (its line names the first bad sequence and what is wrong there), 2 for a bad argument or
 * configuration. The store is the one the gateway's environment names.
 *
 * Chains that must exist: `--chains`, else PROOFLESS_AUDIT_EXPECTED_CHAINS, else this
 * instance's own chain (PROOFLESS_AUDIT_CHAIN_ID) when the store is its SQLite file; and
 * every chain a witness saw. Witnesses: each `--witness` (repeatable, or comma-separated),
 * else PROOFLESS_AUDIT_WITNESS_FILE when that file exists; and the departments' access
 * logs (issue 18): every gateway checkpoint a department recorded is a witnessed one
 * (department-witnesses.ts). Each `--department-log` (repeatable, or comma-separated),
 * else every department in schema/departments.json whose log exists.
 *
 * For each department log read, and each chain of the store with a checkpoint, one line
 * says which checkpoint the department last witnessed and how far the store's latest is
 * beyond it (witness-lag.ts): a gateway that stopped sending checkpoints shows there.
 * With `--max-unwitnessed-seconds N`, a department owed a checkpoint for more than N
 * seconds (from the first checkpoint it was owed to the store's latest) fails: exit 1.
 */

const USAGE = 'usage: npm run audit:verify -- [--chains ID,...] [--witness FILE]... [--department-log NAME]... [--max-unwitnessed-seconds N] | --archive FILE | --department NAME';

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
  return files.map((file) => describeWitnessCount(file, witnessed, (seenIn) => seenIn === file));
}

function describeWitnessCount(label: string, witnessed: ReadonlyMap<string, readonly WitnessedCheckpoint[]>, isFrom: (file: string) => boolean): string {
  const seen = [...witnessed.values()].map((ofChain) => ofChain.filter((entry) => isFrom(entry.file)).length).filter((count) => count > 0);
  const checkpoints = seen.reduce((sum, count) => sum + count, 0);
  return `witness ${label}: ${checkpoints} checkpoint${checkpoints === 1 ? '' : 's'} of ${seen.length} chain${seen.length === 1 ? '' : 's'}`;
}

/** One line on a department's witness of a gateway chain; whether it is more than `maxSeconds` behind. */
function describeLag(lag: WitnessLag, maxSeconds: number | null): { line: string; isTooFar: boolean } {
  const { department, chainId, lastWitnessed, latest, owed, unwitnessedSeconds } = lag;
  const witnessed = lastWitnessed ? `${department} last witnessed checkpoint ${lastWitnessed.sequence} of chain ${chainId} at ${lastWitnessed.time}` : `${department} witnessed no checkpoint of chain ${chainId}`;
  if (lastWitnessed && lastWitnessed.sequence === latest.sequence) return { line: `${witnessed}: the latest the gateway's store holds`, isTooFar: false };
  // Beyond the store's latest: the chain's own line says what is wrong (a tail cut, or a forged witness).
  if (lastWitnessed && lastWitnessed.sequence > latest.sequence) return { line: `${witnessed}, beyond the latest the gateway's store holds (${latest.sequence})`, isTooFar: false };
  const unwitnessed = lastWitnessed ? `records after checkpoint ${lastWitnessed.sequence} are not witnessed` : 'none of its records is witnessed';
  const start = `${witnessed}; the gateway's store holds checkpoint ${latest.sequence} at ${latest.time}: ${unwitnessed}`;
  if (!owed || unwitnessedSeconds === null) return { line: `${start}; ${department} was not called after it, so none was owed to it`, isTooFar: false };
  const isTooFar = maxSeconds !== null && unwitnessedSeconds > maxSeconds;
  return {
    line: `${start}; ${department} was called after it and owed checkpoint ${owed.sequence} of ${owed.time}, ${unwitnessedSeconds} s before the latest` +
      (isTooFar ? `: more than --max-unwitnessed-seconds ${maxSeconds}` : ''),
    isTooFar,
  };
}

/** `--max-unwitnessed-seconds`: a whole number of seconds, or null when not given. */
function maxUnwitnessedSeconds(value: string | undefined): number | null {
  if (value === undefined) return null;
  if (!/^\d{1,9}$/.test(value)) throw new UsageError(`--max-unwitnessed-seconds must be a whole number of seconds, got "${value}"\n${USAGE}`);
  return Number(value);
}

/** The department named on the command line, checked against schema/departments.json. */
function departmentNames(values: readonly string[], flag: string): string[] {
  const known = listDepartments().map((department) => department.name);
  const names = values.flatMap((value) => value.split(',')).map((name) => name.trim());
  for (const name of names) {
    if (!known.includes(name)) throw new UsageError(`${flag} must be one of ${known.join(', ')} (schema/departments.json), got "${name}"\n${USAGE}`);
  }
  return names;
}

/**
 * `--department NAME`: the department's own access log, verified with the keys the
 * departments' trust list holds for it, and against every checkpoint of it the gateway
 * recorded when the gateway's store exists (department-witnesses.ts).
 */
async function verifyDepartmentLog(department: string): Promise<number> {
  const publicKeys = departmentPublicKeys(process.env, department);
  if (publicKeys.length === 0) throw new UsageError(`the departments' trust list holds no key of ${department}: its log's checkpoints cannot be verified`);
  const config = loadAuditConfig();
  let witnessed = new Map<string, WitnessedCheckpoint[]>();
  const gateway = await openAuditStore(config, { mustExist: true }).catch((error: Error) => {
    // A department's operator may have no gateway store at hand: the log is then verified on its own.
    if (error.message.startsWith('no audit log')) return null;
    throw error;
  });
  if (gateway) {
    try {
      witnessed = await readGatewayWitnesses(gateway, new Set(publicKeys.map(keyIdOf)));
    } finally {
      await gateway.close();
    }
    print(describeWitnessCount(GATEWAY_STORE_LABEL, witnessed, () => true));
  } else {
    print(`no gateway audit store at ${config.databaseUrl === null ? config.sqliteFile : 'the configured database'}: the log is verified without the checkpoints the gateway witnessed`);
  }
  const log = await openDepartmentLog(process.env, department);
  try {
    const results = await verifyChains(log.store, publicKeys, { witnessed });
    if (results.length === 0) print(`no chains in ${log.label} (${log.store.location})`);
    for (const result of results) print(describe(result, `${log.label}: chain ${result.chainId}`));
    return results.every((result) => result.ok) ? 0 : 1;
  } finally {
    await log.store.close();
  }
}

runCommand('audit-verify', async () => {
  const options = parseOptions(process.argv.slice(2), ['archive', 'chains', 'department', 'max-unwitnessed-seconds'], USAGE, ['witness', 'department-log']);
  const maxSeconds = maxUnwitnessedSeconds(options['max-unwitnessed-seconds']);
  const { archive } = options;
  if (archive === '') throw new UsageError(`--archive must name a file, got ""\n${USAGE}`);
  const modes = [archive !== undefined, options.department !== undefined].filter(Boolean).length;
  const storeOptions = options.chains !== undefined || options.witness !== undefined || options['department-log'] !== undefined || maxSeconds !== null;
  if (modes > 1 || (modes === 1 && storeOptions)) {
    throw new UsageError(`--archive checks an archive file, --department a department's access log; --chains, --witness, --department-log and --max-unwitnessed-seconds check the store: give one of them\n${USAGE}`);
  }
  if (options.department !== undefined) return verifyDepartmentLog(departmentNames([options.department], '--department')[0]);
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
    const fromFiles = await readWitnesses(witnessFiles);
    for (const line of describeWitnesses(witnessFiles, fromFiles)) print(line);
    const named = options['department-log'] === undefined ? undefined : departmentNames(options['department-log'], '--department-log');
    let logs: DepartmentLog[] = [];
    let fromDepartments: Map<string, WitnessedCheckpoint[]>;
    try {
      logs = await openDepartmentLogs(process.env, listDepartments().map((department) => department.name), named);
      fromDepartments = await readDepartmentWitnesses(logs);
    } finally {
      await closeDepartmentLogs(logs);
    }
    for (const log of logs) print(describeWitnessCount(log.label, fromDepartments, (file) => file.startsWith(`${log.label},`)));
    const witnessed = mergeWitnesses(fromFiles, fromDepartments);
    const results = await verifyChains(store, publicKeys, { expectedChains: expected, witnessed });
    if (results.length === 0) print(`no audit chains in ${store.location}`);
    for (const result of results) print(describe(result, `chain ${result.chainId}`));
    let isWitnessTooFar = false;
    for (const log of logs) {
      const ofLog = new Map([...fromDepartments].map(([chainId, seen]) => [chainId, seen.filter((entry) => entry.file.startsWith(`${log.label},`))]));
      for (const lag of await witnessLags(store, log.department, ofLog)) {
        const { line, isTooFar } = describeLag(lag, maxSeconds);
        print(line);
        isWitnessTooFar ||= isTooFar;
      }
    }
    return results.every((result) => result.ok) && !isWitnessTooFar ? 0 : 1;
  } finally {
    await store.close();
  }
});
