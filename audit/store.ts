import type { Outcome, StoredRecord } from './entry';

/** The newest durable point of a chain: its last record, or where an archive cut it if none is left. */
export interface ChainHead {
  sequence: number;
  hash: string;
}

/** How a checkpoint names the one before it in its chain (signing.ts). */
export interface CheckpointLink {
  sequence: number;
  /** `checkpointDigest` of that checkpoint. */
  digest: string;
}

/**
 * A signed statement that a chain's record `sequence` had hash `hash` at `time`, and,
 * when linked, which checkpoint of the chain came before it (signing.ts).
 */
export interface SignedCheckpoint {
  chainId: string;
  sequence: number;
  hash: string;
  /** ISO instant the checkpoint was signed. */
  time: string;
  /**
   * The chain's checkpoint before this one; null when this is the chain's first. Absent
   * (undefined) on an unlinked checkpoint, written before checkpoints were linked.
   */
  previous?: CheckpointLink | null;
  /** SHA-256 hex of the signer's public key (SPKI DER): which trusted key to verify with. */
  keyId: string;
  /** Ed25519 signature, base64. */
  signature: string;
}

/**
 * A signed statement left by an archive: the chain's records before `firstKeptSequence`
 * were removed, and the first kept one is chained to `previousHash`.
 */
export interface SignedAnchor {
  chainId: string;
  firstKeptSequence: number;
  previousHash: string;
  /** ISO instant the archive was made. */
  time: string;
  keyId: string;
  signature: string;
}

/** One row of the citizen index: review by citizen finds record `sequence` under `idNumber` at `time`. */
export interface CitizenIndexEntry {
  sequence: number;
  idNumber: string;
  time: string;
}

/** Where a record sits in review order: newest first is (time, chainId, sequence) descending. */
export interface RecordKey {
  time: string;
  chainId: string;
  sequence: number;
}

/** Review filters, already checked (review.ts); every one given must match. */
export interface RecordFilter {
  citizen?: string;
  /** One request's records (a receipt's export, audit/receipt-export.ts). */
  requestId?: string;
  application?: string;
  officer?: string;
  serviceItem?: string;
  caseNumber?: string;
  outcome?: Outcome;
  /** Inclusive ISO instant (toISOString form). */
  from?: string;
  /** Exclusive ISO instant (toISOString form). */
  to?: string;
}

export interface RecordQuery {
  filter: RecordFilter;
  order: 'newest-first' | 'oldest-first';
  /** Keyset: only records strictly after this one in `order`. */
  after: RecordKey | null;
  limit: number;
}

/**
 * Where audit records, checkpoints and anchors are kept. Every write is one transaction:
 * all of it is durable when the promise resolves, none of it when it rejects. Chains are
 * independent; several writers may share a store as long as each writes its own chain.
 */
export interface AuditStore {
  /** For messages: "SQLite /data/audit.sqlite", "PostgreSQL 127.0.0.1:5432/test, schema proofless_audit". */
  readonly location: string;

  readHead(chainId: string): Promise<ChainHead | null>;
  /** Appends consecutive records of one chain in one transaction. */
  append(records: readonly StoredRecord[]): Promise<void>;
  appendCheckpoint(checkpoint: SignedCheckpoint): Promise<void>;
  /** The chain's checkpoint with the highest sequence, or null. */
  lastCheckpoint(chainId: string): Promise<SignedCheckpoint | null>;
  /**
   * Whether the store takes records now (readiness asks). In one transaction: a record of
   * the writer's chain (record-columns.ts probeRecord), with its citizen index, inserted
   * and rolled back, which meets whatever refuses records alone (a trigger, a constraint,
   * a privilege on the record table); and this writer's row of the probe table, which no
   * chain includes, committed, which meets a full disk.
   */
  probeWrite(writerId: string): Promise<void>;
  /**
   * Whether the last write of records through this store failed: an `append`, or a
   * `probeWrite`, which tries one. Only one of those succeeding clears it: a checkpoint
   * written, or any other table taking writes, proves nothing about records.
   */
  hasRecordWriteFailed(): boolean;

  /** Every chain with a record, a checkpoint or an anchor, sorted. */
  listChains(): Promise<string[]>;
  /** Records of one chain with sequence > afterSequence, ascending, at most `limit`. */
  readChain(chainId: string, afterSequence: number, limit: number): Promise<StoredRecord[]>;
  readCheckpoints(chainId: string): Promise<SignedCheckpoint[]>;
  /**
   * The citizen index rows of the chain's records with afterSequence < sequence <=
   * throughSequence (no upper bound when null), by sequence: what review by citizen finds.
   */
  readCitizenIndex(chainId: string, afterSequence: number, throughSequence: number | null): Promise<CitizenIndexEntry[]>;
  readAnchors(chainId: string): Promise<SignedAnchor[]>;

  queryRecords(query: RecordQuery): Promise<StoredRecord[]>;

  /** The lowest sequence of the chain whose time is at or after `time`, or null if none is. */
  firstSequenceAtOrAfter(chainId: string, time: string): Promise<number | null>;
  /** Deletes the chain's records before `anchor.firstKeptSequence` and stores the anchor, in one transaction. */
  removeArchived(anchor: SignedAnchor): Promise<void>;

  close(): Promise<void>;
}
