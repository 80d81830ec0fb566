import type { KeyObject } from 'node:crypto';
import { GENESIS_HASH, recordHash } from './canonical';
import type { StoredRecord } from './entry';
import { CorruptRecordError } from './errors';
import { checkAnchorSignature, checkCheckpointSignature, trustedKeys, type SignatureCheck, type TrustedKeys } from './signing';
import type { AuditStore, SignedCheckpoint } from './store';

export interface ChainVerification {
  chainId: string;
  ok: boolean;
  /** Records present in the store for this chain. */
  records: number;
  /** Sequence of the chain's last record; where the last archive cut it when none is left; 0 for none ever. */
  lastSequence: number;
  /** The highest checkpoint whose signature and hash both check out, or null. */
  lastCheckpoint: number | null;
  /** Where the first problem is: the lowest sequence that is missing, altered or not what was signed. */
  firstBadSequence?: number;
  /** The first problem in words, naming sequence numbers only. */
  problem?: string;
}

const PAGE_SIZE = 1000;

/**
 * Checks every chain in the store against itself and against the signed checkpoints and
 * archive anchors, trusting only `publicKeys` (never keys found in the store):
 *  - every record's hash is recomputed from its contents (canonical.ts);
 *  - sequences run without gaps from 1, or from the latest archive anchor;
 *  - each record's previousHash is the hash of the record before it (or genesis / the anchor's);
 *  - each checkpoint and anchor is signed by a trusted key, and each checkpoint names the
 *    hash the record at its sequence has (a chain rewritten and re-hashed after the
 *    record it altered verifies on its own, not against a checkpoint signed before);
 *  - no checkpoint is beyond the last record: records after it were removed.
 * Records after the last checkpoint can be cut without trace: checkpoint often.
 */
export async function verifyChains(store: AuditStore, publicKeys: readonly KeyObject[]): Promise<ChainVerification[]> {
  const keys = trustedKeys(publicKeys);
  const results: ChainVerification[] = [];
  for (const chainId of await store.listChains()) {
    const checker = new ChainChecker(chainId, await store.readCheckpoints(chainId), keys);
    const anchors = await store.readAnchors(chainId);
    for (const anchor of anchors) {
      const signature = checkAnchorSignature(anchor, keys);
      if (signature !== 'valid') checker.report(anchor.firstKeptSequence, `archive anchor at ${anchor.firstKeptSequence}: ${describeSignature(signature, anchor.keyId)}`);
    }
    const latest = anchors.at(-1);
    checker.start(latest ? { sequence: latest.firstKeptSequence, previousHash: latest.previousHash } : CHAIN_START);
    let afterSequence = 0;
    for (;;) {
      let page: StoredRecord[];
      try {
        page = await store.readChain(chainId, afterSequence, PAGE_SIZE);
      } catch (error) {
        if (!(error instanceof CorruptRecordError)) throw error;
        // Read on one record at a time to the unreadable one, report it and step over it.
        const unreadable = await readUpToUnreadable(store, chainId, afterSequence, checker);
        if (!Number.isSafeInteger(unreadable.sequence)) break;
        checker.addUnreadable(unreadable.sequence, unreadable.what);
        afterSequence = unreadable.sequence;
        continue;
      }
      for (const record of page) checker.add(record);
      if (page.length < PAGE_SIZE) break;
      afterSequence = page[page.length - 1].sequence;
    }
    results.push(checker.finish({ checkpointsMayFollow: false }));
  }
  return results;
}

/** Feeds `checker` the readable records after `afterSequence` and returns the error of the first unreadable one. */
async function readUpToUnreadable(store: AuditStore, chainId: string, afterSequence: number, checker: ChainChecker): Promise<CorruptRecordError> {
  for (let after = afterSequence; ;) {
    try {
      const [record] = await store.readChain(chainId, after, 1);
      if (!record) throw new Error(`chain ${chainId} changed while being verified: an unreadable record after ${after} is gone`);
      checker.add(record);
      after = record.sequence;
    } catch (error) {
      if (error instanceof CorruptRecordError) return error;
      throw error;
    }
  }
}

/** Where a chain begins when nothing was archived. */
export const CHAIN_START = { sequence: 1, previousHash: GENESIS_HASH };

export function describeSignature(check: Exclude<SignatureCheck, 'valid'>, keyId: string): string {
  return check === 'invalid' ? 'signature invalid' : `signed by key ${keyId.slice(0, 16)}, which is not trusted`;
}

/**
 * Walks one chain's records in sequence order and keeps the lowest-numbered problem.
 * Shared by store verification and archive verification (archive.ts).
 */
export class ChainChecker {
  private readonly checkpointsBySequence: Map<number, SignedCheckpoint>;
  /** The next sequence and the hash it must be chained to; null after an unreadable record. */
  private expected: { sequence: number; previousHash: string | null } = CHAIN_START;
  /** The last record's sequence, readable or not; null before the first. */
  private lastSequence: number | null = null;
  /** The last sequence a valid checkpoint (or the chain's start) vouches for: a rewrite began after it. */
  private lastVouchedSequence = 0;
  private records = 0;
  private lastCheckpoint: number | null = null;
  private problem: { sequence: number; text: string } | null = null;

  constructor(private readonly chainId: string, private readonly checkpoints: readonly SignedCheckpoint[], private readonly keys: TrustedKeys) {
    this.checkpointsBySequence = new Map(checkpoints.map((c) => [c.sequence, c]));
  }

  report(sequence: number, text: string): void {
    if (!this.problem || sequence < this.problem.sequence) this.problem = { sequence, text };
  }

  /** Where the first record must be and what it must be chained to (genesis, or an archive anchor). */
  start(expected: { sequence: number; previousHash: string }): void {
    this.expected = expected;
    this.lastVouchedSequence = expected.sequence - 1;
    const beforeStart = this.checkpointsBySequence.get(expected.sequence - 1);
    if (beforeStart && this.checkSignature(beforeStart) && beforeStart.hash !== expected.previousHash) {
      this.report(expected.sequence, `checkpoint at ${beforeStart.sequence}: the archive anchor says record ${beforeStart.sequence} had another hash`);
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
    else if (isSuccessor && this.expected.previousHash !== null && record.previousHash !== this.expected.previousHash) this.reportBrokenLink(sequence);
    const checkpoint = this.checkpointsBySequence.get(sequence);
    if (checkpoint && this.checkSignature(checkpoint)) {
      if (checkpoint.hash === record.hash) {
        this.lastVouchedSequence = sequence;
        this.lastCheckpoint = sequence;
      } else {
        const firstSuspect = this.lastVouchedSequence + 1;
        const suspects = firstSuspect === sequence ? '' : `: one of records ${firstSuspect} to ${sequence} was rewritten`;
        this.report(firstSuspect, `checkpoint at ${sequence}: record ${sequence} differs from the one signed${suspects}`);
      }
    }
    this.lastSequence = sequence;
    this.expected = { sequence: sequence + 1, previousHash: record.hash };
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
   * store; for the store itself a checkpoint past the last record means the tail was cut.
   */
  finish(options: { checkpointsMayFollow: boolean }): ChainVerification {
    const lastSequence = this.lastSequence ?? this.expected.sequence - 1;
    if (!options.checkpointsMayFollow) {
      const beyond = this.checkpoints.filter((c) => c.sequence > lastSequence);
      const signedBeyond = beyond.filter((c) => this.checkSignature(c));
      const furthest = signedBeyond.at(-1);
      if (furthest) {
        const cut = this.lastSequence !== null
          ? `is past the last record ${lastSequence}: the tail was cut`
          : 'is past the last record: the chain has no records left';
        this.report(lastSequence + 1, `checkpoint at ${furthest.sequence} ${cut}`);
      }
    }
    const result: ChainVerification = {
      chainId: this.chainId,
      ok: this.problem === null,
      records: this.records,
      lastSequence,
      lastCheckpoint: this.lastCheckpoint,
    };
    if (this.problem) {
      result.firstBadSequence = this.problem.sequence;
      result.problem = this.problem.text;
    }
    return result;
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
   * the predecessor is the altered one, unless a checkpoint vouches for it.
   */
  private reportBrokenLink(sequence: number): void {
    if (this.lastSequence === null) {
      const start = sequence === 1 ? 'the genesis value' : 'the one the archive anchor names';
      this.report(sequence, `record ${sequence}: previousHash is not ${start}`);
    } else if (this.lastVouchedSequence === sequence - 1) {
      this.report(sequence, `record ${sequence}: previousHash is not the hash of record ${sequence - 1}, which a checkpoint vouches for`);
    } else {
      this.report(sequence - 1, `record ${sequence - 1} was rewritten: record ${sequence} is chained to a different hash`);
    }
  }

  /** True for a validly signed checkpoint; reports one that is not. */
  private checkSignature(checkpoint: SignedCheckpoint): boolean {
    const check = checkCheckpointSignature(checkpoint, this.keys);
    if (check === 'valid') return true;
    this.report(checkpoint.sequence, `checkpoint at ${checkpoint.sequence}: ${describeSignature(check, checkpoint.keyId)}`);
    return false;
  }
}

function missing(from: number, to: number): string {
  return from === to ? `record ${from} missing` : `records ${from} to ${to} missing`;
}
