import { GENESIS_HASH, recordHash } from './canonical';
import { checkChainId, normaliseEntry, type AuditEntry, type StoredRecord } from './entry';
import { AuditUnavailableError } from './errors';
import { checkpointDigest, linkTo, loadSigningKey, signCheckpoint } from './signing';
import type { AuditStore, ChainHead, SignedCheckpoint } from './store';
import { lastWitnessedCheckpoint, openWitnessWriter, type WitnessWriter } from './witness';

export interface AuditLogOptions {
  /** Where records go; the log does not close it. */
  store: AuditStore;
  /** This gateway instance's chain, continued from the store's head. No two live logs may share one. */
  chainId: string;
  /** Ed25519 private key (PKCS#8 PEM) that signs checkpoints; `ensureSigningKeyFile` makes a development one. */
  signingKeyFile: string;
  /** Stamps checkpoints; default `() => new Date()`. Records carry the entry's own time. */
  clock?: () => Date;
  /** How long the first record of an idle log waits for others to share its transaction; default 2 ms. */
  groupCommitWindowMs?: number;
  /** The most records in one transaction (1 to 1000); that many pending are written without waiting for the window. Default 100. */
  maxGroupSize?: number;
  /** How often the head is checkpointed when it moved; default 60000 ms; 0 = only on close and `checkpoint()`. */
  checkpointIntervalMs?: number;
  /** Told when an interval checkpoint cannot be written (records are unaffected); default: one line on stderr. */
  onCheckpointError?: (error: Error) => void;
  /**
   * A witness file (witness.ts) that every checkpoint is also appended to, outside the
   * store; default none. At open the chain continues from the newer of the store's and
   * the witness's last checkpoint.
   */
  witnessFile?: string | null;
  /**
   * Told when the store disagrees with what this log wrote or last checkpointed: at open,
   * when it lacks the chain's last checkpoint (records or checkpoints removed while no
   * gateway wrote the chain); after a failed write, when the head read back is not one
   * this log wrote. The log goes on (see openAuditLog); default: one line on stderr.
   */
  onStoreDisagrees?: (message: string) => void;
}

export interface AuditLog {
  readonly chainId: string;
  /**
   * Resolves with the stored record once it is durable. Rejects with AuditUnavailableError
   * when the store cannot write it (the operation must then be refused), and with
   * TypeError when the entry is malformed.
   */
  record(entry: AuditEntry): Promise<StoredRecord>;
  /** Signs and stores a checkpoint of the head if it moved since the last one; null if it did not. */
  checkpoint(): Promise<SignedCheckpoint | null>;
  /** Writes what is pending, checkpoints the head, and refuses further records; rejects when the checkpoint cannot be written. */
  close(): Promise<void>;
}

export const MAX_GROUP_SIZE = 1000;

interface PendingRecord {
  entry: Required<AuditEntry>;
  resolve(record: StoredRecord): void;
  reject(error: Error): void;
}

/**
 * Opens this instance's chain at its head and returns the log the gateway writes to.
 *
 * Group commit: records arriving together share one transaction. The first record of an
 * idle log waits `groupCommitWindowMs` for company (or less, once `maxGroupSize` are
 * pending); while a group is being written, new records queue and go in the next group
 * as soon as it is done. Groups are written one at a time, so sequence numbers are
 * assigned in the order groups commit and the chain never forks.
 *
 * Fail-closed: when a group's write fails, every record in it is rejected and the head
 * stays where the store last confirmed it. The head is then read again from the store
 * before the next group, because a failed commit may still have landed (a connection
 * lost after COMMIT); the log may then hold records whose operations were refused, never
 * the other way round.
 *
 * Checkpoints: each names the one before it (signing.ts). The log keeps its last
 * checkpoint in memory, so one deleted from the store while the gateway runs shows as a
 * gap at the next. At open it continues from the newer of the store's last checkpoint and
 * the witness's: when the store lacks the witness's (its tail, or checkpoints, were cut
 * while the gateway was down), or the chain's records end before its last checkpoint,
 * `onStoreDisagrees` is told and the next checkpoint names the one the store lost, so the
 * cut shows in the store too. The log still opens: refusing to start would hand whoever
 * cut the store a way to stop the service, and the evidence is kept either way. A chain
 * with no checkpoint at all is given its opening one at open (sequence 0, or the head of
 * a chain written before checkpoints were linked), so every chain that was ever opened
 * is in the store, and in the witness, before its first record.
 */
export async function openAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const chainId = checkChainId(options.chainId, 'chainId');
  const { store } = options;
  const key = loadSigningKey(options.signingKeyFile);
  const clock = options.clock ?? (() => new Date());
  const windowMs = options.groupCommitWindowMs ?? 2;
  const maxGroupSize = options.maxGroupSize ?? 100;
  const onCheckpointError = options.onCheckpointError ?? ((error: Error) => process.stderr.write(`audit: ${error.message}\n`));
  const onStoreDisagrees = options.onStoreDisagrees ?? ((message: string) => process.stderr.write(`audit: ${message}\n`));
  // 1000 rows of 20 columns stay under PostgreSQL's 65535 parameters per statement.
  if (!Number.isInteger(maxGroupSize) || maxGroupSize < 1 || maxGroupSize > MAX_GROUP_SIZE) {
    throw new TypeError(`maxGroupSize must be a whole number from 1 to ${MAX_GROUP_SIZE}, got ${maxGroupSize}`);
  }
  if (!(windowMs >= 0)) throw new TypeError(`groupCommitWindowMs must be 0 or more, got ${windowMs}`);

  let head: ChainHead;
  let storeCheckpoint: SignedCheckpoint | null;
  try {
    head = await readHead(store, chainId);
    storeCheckpoint = await store.lastCheckpoint(chainId);
  } catch (error) {
    throw new AuditUnavailableError(`cannot read the head of audit chain ${chainId} from ${store.location}`, { cause: error });
  }
  const witnessFile = options.witnessFile ?? null;
  const witnessed = witnessFile === null ? null : await lastWitnessedCheckpoint(witnessFile, chainId);
  /** The chain's last checkpoint, which the next one names. */
  let lastCheckpoint = storeCheckpoint;
  if (witnessed && (!storeCheckpoint || (checkpointDigest(witnessed) !== checkpointDigest(storeCheckpoint) && witnessed.sequence >= storeCheckpoint.sequence))) {
    onStoreDisagrees(
      `${store.location} lacks checkpoint ${witnessed.sequence} of audit chain ${chainId}, which the witness ${witnessFile} holds: ` +
        'records or checkpoints were removed from the store; the next checkpoint names the lost one',
    );
    lastCheckpoint = witnessed;
  }
  if (lastCheckpoint && head.sequence < lastCheckpoint.sequence) {
    onStoreDisagrees(
      `audit chain ${chainId} in ${store.location} ends at record ${head.sequence}, but its checkpoint ${lastCheckpoint.sequence} vouches for more: ` +
        'records were removed from the store',
    );
  }

  const pending: PendingRecord[] = [];
  let windowTimer: NodeJS.Timeout | null = null;
  let writing: Promise<void> | null = null;
  let isHeadConfirmed = true;
  /** The last record of a group whose write failed: if the store's head is that record, the write landed after all. */
  let unconfirmedHead: ChainHead | null = null;
  let isClosed = false;
  let closing: Promise<void> | null = null;
  let checkpointing: Promise<SignedCheckpoint | null> = Promise.resolve(null);
  let witness: WitnessWriter | null = null;
  /** A checkpoint whose write failed: whether it landed is read back before the next. */
  let unconfirmedCheckpoint: SignedCheckpoint | null = null;
  try {
    witness = witnessFile === null ? null : await openWitnessWriter(witnessFile);
    if (lastCheckpoint === null) await checkpoint();
  } catch (error) {
    await witness?.close();
    throw error;
  }

  function scheduleWrite(): void {
    // A running write loop takes whatever is pending when its current group is done.
    if (writing) return;
    if (pending.length >= maxGroupSize) startWriting();
    else windowTimer ??= setTimeout(startWriting, windowMs);
  }

  function startWriting(): void {
    if (windowTimer) clearTimeout(windowTimer);
    windowTimer = null;
    if (writing) return;
    writing = writeWhilePending().finally(() => {
      writing = null;
      if (pending.length > 0) scheduleWrite();
    });
  }

  async function writeWhilePending(): Promise<void> {
    while (pending.length > 0) await writeGroup(pending.splice(0, maxGroupSize));
  }

  async function writeGroup(group: PendingRecord[]): Promise<void> {
    let records: StoredRecord[] = [];
    try {
      if (!isHeadConfirmed) {
        const stored = await readHead(store, chainId);
        checkStoredHead(stored);
        head = stored;
        isHeadConfirmed = true;
        unconfirmedHead = null;
      }
      records = chain(group.map((p) => p.entry), head);
      await store.append(records);
    } catch (error) {
      isHeadConfirmed = false;
      // Only when this group got as far as the store: it may have landed despite the error.
      if (records.length > 0) unconfirmedHead ??= records[records.length - 1];
      const failure = new AuditUnavailableError(`could not write ${group.length} audit record(s) of chain ${chainId} to ${store.location}`, { cause: error });
      for (const p of group) p.reject(failure);
      return;
    }
    const last = records[records.length - 1];
    head = { sequence: last.sequence, hash: last.hash };
    group.forEach((p, index) => p.resolve(records[index]));
  }

  /**
   * After a failed write the head is read back: it must be this log's last confirmed
   * record, or the last of the group whose write failed but landed. Anything else was
   * written, or removed, by someone else: told, then chained onto, as at open.
   */
  function checkStoredHead(stored: ChainHead): void {
    const isOurs = (known: ChainHead | null) => known !== null && known.sequence === stored.sequence && known.hash === stored.hash;
    if (isOurs(head) || isOurs(unconfirmedHead)) return;
    onStoreDisagrees(
      stored.sequence < head.sequence
        ? `audit chain ${chainId} in ${store.location} ends at record ${stored.sequence}, but this gateway wrote it up to ${head.sequence}: records were removed from the store`
        : `audit chain ${chainId} in ${store.location} has a record ${stored.sequence} this gateway did not write: another writer uses the chain ID, or records were added to the store`,
    );
  }

  function chain(entries: Required<AuditEntry>[], from: ChainHead): StoredRecord[] {
    let previous = from;
    return entries.map((entry) => {
      const record: StoredRecord = { chainId, sequence: previous.sequence + 1, previousHash: previous.hash, hash: '', ...entry };
      record.hash = recordHash(record);
      previous = record;
      return record;
    });
  }

  async function writeCheckpoint(): Promise<SignedCheckpoint | null> {
    if (unconfirmedCheckpoint) {
      // A write that failed may still have landed (a connection lost after COMMIT): then it is the one the next names.
      const stored = await store.lastCheckpoint(chainId).catch(() => null);
      if (stored && checkpointDigest(stored) === checkpointDigest(unconfirmedCheckpoint)) lastCheckpoint = stored;
      unconfirmedCheckpoint = null;
    }
    // `head` only ever names a record the store confirmed, so the checkpoint vouches for a durable record.
    const { sequence, hash } = head;
    if (lastCheckpoint && lastCheckpoint.sequence === sequence && lastCheckpoint.hash === hash) return null;
    const signed = signCheckpoint({ chainId, sequence, hash, time: clock().toISOString(), previous: lastCheckpoint ? linkTo(lastCheckpoint) : null }, key);
    try {
      await store.appendCheckpoint(signed);
    } catch (error) {
      unconfirmedCheckpoint = signed;
      throw new AuditUnavailableError(`could not write a checkpoint of audit chain ${chainId} to ${store.location}`, { cause: error });
    }
    // The store has it, so the next one names it, whether or not the witness takes it.
    lastCheckpoint = signed;
    try {
      await witness?.append(signed);
    } catch (error) {
      throw new AuditUnavailableError(`could not write checkpoint ${sequence} of audit chain ${chainId} to the witness ${witness?.file}`, { cause: error });
    }
    return signed;
  }

  function checkpoint(): Promise<SignedCheckpoint | null> {
    // One at a time, so two callers never sign the same sequence twice.
    checkpointing = checkpointing.catch(() => null).then(writeCheckpoint);
    return checkpointing;
  }

  const checkpointTimer = options.checkpointIntervalMs
    ? setInterval(() => checkpoint().catch(onCheckpointError), options.checkpointIntervalMs).unref()
    : null;

  return {
    chainId,
    record(entry) {
      if (isClosed) return Promise.reject(new AuditUnavailableError(`audit chain ${chainId} is closed`));
      let normalised: Required<AuditEntry>;
      try {
        normalised = normaliseEntry(entry);
      } catch (error) {
        return Promise.reject(error);
      }
      return new Promise<StoredRecord>((resolve, reject) => {
        pending.push({ entry: normalised, resolve, reject });
        scheduleWrite();
      });
    },
    checkpoint,
    close() {
      closing ??= (async () => {
        isClosed = true;
        if (checkpointTimer) clearInterval(checkpointTimer);
        if (pending.length > 0) startWriting();
        while (writing) await writing;
        try {
          await checkpoint();
        } finally {
          await witness?.close();
        }
      })();
      return closing;
    },
  };
}

async function readHead(store: AuditStore, chainId: string): Promise<ChainHead> {
  return (await store.readHead(chainId)) ?? { sequence: 0, hash: GENESIS_HASH };
}
