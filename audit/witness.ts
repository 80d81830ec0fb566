import { access, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { readJsonLines } from './json-lines';
import type { SignedCheckpoint } from './store';

/**
 * A witness: an append-only JSON Lines file outside the audit store, one signed
 * checkpoint per line, exactly as the store holds it (`{"chainId","sequence","hash",
 * "time","previous","keyId","signature"}`). The log appends each checkpoint it signs,
 * after the store has it, and fsyncs the file before the checkpoint counts as written.
 * Someone who can write to the store but not to the witness cannot take back what the
 * witness saw: `audit:verify -- --witness FILE` fails when the store lacks any of it, and
 * a restarted gateway continues its checkpoints from the witness's last one when the
 * store lost it (log.ts).
 *
 * Several gateways may share one witness file on a local file system: each line is one
 * write() in append mode, which Linux does not interleave with another process's append
 * (NFS gives no such promise: there, give each instance its own file).
 */
export interface WitnessWriter {
  readonly file: string;
  /** Appends the checkpoint as one line and fsyncs the file. */
  append(checkpoint: SignedCheckpoint): Promise<void>;
  close(): Promise<void>;
}

/** Opens (creating it when missing) a witness file for appending. */
export async function openWitnessWriter(file: string): Promise<WitnessWriter> {
  const isNew = await access(file).then(() => false, () => true);
  // 'a+': every write goes to the end, whatever another process appended meanwhile; reads are positional.
  const handle = await open(file, 'a+').catch((error) => {
    throw witnessError(file, error);
  });
  try {
    if (isNew) await syncFolderOf(file);
    else await endWithNewline(handle);
  } catch (error) {
    await handle.close();
    throw witnessError(file, error);
  }
  return {
    file,
    async append(checkpoint) {
      await handle.write(`${JSON.stringify(checkpoint)}\n`);
      await handle.sync();
    },
    async close() {
      await handle.close();
    },
  };
}

/** A line cut short by a crash would swallow the next one: it is ended before anything is appended. */
async function endWithNewline(handle: FileHandle): Promise<void> {
  const { size } = await handle.stat();
  if (size === 0) return;
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  if (last[0] === NEWLINE) return;
  await handle.write('\n');
  await handle.sync();
}

/** A new file's entry in its folder is made durable too, or a power loss could take the whole file. */
async function syncFolderOf(file: string): Promise<void> {
  const folder = await open(path.dirname(file), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

function witnessError(file: string, error: unknown): Error {
  return new Error(`cannot open the audit witness file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
}

const NEWLINE = 0x0a;
const CHUNK_BYTES = 64 * 1024;

/**
 * The last checkpoint of `chainId` in a witness file, or null when it holds none (or
 * does not exist). The file is read backwards from its end, so a gateway starting on a
 * witness of years of checkpoints reads only its last lines.
 */
export async function lastWitnessedCheckpoint(file: string, chainId: string): Promise<SignedCheckpoint | null> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw witnessError(file, error);
  }
  try {
    let position = (await handle.stat()).size;
    let rest = Buffer.alloc(0);
    const ofChain = (line: Buffer) => {
      const checkpoint = parseCheckpointLine(line.toString('utf8'));
      return checkpoint?.chainId === chainId ? checkpoint : null;
    };
    while (position > 0) {
      const length = Math.min(CHUNK_BYTES, position);
      position -= length;
      const chunk = Buffer.alloc(length);
      await handle.read(chunk, 0, length, position);
      // Lines are split on the newline byte, never inside a UTF-8 sequence.
      const text = Buffer.concat([chunk, rest]);
      let end = text.length;
      for (let index = text.length - 1; index >= 0; index -= 1) {
        if (text[index] !== NEWLINE) continue;
        const found = ofChain(text.subarray(index + 1, end));
        if (found) return found;
        end = index;
      }
      rest = text.subarray(0, end);
    }
    return ofChain(rest);
  } finally {
    await handle.close();
  }
}

/** A checkpoint as a witness file holds it, with where. */
export interface WitnessedCheckpoint {
  checkpoint: SignedCheckpoint;
  file: string;
  line: number;
}

/**
 * Every checkpoint in the witness files, by chain, in file and line order. A line that is
 * not JSON is skipped: it can only be one a crash cut short, which the next append ended
 * (openWitnessWriter). A line that is JSON but not a checkpoint fails, naming it.
 */
export async function readWitnesses(files: readonly string[]): Promise<Map<string, WitnessedCheckpoint[]>> {
  const byChain = new Map<string, WitnessedCheckpoint[]>();
  for (const file of files) {
    await access(file).catch((error: NodeJS.ErrnoException) => {
      throw new Error(`cannot read the audit witness file ${file}: ${error.code ?? error.message}`);
    });
    for await (const { line, value } of readJsonLines(file)) {
      if (value === undefined) continue;
      const checkpoint = asCheckpoint(value);
      if (!checkpoint) throw new Error(`${file} line ${line} is not an audit checkpoint`);
      const ofChain = byChain.get(checkpoint.chainId) ?? [];
      ofChain.push({ checkpoint, file, line });
      byChain.set(checkpoint.chainId, ofChain);
    }
  }
  return byChain;
}

function parseCheckpointLine(text: string): SignedCheckpoint | null {
  try {
    return asCheckpoint(JSON.parse(text));
  } catch {
    return null;
  }
}

/** The value as a SignedCheckpoint when it has a checkpoint's members and types; whether it is signed is checked by whoever uses it. */
export function asCheckpoint(value: unknown): SignedCheckpoint | null {
  if (typeof value !== 'object' || value === null) return null;
  const c = value as Record<string, unknown>;
  const isText = (member: unknown) => typeof member === 'string';
  if (!isText(c.chainId) || !Number.isSafeInteger(c.sequence) || !isText(c.hash) || !isText(c.time) || !isText(c.keyId) || !isText(c.signature)) return null;
  const checkpoint: SignedCheckpoint = {
    chainId: c.chainId as string,
    sequence: c.sequence as number,
    hash: c.hash as string,
    time: c.time as string,
    keyId: c.keyId as string,
    signature: c.signature as string,
  };
  if (c.previous === undefined) return checkpoint;
  if (c.previous === null) return { ...checkpoint, previous: null };
  const previous = c.previous as Record<string, unknown>;
  if (typeof previous !== 'object' || !Number.isSafeInteger(previous.sequence) || !isText(previous.digest)) return null;
  return { ...checkpoint, previous: { sequence: previous.sequence as number, digest: previous.digest as string } };
}
