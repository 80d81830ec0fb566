import { GENESIS_HASH, recordHash } from './canonical';
import { checkChainId, normaliseEntry, type AuditEntry, type StoredRecord } from './entry';
import { AuditUnavailableError } from './errors';
import { loadSigningKey, signCheckpoint } from './signing';
import type { AuditStore, ChainHead, SignedCheckpoint } from './store';

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
  entry: AuditEntry;
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
 */
export async function openAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const chainId = checkChainId(options.chainId, 'chainId');
  const { store } = options;
  const key = loadSigningKey(options.signingKeyFile);
  const clock = options.clock ?? (() => new Date());
  const windowMs = options.groupCommitWindowMs ?? 2;
  const maxGroupSize = options.maxGroupSize ?? 100;
  const onCheckpointError = options.onCheckpointError ?? ((error: Error) => process.stderr.write(`audit: ${error.message}\n`));
  // 1000 rows of 19 columns stay under PostgreSQL's 65535 parameters per statement.
  if (!Number.isInteger(maxGroupSize) || maxGroupSize < 1 || maxGroupSize > MAX_GROUP_SIZE) {
    throw new TypeError(`maxGroupSize must be a whole number from 1 to ${MAX_GROUP_SIZE}, got ${maxGroupSize}`);
  }
  if (!(windowMs >= 0)) throw new TypeError(`groupCommitWindowMs must be 0 or more, got ${windowMs}`);

  let head: ChainHead;
  let lastCheckpointSequence: number | null;
  try {
    head = await readHead(store, chainId);
    lastCheckpointSequence = await store.lastCheckpointSequence(chainId);
  } catch (error) {
    throw new AuditUnavailableError(`cannot read the head of audit chain ${chainId} from ${store.location}`, { cause: error });
  }

  const pending: PendingRecord[] = [];
  let windowTimer: NodeJS.Timeout | null = null;
  let writing: Promise<void> | null = null;
  let isHeadConfirmed = true;
  let isClosed = false;
  let closing: Promise<void> | null = null;
  let checkpointing: Promise<SignedCheckpoint | null> = Promise.resolve(null);

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
    let records: StoredRecord[];
    try {
      if (!isHeadConfirmed) {
        head = await readHead(store, chainId);
        isHeadConfirmed = true;
      }
      records = chain(group.map((p) => p.entry), head);
      await store.append(records);
    } catch (error) {
      isHeadConfirmed = false;
      const failure = new AuditUnavailableError(`could not write ${group.length} audit record(s) of chain ${chainId} to ${store.location}`, { cause: error });
      for (const p of group) p.reject(failure);
      return;
    }
    const last = records[records.length - 1];
    head = { sequence: last.sequence, hash: last.hash };
    group.forEach((p, index) => p.resolve(records[index]));
  }

  function chain(entries: AuditEntry[], from: ChainHead): StoredRecord[] {
    let previous = from;
    return entries.map((entry) => {
      const record: StoredRecord = { chainId, sequence: previous.sequence + 1, previousHash: previous.hash, hash: '', ...entry };
      record.hash = recordHash(record);
      previous = record;
      return record;
    });
  }

  async function writeCheckpoint(): Promise<SignedCheckpoint | null> {
    // `head` only ever names a record the store confirmed, so the checkpoint vouches for a durable record.
    const { sequence, hash } = head;
    if (sequence === 0 || (lastCheckpointSequence !== null && sequence <= lastCheckpointSequence)) return null;
    const signed = signCheckpoint({ chainId, sequence, hash, time: clock().toISOString() }, key);
    try {
      await store.appendCheckpoint(signed);
    } catch (error) {
      throw new AuditUnavailableError(`could not write a checkpoint of audit chain ${chainId} to ${store.location}`, { cause: error });
    }
    lastCheckpointSequence = sequence;
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
      let normalised: AuditEntry;
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
        await checkpoint();
      })();
      return closing;
    },
  };
}

async function readHead(store: AuditStore, chainId: string): Promise<ChainHead> {
  return (await store.readHead(chainId)) ?? { sequence: 0, hash: GENESIS_HASH };
}
