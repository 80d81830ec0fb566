import type { AuditEntry } from './entry';

export interface RefusalAggregatesOptions {
  /** How long refusals alike are counted together before their record is written, in ms. */
  windowMs: number;
  /** Distinct kinds of refusal counted in one window; past this, every further kind shares one catch-all count. */
  maxKeys: number;
  /** Writes one aggregate record; its promise settles when the record is durable or cannot be. */
  write(entry: AuditEntry): Promise<unknown>;
  /** Told when an aggregate could not be written (nothing was released to those requests: what is lost is their count). */
  onWriteError(entry: AuditEntry, error: Error): void;
  /** Told when an aggregate was written. */
  onWritten?(entry: AuditEntry): void;
}

export interface RefusalAggregates {
  /**
   * Counts one refusal of kind `key` (refusals alike share a key), described by `entry`:
   * the first of a kind in a window is the record's template (its time is the window's
   * first time, its request ID the first request's), later ones only add to `requests`.
   */
  count(key: string, entry: AuditEntry): void;
  /** Writes every aggregate not yet written and stops the window's timer. */
  close(): Promise<void>;
}

/** The key refusals share once `maxKeys` kinds are counted in a window. */
export const OTHER_REFUSALS = 'other refusals';

interface Aggregate {
  entry: AuditEntry;
  requests: number;
  errorCodes: Set<string>;
}

/**
 * Refusals recorded together (issue 18): a party who may not be answered, and so is owed
 * no record of its own, could otherwise write one durable record per request, without
 * bound. Refusals alike within one window become one record, `requests` being their
 * count; memory holds at most `maxKeys` kinds plus the catch-all, whatever the traffic.
 * Nothing waits for these records: the refusals they stand for released nothing. The
 * gateway's own refusals of requests without a valid token follow the same idea, per
 * minute (gateway/anonymous-requests.ts).
 */
export function refusalAggregates(options: RefusalAggregatesOptions): RefusalAggregates {
  let window = new Map<string, Aggregate>();
  let timer: NodeJS.Timeout | null = null;
  const writing = new Set<Promise<void>>();

  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    const closed = window;
    window = new Map();
    for (const aggregate of closed.values()) {
      const entry: AuditEntry = { ...aggregate.entry, errorCodes: [...aggregate.errorCodes], requests: aggregate.requests };
      const write = options.write(entry).then(
        () => options.onWritten?.(entry),
        (error: Error) => options.onWriteError(entry, error),
      );
      writing.add(write);
      void write.finally(() => writing.delete(write));
    }
  }

  return {
    count(key, entry) {
      const kind = window.has(key) || window.size < options.maxKeys ? key : OTHER_REFUSALS;
      const aggregate = window.get(kind);
      if (aggregate) {
        aggregate.requests += 1;
        for (const code of entry.errorCodes) aggregate.errorCodes.add(code);
      } else {
        window.set(kind, { entry, requests: 1, errorCodes: new Set(entry.errorCodes) });
      }
      timer ??= setTimeout(flush, options.windowMs).unref();
    },
    async close() {
      flush();
      await Promise.all(writing);
    },
  };
}
