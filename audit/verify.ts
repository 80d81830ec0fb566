import type { KeyObject } from 'node:crypto';
import { GENESIS_HASH, recordHash } from './canonical';
import { CHAIN_ID_RULE, describeChainId, isChainId, type StoredRecord } from './entry';
import { CorruptRecordError } from './errors';
import { printable } from './printable';
import { checkAnchorSignature, checkCheckpointSignature, checkpointDigest, trustedKeys, type SignatureCheck, type TrustedKeys } from './signing';
import type { AuditStore, CitizenIndexEntry, SignedCheckpoint } from './store';
import type { WitnessedCheckpoint } from './witness';

export interface ChainVerification {
  /** As describeChainId shows it: a chain ID that is not one a gateway can write is quoted, its control characters escaped. */
  chainId: string;
  ok: boolean;
  /** Records present in the store for this chain. */
  records: number;
  /** Sequence of the chain's last record; where the last archive cut it when none is left; 0 for none ever. */
  lastSequence: number;
  /** The highest checkpoint in the store whose signature and hash both check out, or null. */
  lastCheckpoint: number | null;
  /** Where the first problem is: the lowest sequence that is missing, altered or not what was signed; absent for a chain missing altogether. */
  firstBadSequence?: number;
  /**
   * The first problem in words, naming sequence numbers only (never an ID number), and
   * beginning with what it found wrong: a record, a checkpoint, the citizen index, or the
   * chain itself ("chain missing ...", "chain ID malformed ..."). Text read back from the
   * store in it is printable (printable.ts): no control character reaches a terminal.
   */
  problem?: string;
}

export interface VerifyOptions {
  /**
   * Chains that must be in the store, each with why it is expected, which a missing
   * chain's problem quotes ("--chains names it"); default none.
   */
  expectedChains?: ReadonlyMap<string, string>;
  /** What witness files saw (witness.ts `readWitnesses`): the store must hold all of it; default nothing. */
  witnessed?: ReadonlyMap<string, readonly WitnessedCheckpoint[]>;
}

const PAGE_SIZE = 1000;

/**
 * How many of the last records' hashes a chain's check keeps, to name the record a link
 * skips back to: records added after a running gateway's head are found at its next
 * record, which is chained to its own head, a few records back.
 */
const RECENT_RECORDS = 1000;

/**
 * Checks every chain in the store against itself and against the signed checkpoints and
 * archive anchors, trusting only `publicKeys` (never keys found in the store):
 *  - every record's hash is recomputed from its contents (canonical.ts);
 *  - sequences run without gaps from 1, or from the latest archive anchor;
 *  - each record's previousHash is the hash of the record before it (or genesis / the anchor's);
 *  - each checkpoint and anchor is signed by a trusted key, and each checkpoint names the
 *    hash the record at its sequence has (a chain rewritten and re-hashed after the
 *    record it altered verifies on its own, not against a checkpoint signed before);
 *  - no checkpoint is beyond the last record: records after it were removed;
 *  - each linked checkpoint's predecessor is in the store, the very one it names
 *    (signing.ts): a checkpoint deleted shows as a gap at the next one; unlinked
 *    checkpoints come only before a chain's first linked one; a chain without unlinked
 *    ones has its opening checkpoint (sequence 0);
 *  - the citizen index (review by citizen) files each record under exactly the citizens
 *    its hashed `citizens` names, at its time;
 *  - every checkpoint a witness saw is in the store, the same one, and vouches for the
 *    record the store has at its sequence; every chain a witness saw, or `expectedChains`
 *    names, is in the store;
 *  - every chain's ID is one a gateway can write (entry.ts): any other was written
 *    straight into the store, and is reported with its ID quoted and escaped.
 * Without a witness, records after the last checkpoint the store still holds can be cut
 * or rewritten without trace by someone who also deletes the checkpoints after them,
 * while no gateway of the chain is running (README, "What an intruder can still do").
 */
export async function verifyChains(store: AuditStore, publicKeys: readonly KeyObject[], options: VerifyOptions = {}): Promise<ChainVerification[]> {
  const keys = trustedKeys(publicKeys);
  const witnessed = options.witnessed ?? new Map<string, readonly WitnessedCheckpoint[]>();
  const stored = await store.listChains();
  const results: ChainVerification[] = [];
  for (const chainId of stored) {
    const checker = new ChainChecker(chainId, await store.readCheckpoints(chainId), keys, witnessed.get(chainId));
    const anchors = await store.readAnchors(chainId);
    for (const anchor of anchors) {
      const signature = checkAnchorSignature(anchor, keys);
      if (signature !== 'valid') checker.report(anchor.firstKeptSequence, `archive anchor at ${anchor.firstKeptSequence}: ${describeSignature(signature, anchor.keyId)}`);
    }
    const latest = anchors.at(-1);
    checker.start(latest ? { sequence: latest.firstKeptSequence, previousHash: latest.previousHash } : CHAIN_START);
    await checkRecords(store, chainId, checker);
    results.push(checker.finish({ checkpointsMayFollow: false }));
  }
  const missing = new Map<string, string>();
  // A chain the store lacks is missing on the word of a checkpoint of it that verifies: a witness's unsigned word (a department's
  // operator writes its own log) would otherwise have the store accused of losing a whole chain (test/attack-both-sides.test.ts).
  const unvouched = new Map<string, string>();
  for (const [chainId, seen] of witnessed) {
    const vouched = seen.filter(({ checkpoint }) => checkCheckpointSignature(checkpoint, keys) === 'valid');
    if (vouched.length > 0) missing.set(chainId, `witness ${vouched[0].file} saw checkpoint ${vouched.at(-1)?.checkpoint.sequence} of it`);
    else {
      const [first] = seen;
      const signature = checkCheckpointSignature(first.checkpoint, keys) as Exclude<SignatureCheck, 'valid'>;
      unvouched.set(chainId, `witness ${first.file} holds checkpoint ${first.checkpoint.sequence} of it, which does not verify (${describeSignature(signature, first.checkpoint.keyId)}): the witness is wrong, not the store`);
    }
  }
  for (const [chainId, why] of options.expectedChains ?? []) if (!missing.has(chainId)) missing.set(chainId, why);
  for (const [chainId, why] of missing) {
    if (stored.includes(chainId)) continue;
    results.push({
      chainId: describeChainId(chainId), ok: false, records: 0, lastSequence: 0, lastCheckpoint: null,
      problem: printable(`chain missing: the store holds no record, checkpoint or anchor of it, but ${why}`),
    });
  }
  for (const [chainId, why] of unvouched) {
    if (stored.includes(chainId) || missing.has(chainId)) continue;
    results.push({ chainId: describeChainId(chainId), ok: false, records: 0, lastSequence: 0, lastCheckpoint: null, problem: printable(`not in the store, and ${why}`) });
  }
  return results.sort((a, b) => (a.chainId < b.chainId ? -1 : a.chainId > b.chainId ? 1 : 0));
}

/** Feeds the chain's records to `checker` page by page, and checks the citizen index of each page against them. */
async function checkRecords(store: AuditStore, chainId: string, checker: ChainChecker): Promise<void> {
  let afterSequence = 0;
  let indexedThrough = 0;
  /** Compares the index rows after `indexedThrough` up to `through` (to the end when null) with the readable records there. */
  const checkIndex = async (records: readonly StoredRecord[], through: number | null, unreadable: number | null) => {
    const rows = await store.readCitizenIndex(chainId, indexedThrough, through);
    for (const problem of citizenIndexProblems(records, rows, unreadable)) {
      // Rows left behind by deleted records: the checkpoint past the cut, when there is one, says more.
      if (problem.isOrphan) checker.reportUnlessExplained(problem.sequence, problem.text);
      else checker.report(problem.sequence, problem.text);
    }
    if (through !== null) indexedThrough = through;
  };
  for (;;) {
    let page: StoredRecord[];
    try {
      page = await store.readChain(chainId, afterSequence, PAGE_SIZE);
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw error;
      // Read on one record at a time to the unreadable one, report it and step over it.
      const { readable, unreadable } = await readUpToUnreadable(store, chainId, afterSequence, checker);
      if (!Number.isSafeInteger(unreadable.sequence)) {
        await checkIndex(readable, null, null);
        return;
      }
      checker.addUnreadable(unreadable.sequence, unreadable.what);
      await checkIndex(readable, unreadable.sequence, unreadable.sequence);
      afterSequence = unreadable.sequence;
      continue;
    }
    for (const record of page) checker.add(record);
    const isLastPage = page.length < PAGE_SIZE;
    await checkIndex(page, isLastPage ? null : page[page.length - 1].sequence, null);
    if (isLastPage) return;
    afterSequence = page[page.length - 1].sequence;
  }
}

/** Feeds `checker` the readable records after `afterSequence`; returns them and the error of the first unreadable one. */
async function readUpToUnreadable(
  store: AuditStore,
  chainId: string,
  afterSequence: number,
  checker: ChainChecker,
): Promise<{ readable: StoredRecord[]; unreadable: CorruptRecordError }> {
  const readable: StoredRecord[] = [];
  for (let after = afterSequence; ;) {
    try {
      const [record] = await store.readChain(chainId, after, 1);
      if (!record) throw new Error(`chain ${chainId} changed while being verified: an unreadable record after ${after} is gone`);
      checker.add(record);
      readable.push(record);
      after = record.sequence;
    } catch (error) {
      if (error instanceof CorruptRecordError) return { readable, unreadable: error };
      throw error;
    }
  }
}

/**
 * What is wrong with the citizen index of these records: citizens a record names that the
 * index lacks (review by citizen would not find the record), citizens the index files it
 * under that it does not name (review would show it under someone it never touched), a
 * time other than the record's (review of a period would miss it), and rows for records
 * the store does not have. Counts only: no ID number is ever put in a message.
 */
function citizenIndexProblems(
  records: readonly StoredRecord[],
  rows: readonly CitizenIndexEntry[],
  unreadable: number | null,
): { sequence: number; text: string; isOrphan: boolean }[] {
  const rowsBySequence = new Map<number, CitizenIndexEntry[]>();
  for (const row of rows) {
    if (row.sequence === unreadable) continue;
    rowsBySequence.set(row.sequence, [...(rowsBySequence.get(row.sequence) ?? []), row]);
  }
  const problems: { sequence: number; text: string; isOrphan: boolean }[] = [];
  for (const record of records) {
    const entries = rowsBySequence.get(record.sequence) ?? [];
    rowsBySequence.delete(record.sequence);
    const named = new Set(record.citizens);
    const indexed = new Set(entries.map((entry) => entry.idNumber));
    const lacking = [...named].filter((idNumber) => !indexed.has(idNumber)).length;
    const strangers = new Set(entries.filter((entry) => !named.has(entry.idNumber)).map((entry) => entry.idNumber)).size;
    const misdated = new Set(entries.filter((entry) => named.has(entry.idNumber) && entry.time !== record.time).map((entry) => entry.idNumber)).size;
    const s = record.sequence;
    const faults = [
      lacking > 0 ? `lacks ${lacking} of record ${s}'s citizens` : '',
      strangers > 0 ? `files record ${s} under ${citizens(strangers)} it does not name` : '',
      misdated > 0 ? `files record ${s} at another time than its own under ${citizens(misdated)}` : '',
    ].filter((fault) => fault !== '');
    if (faults.length > 0) problems.push({ sequence: s, text: `citizen index ${faults.join(' and ')}`, isOrphan: false });
  }
  for (const [sequence, entries] of rowsBySequence) {
    const count = new Set(entries.map((entry) => entry.idNumber)).size;
    problems.push({ sequence, text: `citizen index files record ${sequence} under ${citizens(count)}, but the store has no record ${sequence}`, isOrphan: true });
  }
  return problems;
}

function citizens(count: number): string {
  return `${count} citizen${count === 1 ? '' : 's'}`;
}

/** Where a chain begins when nothing was archived. */
export const CHAIN_START = { sequence: 1, previousHash: GENESIS_HASH };

export function describeSignature(check: Exclude<SignatureCheck, 'valid'>, keyId: string): string {
  return check === 'invalid' ? 'signature invalid' : `signed by key ${printable(String(keyId).slice(0, 16))}, which is not trusted`;
}

/** A checkpoint a record is compared with: from the store, or only from a witness (named in messages). */
interface Voucher {
  checkpoint: SignedCheckpoint;
  /** Null for the store's own; `witness FILE` for one only a witness holds. */
  source: string | null;
}

/**
 * Walks one chain's records in sequence order and keeps the lowest-numbered problem.
 * Shared by store verification and archive verification (archive.ts).
 */
export class ChainChecker {
  /** The store's checkpoints, and those only a witness holds, by sequence: what records are compared with. */
  private readonly vouchers = new Map<number, Voucher>();
  /** The next sequence and the hash it must be chained to; null after an unreadable record. */
  private expected: { sequence: number; previousHash: string | null } = CHAIN_START;
  /** The last record's sequence, readable or not; null before the first. */
  private lastSequence: number | null = null;
  /** The last sequence a valid checkpoint (or the chain's start) vouches for: a rewrite began after it. */
  private lastVouchedSequence = 0;
  private records = 0;
  private lastCheckpoint: number | null = null;
  private problem: { sequence: number; text: string } | null = null;
  private readonly unexplained: { sequence: number; text: string }[] = [];
  /** The sequences of the last RECENT_RECORDS records by hash, oldest first: what a record chained past added ones names. */
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly chainId: string,
    private readonly checkpoints: readonly SignedCheckpoint[],
    private readonly keys: TrustedKeys,
    witnessed: readonly WitnessedCheckpoint[] = [],
  ) {
    for (const checkpoint of checkpoints) this.vouchers.set(checkpoint.sequence, { checkpoint, source: null });
    for (const seen of witnessed) this.addWitnessed(seen);
  }

  report(sequence: number, text: string): void {
    if (!this.problem || sequence < this.problem.sequence) this.problem = { sequence, text };
  }

  /** A problem that is only a consequence where `finish` finds the cause at the same sequence: reported after its checks. */
  reportUnlessExplained(sequence: number, text: string): void {
    this.unexplained.push({ sequence, text });
  }

  /** Where the first record must be and what it must be chained to (genesis, or an archive anchor). */
  start(expected: { sequence: number; previousHash: string }): void {
    this.expected = expected;
    this.lastVouchedSequence = expected.sequence - 1;
    const beforeStart = this.vouchers.get(expected.sequence - 1);
    if (beforeStart && this.isValid(beforeStart) && beforeStart.checkpoint.hash !== expected.previousHash) {
      this.report(expected.sequence, `${describeCheckpoint(beforeStart)}: the archive anchor says record ${expected.sequence - 1} had another hash`);
    }
    for (const c of this.checkpoints) if (c.sequence < expected.sequence - 1) this.checkSignature(c);
  }

  add(record: StoredRecord): void {
    this.records += 1;
    const sequence = record.sequence;
    const isSuccessor = this.checkSequence(sequence);
    const isIntact = recordHash(record) === record.hash;
    if (!isIntact) this.report(sequence, `record ${sequence}: hash does not match its contents`);
    // An altered record's previousHash says nothing about its predecessor.
    else if (isSuccessor && this.expected.previousHash !== null && record.previousHash !== this.expected.previousHash) this.reportBrokenLink(sequence, record.previousHash);
    const voucher = this.vouchers.get(sequence);
    if (voucher && this.isValid(voucher)) {
      if (voucher.checkpoint.hash === record.hash) {
        this.lastVouchedSequence = sequence;
        if (voucher.source === null) this.lastCheckpoint = sequence;
      } else {
        const firstSuspect = this.lastVouchedSequence + 1;
        const suspects = firstSuspect === sequence ? '' : `: one of records ${firstSuspect} to ${sequence} was rewritten`;
        this.report(firstSuspect, `${describeCheckpoint(voucher)}: record ${sequence} differs from the one signed${suspects}`);
      }
    }
    this.lastSequence = sequence;
    this.expected = { sequence: sequence + 1, previousHash: record.hash };
    this.recent.set(record.hash, sequence);
    if (this.recent.size > RECENT_RECORDS) this.recent.delete(this.recent.keys().next().value as string);
  }

  /** A record present in the store that cannot be read as one: counted, reported, and the chain checked on after it. */
  addUnreadable(sequence: number, what: string): void {
    this.records += 1;
    this.checkSequence(sequence);
    this.report(sequence, `record ${sequence}: unreadable (${what})`);
    this.lastSequence = sequence;
    this.expected = { sequence: sequence + 1, previousHash: null };
  }

  /**
   * The result. `checkpointsMayFollow` is true for an archive, whose chain goes on in the
   * store; for the store itself a checkpoint past the last record means the tail was cut,
   * and the checkpoints' links are checked.
   */
  finish(options: { checkpointsMayFollow: boolean }): ChainVerification {
    const lastSequence = this.lastSequence ?? this.expected.sequence - 1;
    if (!options.checkpointsMayFollow) {
      const beyond = [...this.vouchers.values()].filter((v) => v.checkpoint.sequence > lastSequence && this.isValid(v));
      const furthest = beyond.sort((a, b) => a.checkpoint.sequence - b.checkpoint.sequence).at(-1);
      if (furthest) {
        const cut = this.lastSequence !== null
          ? `is past the last record ${lastSequence}: the tail was cut`
          : 'is past the last record: the chain has no records left';
        this.report(lastSequence + 1, `${describeCheckpoint(furthest)} ${cut}`);
      }
      this.checkLinks();
    }
    for (const { sequence, text } of this.unexplained) this.report(sequence, text);
    const result: ChainVerification = {
      chainId: describeChainId(this.chainId),
      ok: this.problem === null,
      records: this.records,
      lastSequence,
      lastCheckpoint: this.lastCheckpoint,
    };
    if (!isChainId(this.chainId)) {
      // Before anything found in it: no gateway wrote this chain, whatever its records say.
      return { ...result, ok: false, problem: `chain ID malformed: not ${CHAIN_ID_RULE}, so no gateway wrote this chain` };
    }
    if (this.problem) {
      result.firstBadSequence = this.problem.sequence;
      result.problem = printable(this.problem.text);
    }
    return result;
  }

  /**
   * A checkpoint a witness saw: it must be the store's checkpoint at its sequence. One the
   * store lacks still vouches for the record there, and for the tail it was past.
   */
  private addWitnessed({ checkpoint, file, line }: WitnessedCheckpoint): void {
    const { sequence } = checkpoint;
    const signature = checkCheckpointSignature(checkpoint, this.keys);
    if (signature !== 'valid') {
      this.report(sequence, `checkpoint at ${sequence} in witness ${file} line ${line}: ${describeSignature(signature, checkpoint.keyId)}`);
      return;
    }
    const held = this.vouchers.get(sequence);
    if (held?.source === null) {
      if (checkpointDigest(held.checkpoint) !== checkpointDigest(checkpoint)) this.report(sequence, `checkpoint at ${sequence} is not the one witness ${file} saw`);
      return;
    }
    this.report(sequence, `checkpoint at ${sequence} is missing from the store: witness ${file} saw it`);
    if (!held) this.vouchers.set(sequence, { checkpoint, source: `witness ${file}` });
  }

  /**
   * Each linked checkpoint names the one before it, which must be in the store, the same
   * one; a chain's first linked checkpoint names none only when none is before it, and no
   * unlinked checkpoint comes after a linked one. A chain without unlinked checkpoints
   * must have its opening checkpoint (sequence 0): every gateway signs one when it opens
   * a new chain, so a chain without it had all its checkpoints deleted (a gateway
   * restarted on it then begins them anew) or was written straight into the store. A deleted checkpoint is reported where
   * what it vouched for begins, after the checkpoint before it that the store still holds.
   */
  private checkLinks(): void {
    // A checkpoint whose signature fails was reported as such; what it says about links is not to be believed.
    const signed = this.checkpoints.filter((c) => checkCheckpointSignature(c, this.keys) === 'valid');
    const bySequence = new Map(signed.map((c) => [c.sequence, c]));
    const firstLinked = signed.find((c) => c.previous !== undefined);
    // A chain a gateway opened begins with its opening checkpoint; only chains from before checkpoints were linked have unlinked ones instead.
    const isOpened = signed.some((c) => c.sequence === 0 && c.previous === null);
    if (!isOpened && !signed.some((c) => c.previous === undefined)) {
      this.report(1, 'checkpoint at 0, the chain\'s opening one, is missing: its checkpoints were deleted, or no gateway wrote the chain');
    }
    for (const c of signed) {
      if (c.previous === undefined) {
        if (firstLinked && c.sequence > firstLinked.sequence) {
          this.report(c.sequence, `checkpoint at ${c.sequence} is unlinked, but comes after the linked checkpoint at ${firstLinked.sequence}`);
        }
        continue;
      }
      if (c.previous === null) {
        const earlier = signed.find((other) => other.sequence < c.sequence);
        if (earlier) this.report(c.sequence, `checkpoint at ${c.sequence} names no checkpoint before it, but the store holds checkpoint ${earlier.sequence}`);
        continue;
      }
      const named = c.previous.sequence;
      const held = bySequence.get(named);
      if (held) {
        if (checkpointDigest(held) !== c.previous.digest) this.report(named, `checkpoint at ${named} is not the one checkpoint ${c.sequence} follows`);
        continue;
      }
      const kept = signed.filter((other) => other !== c && other.sequence < named).at(-1);
      const from = (kept?.sequence ?? 0) + 1;
      const unvouched = from > named ? '' : `: ${from === named ? `record ${named}` : `records ${from} to ${named}`} may have been cut or rewritten`;
      this.report(Math.min(from, named), `checkpoint at ${named} is missing (checkpoint ${c.sequence} follows it)${unvouched}`);
    }
  }

  /** True when `sequence` directly follows the previous record (or is the chain's first); reports a gap otherwise. */
  private checkSequence(sequence: number): boolean {
    const expected = this.expected.sequence;
    if (sequence === expected) return true;
    if (sequence < expected) {
      this.report(sequence, `record ${sequence}: out of place, the chain was expected to continue at ${expected}`);
    } else if (this.lastSequence === null) {
      this.report(expected, `${missing(expected, sequence - 1)}: the chain starts at ${sequence}`);
    } else {
      this.report(expected, `${missing(expected, sequence - 1)}: sequence jumps from ${expected - 1} to ${sequence}`);
    }
    return false;
  }

  /**
   * A record whose own hash checks out but whose previousHash is not its predecessor's hash
   * was chained to a predecessor that has since been replaced, contents and hash both, so
   * the predecessor is the altered one, unless a checkpoint vouches for it. Chained to an
   * earlier record instead, it was written when the records between were not there: they
   * were added (a gateway that finds records it did not write after its own chains its
   * next record to its own, audit/log.ts).
   */
  private reportBrokenLink(sequence: number, previousHash: string): void {
    const chainedTo = this.recent.get(previousHash);
    if (chainedTo !== undefined && chainedTo < sequence - 1) {
      const added = chainedTo + 1 === sequence - 1 ? `record ${chainedTo + 1} was added` : `records ${chainedTo + 1} to ${sequence - 1} were added`;
      this.report(chainedTo + 1, `${added}: record ${sequence} is chained to record ${chainedTo}`);
    } else if (this.lastSequence === null) {
      const start = sequence === 1 ? 'the genesis value' : 'the one the archive anchor names';
      this.report(sequence, `record ${sequence}: previousHash is not ${start}`);
    } else if (this.lastVouchedSequence === sequence - 1) {
      this.report(sequence, `record ${sequence}: previousHash is not the hash of record ${sequence - 1}, which a checkpoint vouches for`);
    } else {
      this.report(sequence - 1, `record ${sequence - 1} was rewritten: record ${sequence} is chained to a different hash`);
    }
  }

  /** Witnessed vouchers were checked as they were added; the store's are checked here. */
  private isValid(voucher: Voucher): boolean {
    return voucher.source !== null || this.checkSignature(voucher.checkpoint);
  }

  /** True for a validly signed checkpoint; reports one that is not. */
  private checkSignature(checkpoint: SignedCheckpoint): boolean {
    const check = checkCheckpointSignature(checkpoint, this.keys);
    if (check === 'valid') return true;
    this.report(checkpoint.sequence, `checkpoint at ${checkpoint.sequence}: ${describeSignature(check, checkpoint.keyId)}`);
    return false;
  }
}

/** "checkpoint at 8", or "checkpoint at 8 (witness FILE)" for one only a witness holds. */
function describeCheckpoint({ checkpoint, source }: Voucher): string {
  return `checkpoint at ${checkpoint.sequence}${source === null ? '' : ` (${source})`}`;
}

function missing(from: number, to: number): string {
  return from === to ? `record ${from} missing` : `records ${from} to ${to} missing`;
}
