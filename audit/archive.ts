import type { KeyObject } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { link, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { checkStoredRecord, type StoredRecord } from './entry';
import { CorruptRecordError, RetentionPeriodError } from './errors';
import { INSTANT_EXAMPLE, parseInstant } from './instant';
import { readJsonLines, writeJsonLines } from './json-lines';
import { checkAnchorSignature, loadSigningKey, signAnchor, trustedKeys, type TrustedKeys } from './signing';
import type { AuditStore, SignedAnchor } from './store';
import { CHAIN_START, ChainChecker, describeSignature, verifyChains, type ChainVerification, type VerifyOptions } from './verify';

export const DEFAULT_RETENTION_YEARS = 3;

export interface ArchiveOptions {
  store: AuditStore;
  /** Archive records whose time is before this ISO instant. */
  before: string;
  /** The JSON Lines file to write; it must not exist yet. */
  out: string;
  /** Ed25519 private key PEM that signs the anchors. */
  signingKeyFile: string;
  /** The keys the store's chains must verify with before anything is removed. */
  publicKeys: readonly KeyObject[];
  /**
   * What else they must verify with: the witnesses' checkpoints and the chains that must
   * exist (verify.ts), as `audit:verify` checks them. Required, so no caller archives
   * without them by leaving them out: without the witness, a tail cut or rewritten with
   * its checkpoints verifies, and archiving it would sign the tampering into an anchor.
   */
  verifyOptions: VerifyOptions;
  /** Records younger than this stay in the store whatever `before` says; default 3 (PIPL Art. 56). */
  retentionYears?: number;
  /** Stamps the anchors and dates the retention period; default `() => new Date()`. */
  clock?: () => Date;
}

export interface ArchivedChain {
  chainId: string;
  firstArchivedSequence: number;
  lastArchivedSequence: number;
  /** The sequence the chain now starts at in the store. */
  firstKeptSequence: number;
}

/**
 * Moves old records out of the store: writes them, with their hashes, to `out` as JSON
 * Lines (chain by chain, in sequence order), makes the file durable, then per chain
 * deletes them and stores a signed anchor naming the first kept sequence and the hash it
 * is chained to, so the rest of the chain still verifies and the file verifies against
 * the anchor (`verifyArchive`).
 *
 * A chain is cut before its first record at or after `before`: records are appended
 * when their operation finishes, so times are not quite in sequence order, and the cut
 * must leave a contiguous chain. Nothing is removed unless every chain verifies first,
 * with the witnesses and the chains that must exist, because archiving a tampered chain
 * would sign the tampering into an anchor (and every chain ID is then one a gateway can
 * write, so the IDs in the verification are the store's own). A crash
 * after the file is written and before the records are deleted leaves them in the
 * store, to be archived again.
 */
export async function archiveRecords(options: ArchiveOptions): Promise<ArchivedChain[]> {
  const { store } = options;
  const before = parseInstant(options.before);
  if (before === null) throw new TypeError(`before must be an ISO instant such as ${INSTANT_EXAMPLE}, got "${options.before}"`);
  const clock = options.clock ?? (() => new Date());
  const retentionYears = options.retentionYears ?? DEFAULT_RETENTION_YEARS;
  const now = clock();
  const keptFrom = new Date(now);
  keptFrom.setUTCFullYear(keptFrom.getUTCFullYear() - retentionYears);
  if (before > keptFrom.toISOString()) {
    throw new RetentionPeriodError(
      `before ${before} is within the retention period of ${retentionYears} years: only records before ${keptFrom.toISOString()} may be archived`,
    );
  }
  const key = loadSigningKey(options.signingKeyFile);

  const verification = await verifyChains(store, options.publicKeys, options.verifyOptions);
  const bad = verification.find((chain) => !chain.ok);
  if (bad) {
    throw new Error(`chain ${bad.chainId} does not verify (${bad.problem}); nothing was archived`);
  }

  const plans: ArchivedChain[] = [];
  for (const chain of verification) {
    const firstSequence = chain.lastSequence - chain.records + 1;
    const firstKeptSequence = (await store.firstSequenceAtOrAfter(chain.chainId, before)) ?? chain.lastSequence + 1;
    if (firstKeptSequence > firstSequence) {
      plans.push({ chainId: chain.chainId, firstArchivedSequence: firstSequence, lastArchivedSequence: firstKeptSequence - 1, firstKeptSequence });
    }
  }
  if (plans.length === 0) return [];

  const lastHashes = await writeArchive(store, options.out, plans);
  for (const plan of plans) {
    const anchor = signAnchor(
      { chainId: plan.chainId, firstKeptSequence: plan.firstKeptSequence, previousHash: lastHashes.get(plan.chainId) as string, time: now.toISOString() },
      key,
    );
    await store.removeArchived(anchor);
  }
  return plans;
}

/**
 * Writes the planned records to `<out>.partial`, fsyncs it, then links it to `out`, so
 * `out` appears only complete and an existing file is never replaced (link fails where
 * rename would overwrite). Returns each chain's last archived hash.
 */
async function writeArchive(store: AuditStore, out: string, plans: readonly ArchivedChain[]): Promise<Map<string, string>> {
  const lastHashes = new Map<string, string>();
  const partial = `${out}.partial`;
  if (existsSync(out)) throw new Error(`${out} already exists: an archive is never overwritten`);
  async function* planned(): AsyncGenerator<StoredRecord> {
    for (const plan of plans) {
      let after = plan.firstArchivedSequence - 1;
      while (after < plan.lastArchivedSequence) {
        const page = await store.readChain(plan.chainId, after, Math.min(1000, plan.lastArchivedSequence - after));
        if (page.length === 0) throw new Error(`chain ${plan.chainId} lost records ${after + 1} to ${plan.lastArchivedSequence} while being archived`);
        yield* page;
        after = page[page.length - 1].sequence;
        lastHashes.set(plan.chainId, page[page.length - 1].hash);
      }
    }
  }
  // `<out>.partial` is this command's own: one left by a crashed run is simply rewritten.
  const stream = createWriteStream(partial, { flags: 'w', mode: 0o600 });
  try {
    await writeJsonLines(stream, planned());
    stream.end();
    await finished(stream);
    // fsync reaches the file's data through any descriptor, once the stream's own is closed.
    await syncPath(partial, 'r+');
    await link(partial, out).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'EEXIST' ? new Error(`${out} already exists: an archive is never overwritten`) : error;
    });
    await syncPath(path.dirname(out), 'r');
  } finally {
    stream.destroy();
    await rm(partial, { force: true });
  }
  return lastHashes;
}

/** fsync of a file, or of a folder to make a new entry in it durable (a synced file can otherwise vanish on power loss). */
async function syncPath(target: string, flags: 'r' | 'r+'): Promise<void> {
  const handle = await open(target, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Checks an archive file against itself and against the store it was cut from: hashes,
 * links and contiguous sequences within the file; its first record is sequence 1 or
 * follows an earlier archive's anchor; its last record is what the anchor left in the
 * store names; the store's checkpoints over the archived range match; every anchor used
 * is signed by a trusted key.
 */
export async function verifyArchive(store: AuditStore, file: string, publicKeys: readonly KeyObject[]): Promise<ChainVerification[]> {
  const keys = trustedKeys(publicKeys);
  const results: ChainVerification[] = [];
  let current: ArchivedChainCheck | null = null;
  const finishCurrent = async () => {
    if (current) results.push(await current.finish());
  };
  for await (const { line, value } of readJsonLines(file)) {
    let record: StoredRecord | null = null;
    let unreadable: string | null = null;
    try {
      if (value === undefined) unreadable = 'not JSON';
      else if (typeof value !== 'object' || value === null || Array.isArray(value)) unreadable = 'not a record';
      else record = checkStoredRecord(value as Record<string, unknown>);
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw error;
      unreadable = error.what;
    }
    if (record && record.chainId !== current?.chainId) {
      if (results.some((r) => r.chainId === record?.chainId)) throw new Error(`${file} line ${line}: chain ${record.chainId} appears twice`);
      await finishCurrent();
      current = await ArchivedChainCheck.begin(store, record, keys);
    }
    if (!current) throw new Error(`${file} line ${line}: not an audit record (${unreadable})`);
    if (record) current.add(record);
    else current.unreadable(line, unreadable as string);
  }
  await finishCurrent();
  return results;
}

/** One chain's stretch of an archive file, checked as it is read. */
class ArchivedChainCheck {
  /** The last line's sequence, and its hash unless the line was unreadable. */
  private last: { sequence: number; hash: string | null };

  private constructor(
    readonly chainId: string,
    private readonly checker: ChainChecker,
    private readonly anchors: readonly SignedAnchor[],
    private readonly keys: TrustedKeys,
    first: StoredRecord,
  ) {
    this.last = { sequence: first.sequence - 1, hash: first.previousHash };
  }

  static async begin(store: AuditStore, first: StoredRecord, keys: TrustedKeys): Promise<ArchivedChainCheck> {
    const checker = new ChainChecker(first.chainId, await store.readCheckpoints(first.chainId), keys);
    const check = new ArchivedChainCheck(first.chainId, checker, await store.readAnchors(first.chainId), keys, first);
    if (first.sequence === 1) {
      checker.start(CHAIN_START);
    } else {
      const earlier = check.anchorAt(first.sequence);
      if (!earlier) checker.report(first.sequence, `record ${first.sequence}: no archive anchor says the chain was cut there`);
      // Without an anchor the file is still checked from its own first record on.
      checker.start(earlier ? { sequence: earlier.firstKeptSequence, previousHash: earlier.previousHash } : first);
    }
    return check;
  }

  add(record: StoredRecord): void {
    this.checker.add(record);
    this.last = { sequence: record.sequence, hash: record.hash };
  }

  /** A line that is not a record stands where the next record should be. */
  unreadable(line: number, what: string): void {
    const sequence = this.last.sequence + 1;
    this.checker.addUnreadable(sequence, `line ${line}: ${what}`);
    this.last = { sequence, hash: null };
  }

  async finish(): Promise<ChainVerification> {
    const { sequence, hash } = this.last;
    const anchor = this.anchorAt(sequence + 1);
    if (!anchor) {
      this.checker.report(sequence, `record ${sequence}: no archive anchor in the store continues the chain at ${sequence + 1}`);
    } else if (hash !== null && anchor.previousHash !== hash) {
      this.checker.report(sequence, `record ${sequence}: the archive anchor at ${sequence + 1} names another hash`);
    }
    return this.checker.finish({ checkpointsMayFollow: true });
  }

  /** The anchor at `sequence`, reporting it when its signature does not check out. */
  private anchorAt(sequence: number): SignedAnchor | null {
    const anchor = this.anchors.find((a) => a.firstKeptSequence === sequence);
    if (!anchor) return null;
    const signature = checkAnchorSignature(anchor, this.keys);
    if (signature !== 'valid') this.checker.report(sequence, `archive anchor at ${sequence}: ${describeSignature(signature, anchor.keyId)}`);
    return anchor;
  }
}
