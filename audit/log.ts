import { GENESIS_HASH, recordHash } from './canonical';
import { checkChainId, normaliseEntry, type AuditEntry, type StoredRecord } from './entry';
import { AuditUnavailableError, CorruptRecordError } from './errors';
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
   * when it lacks the chain's last checkpoint or the record that checkpoint vouches for
   * (records or checkpoints removed or rewritten while no gateway wrote the chain); after
   * a failed write, when the head read back is not one this log wrote (records added, or
   * records it wrote rewritten or removed: then it refuses records from there on, see
   * openAuditLog). The gateway logs it as an error; default: one line on stderr.
   */
  onStoreDisagrees?: (message: string) => void;
  /**
   * Told of every checkpoint once the store holds it (interval, `checkpoint()`, close, and
   * the opening one); default nothing. A department sends its latest one with its next
   * answer to each gateway key (subgraphs/shared/access-log.ts).
   */
  onCheckpoint?: (checkpoint: SignedCheckpoint) => void;
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
  /** Whether the log refuses every record because the store no longer holds records it wrote (see openAuditLog); readiness reports it. */
  isRefusingRecords(): boolean;
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
 * A head read back that this log did not write is never adopted: chaining onto it would
 * make the log's next checkpoint sign records someone else wrote (issue 16's red team
 * rewrote a running gateway's unsigned tail, added one record to make the gateway's next
 * write collide, and the gateway signed the rewrite). The log knows its own last
 * confirmed record, sequence and hash, and asks whether the store still holds it:
 *  - it does, so records were only added after it (a forged record, or a second gateway
 *    given the same chain ID): the log's next record takes the sequence after them but
 *    is chained to the log's own record, so verification finds the added ones ("record
 *    N ... is chained to a different hash") without any witness, and the log goes on:
 *    nothing it wrote was touched;
 *  - it does not, so records it wrote, for answers already released, were rewritten or
 *    removed: the log signs a checkpoint of its own record at once, into the witness
 *    first (the copy whoever wrote the store cannot take back) and then the store, so
 *    verification reports the rewrite from the first record that checkpoint's
 *    predecessor does not vouch for; and from then on it refuses every record, so every
 *    answer is 503 AUDIT_UNAVAILABLE and readiness says so, until it is restarted.
 *    Refusing gives whoever can write to the store nothing new (they can already make
 *    every write fail) and cannot be set off without leaving that signed evidence;
 *    going on would write every later disclosure into a store proven to be rewritten,
 *    behind records the log did not write, while a healthy-looking gateway keeps the
 *    finding to one line of its log. A restart is the operator's decision to go on,
 *    ideally after `audit:verify --witness` and a copy of the store for the
 *    investigation: the restarted log opens as below, and its checkpoints follow the
 *    one of its own record, so the rewrite stays reported.
 *
 * Checkpoints: each names the one before it (signing.ts). The log keeps its last
 * checkpoint in memory, so one deleted from the store while the gateway runs shows as a
 * gap at the next. At open it continues from the newer of the store's last checkpoint and
 * the witness's: when the store lacks the witness's (its tail, or checkpoints, were cut
 * while the gateway was down), or the chain's records end before its last checkpoint, or
 * the record there is not the one it vouches for, `onStoreDisagrees` is told and the
 * next checkpoint names the one the store lost, so the cut shows in the store too. The
 * log still opens, on the store as it is: refusing to start would hand whoever
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
  } else if (lastCheckpoint && lastCheckpoint.sequence > 0 && !(await holdsRecord(store, chainId, lastCheckpoint).catch(() => true))) {
    onStoreDisagrees(
      `audit chain ${chainId} in ${store.location} does not hold record ${lastCheckpoint.sequence} as its checkpoint ${lastCheckpoint.sequence} vouches for it: ` +
        'records were rewritten in the store',
    );
  }

  const pending: PendingRecord[] = [];
  let windowTimer: NodeJS.Timeout | null = null;
  let writing: Promise<void> | null = null;
  let isHeadConfirmed = true;
  /** The last record of a group whose write failed: if the store holds that record, the write landed after all. */
  let unconfirmedHead: ChainHead | null = null;
  /**
   * The sequence the next record follows: `head.sequence`, or past records the log did not
   * write that were added after its head (the next record is still chained to `head`).
   */
  let writeAfterSequence = head.sequence;
  /** Why every record is refused, once the store was found not to hold records this log wrote; null while it writes. */
  let refusal: string | null = null;
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
      if (refusal === null && !isHeadConfirmed) {
        await confirmHead();
        isHeadConfirmed = true;
        unconfirmedHead = null;
      }
      if (refusal !== null) {
        const refused = new AuditUnavailableError(refusal);
        for (const p of group) p.reject(refused);
        return;
      }
      records = chain(group.map((p) => p.entry), head, writeAfterSequence);
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
    writeAfterSequence = last.sequence;
    group.forEach((p, index) => p.resolve(records[index]));
  }

  /**
   * After a failed write the head is read back. It should be this log's last confirmed
   * record, or the last of the group whose write failed but landed. Anything else was
   * written, rewritten or removed by someone else, and is never adopted (see openAuditLog).
   */
  async function confirmHead(): Promise<void> {
    const stored = await readHead(store, chainId);
    const isStoredHead = (known: ChainHead | null) => known !== null && known.sequence === stored.sequence && known.hash === stored.hash;
    if (isStoredHead(unconfirmedHead)) head = unconfirmedHead as ChainHead;
    if (isStoredHead(unconfirmedHead) || isStoredHead(head)) {
      writeAfterSequence = head.sequence;
      return;
    }
    if (unconfirmedHead && (await holdsRecord(store, chainId, unconfirmedHead))) head = unconfirmedHead;
    const where = `audit chain ${chainId} in ${store.location}`;
    if (await holdsRecord(store, chainId, head)) {
      writeAfterSequence = Math.max(writeAfterSequence, stored.sequence);
      onStoreDisagrees(
        `${where} has ${describeRecords(head.sequence + 1, stored.sequence)} after this gateway's record ${head.sequence} that this gateway did not write: ` +
          `another writer uses the chain ID, or records were added to the store; its next record follows them but is chained to its own record ${head.sequence}, ` +
          'so verification shows them',
      );
      return;
    }
    const finding = stored.sequence < head.sequence
      ? `${where} ends at record ${stored.sequence}, but this gateway wrote it up to record ${head.sequence}: records were removed from the store`
      : `${where} does not hold record ${head.sequence} as this gateway wrote it (the store's head is record ${stored.sequence}): records were rewritten or added in the store`;
    refusal = `audit chain ${chainId} refuses records: ${store.location} no longer holds record ${head.sequence} as this gateway wrote it; ` +
      'restart the gateway once the store has been examined (npm run audit:verify with the witness)';
    const evidence = await checkpointOwnHead();
    onStoreDisagrees(`${finding}; ${evidence}; this gateway refuses every record (503 AUDIT_UNAVAILABLE) until it is restarted`);
  }

  /**
   * Signs a checkpoint of the log's own last record after the store was found not to hold
   * it, and says where it went. Into the witness first, whatever the store does with it:
   * a store that was rewritten may refuse it (a checkpoint row put in its place), and the
   * witness is the copy nobody who writes the store can take back. It goes through the
   * same queue as every checkpoint, so it names the one before it and the next names it.
   */
  function checkpointOwnHead(): Promise<string> {
    const signing = checkpointing.catch(() => null).then(async () => {
      await settleUnconfirmedCheckpoint();
      const { sequence, hash } = head;
      if (lastCheckpoint && lastCheckpoint.sequence === sequence && lastCheckpoint.hash === hash) {
        return `its checkpoint ${sequence}, signed before, vouches for record ${sequence} as this gateway wrote it`;
      }
      const signed = signCheckpoint({ chainId, sequence, hash, time: clock().toISOString(), previous: lastCheckpoint ? linkTo(lastCheckpoint) : null }, key);
      const places: string[] = [];
      if (witness) {
        try {
          await witness.append(signed);
          places.push(`the witness ${witness.file}`);
        } catch (error) {
          onCheckpointError(new AuditUnavailableError(`could not write checkpoint ${sequence} of audit chain ${chainId} to the witness ${witness.file}`, { cause: error }));
        }
      }
      try {
        await store.appendCheckpoint(signed);
        places.push('the store');
        options.onCheckpoint?.(signed);
      } catch (error) {
        // Whether it landed is read back before the next checkpoint, unless the witness has it: then the next names it anyway.
        if (places.length === 0) unconfirmedCheckpoint = signed;
        onCheckpointError(new AuditUnavailableError(`could not write a checkpoint of audit chain ${chainId} to ${store.location}`, { cause: error }));
      }
      if (places.length > 0) lastCheckpoint = signed;
      return places.length > 0
        ? `checkpoint ${sequence} of record ${sequence} as this gateway wrote it is signed into ${places.join(' and ')}`
        : `checkpoint ${sequence} of record ${sequence} as this gateway wrote it could not be written anywhere`;
    });
    checkpointing = signing.then(() => null);
    return signing;
  }

  function chain(entries: Required<AuditEntry>[], from: ChainHead, afterSequence: number): StoredRecord[] {
    let previous = { sequence: afterSequence, hash: from.hash };
    return entries.map((entry) => {
      const record: StoredRecord = { chainId, sequence: previous.sequence + 1, previousHash: previous.hash, hash: '', ...entry };
      record.hash = recordHash(record);
      previous = record;
      return record;
    });
  }

  /** A checkpoint write that failed may still have landed (a connection lost after COMMIT): then it is the one the next names. */
  async function settleUnconfirmedCheckpoint(): Promise<void> {
    if (!unconfirmedCheckpoint) return;
    const stored = await store.lastCheckpoint(chainId).catch(() => null);
    if (stored && checkpointDigest(stored) === checkpointDigest(unconfirmedCheckpoint)) lastCheckpoint = stored;
    unconfirmedCheckpoint = null;
  }

  async function writeCheckpoint(): Promise<SignedCheckpoint | null> {
    await settleUnconfirmedCheckpoint();
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
    options.onCheckpoint?.(signed);
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
      if (refusal !== null) return Promise.reject(new AuditUnavailableError(refusal));
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
    isRefusingRecords: () => refusal !== null,
  };
}

async function readHead(store: AuditStore, chainId: string): Promise<ChainHead> {
  return (await store.readHead(chainId)) ?? { sequence: 0, hash: GENESIS_HASH };
}

/**
 * Whether the store holds the chain's record `head.sequence` with hash `head.hash`: the
 * record itself, or, once archived, the anchor that names it; the genesis always. A row
 * at that sequence that cannot be read as a record is not it. A record archived with
 * later ones (an anchor further on) cannot be told apart here: archive verification
 * compares the archive file with the checkpoints instead, so it counts as held.
 */
async function holdsRecord(store: AuditStore, chainId: string, head: ChainHead): Promise<boolean> {
  if (head.sequence === 0) return head.hash === GENESIS_HASH;
  let record: StoredRecord | undefined;
  try {
    [record] = await store.readChain(chainId, head.sequence - 1, 1);
  } catch (error) {
    if (error instanceof CorruptRecordError) return false;
    throw error;
  }
  if (record?.sequence === head.sequence) return record.hash === head.hash;
  return (await store.readAnchors(chainId)).some((anchor) =>
    anchor.firstKeptSequence === head.sequence + 1 ? anchor.previousHash === head.hash : anchor.firstKeptSequence > head.sequence);
}

function describeRecords(from: number, to: number): string {
  return from === to ? `a record ${from}` : `records ${from} to ${to}`;
}
