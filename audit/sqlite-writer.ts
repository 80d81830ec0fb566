import path from 'node:path';
import { Worker } from 'node:worker_threads';

/** One of the writer's statements, by name, and its parameters. */
export type Statement = [name: string, params: unknown[]];

export interface SqliteWriter {
  /**
   * Runs the statements in one transaction; resolves once it is committed and fsynced,
   * rejects with SQLite's error. `rolledBack` run first in the same transaction, inside a
   * savepoint that is then rolled back: whether they could be written, without keeping them.
   */
  write(batch: Statement[], rolledBack?: Statement[]): Promise<void>;
  /** Lets the writes already handed over finish, then closes the connection and the thread. */
  close(): Promise<void>;
}

/**
 * Writes to a SQLite file from a worker thread. better-sqlite3 is synchronous: a commit
 * with `synchronous = FULL` holds the thread that runs it for the whole fsync (about a
 * millisecond here, more on a busy disk), and on the gateway's event loop that stalls
 * every request in flight. In a worker the fsync overlaps with the requests, and the
 * group commit gathers the next records meanwhile.
 *
 * The thread keeps the process alive only while a write is outstanding, so a forgotten
 * store never holds a process open, and a write awaited is never cut short by an exit.
 */
export function startSqliteWriter(file: string, busyTimeoutMs: number, statements: Record<string, string>): SqliteWriter {
  // Statements are prepared in the worker once; each batch names them, so only parameters cross threads.
  const worker = new Worker(path.join(__dirname, 'sqlite-writer-worker.js'), { workerData: { file, busyTimeoutMs, statements } });
  worker.unref();
  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  worker.on('message', (message: { id: number; error?: { message: string; code?: string } }) => {
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (pending.size === 0) worker.unref();
    if (!waiting) return;
    if (message.error) waiting.reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
    else waiting.resolve();
  });
  // The thread itself failed (the file could not be opened): every write fails from now on.
  worker.on('error', (error) => {
    failure = error;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  });
  const send = (message: { batch?: Statement[]; rolledBack?: Statement[]; close?: true }) =>
    new Promise<void>((resolve, reject) => {
      if (failure) {
        reject(failure);
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, ...message });
    });
  return {
    write: (batch, rolledBack = []) => send({ batch, rolledBack }),
    async close() {
      if (failure) return;
      await send({ close: true });
      await worker.terminate();
    },
  };
}
