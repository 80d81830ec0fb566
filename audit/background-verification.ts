import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { VerificationPendingError } from './errors';
import type { VerificationPassInput } from './verification-pass';
import type { ChainVerification } from './verify';

/** A finished verification of the whole store. */
export interface VerificationPass {
  /** When the pass began reading the store: it describes the store as it was from then on. */
  verifiedAt: Date;
  results: ChainVerification[];
}

export interface BackgroundVerifierOptions {
  /** Runs one verification of the whole store; `signal` aborts on close. `verifyInWorker` runs it in a worker thread. */
  runPass: (signal: AbortSignal) => Promise<ChainVerification[]>;
  /** A call finding the latest pass began longer ago than this starts a new one; default 60000 ms. */
  maxAgeMs?: number;
  /** How long a call waits for the pass it needs before answering the latest finished one; default 0, answer at once. */
  waitMs?: number;
  /** Stamps passes; default `() => new Date()`. */
  clock?: () => Date;
  /** Told when a pass fails (the store or the witness cannot be read); default: one line on stderr. */
  onPassError?: (error: Error) => void;
}

export interface BackgroundVerifier {
  /**
   * The latest finished pass. When it began more than `maxAgeMs` ago (or none did), a new
   * one is started, at most one at a time, and waited for at most `waitMs`. Rejects with
   * VerificationPendingError while no pass has finished yet, and with the latest pass's
   * error when that one failed.
   */
  latest(): Promise<VerificationPass>;
  /** Starts a pass unless one is running or the latest is fresh: the audit department does at start. */
  start(): void;
  /** Stops a pass that is running and starts no other. */
  close(): Promise<void>;
}

/**
 * Verification of the audit store off the audit department's thread. `auditChains` once
 * verified the whole store on every call, on the department's only thread, at a cost the
 * gateway estimated the same whatever the store held: past some 300,000 records every
 * call outlasted the department's timeout, and five calls by one auditor opened the audit
 * circuit for every auditor (issue 16's red team). Now a call answers the latest finished
 * pass, with when it began, within `waitMs` whatever the store holds, and a pass costs the
 * department one worker thread, one at a time, only while someone asks.
 *
 * A running pass that began within `maxAgeMs` of a call serves it; one that began before
 * that is let finish and another follows it, so with `maxAgeMs` 0 (and a `waitMs` that
 * covers a pass) every answer is a pass that began after its call.
 */
export function startBackgroundVerifier(options: BackgroundVerifierOptions): BackgroundVerifier {
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const waitMs = options.waitMs ?? 0;
  const clock = options.clock ?? (() => new Date());
  const onPassError = options.onPassError ?? ((error: Error) => process.stderr.write(`audit: verification failed: ${error.message}\n`));
  const aborting = new AbortController();
  let running: { startedAt: Date; done: Promise<void> } | null = null;
  /** The pass to start once the running one, too old for a caller, is done. */
  let following: Promise<void> | null = null;
  let finished: { startedAt: Date; results: ChainVerification[] } | { startedAt: Date; error: Error } | null = null;
  let isClosed = false;

  const isFresh = (startedAt: Date, now: Date) => now.getTime() - startedAt.getTime() <= maxAgeMs;

  function startPass(): Promise<void> {
    if (isClosed) return Promise.resolve();
    const startedAt = clock();
    let pass: Promise<ChainVerification[]>;
    try {
      pass = options.runPass(aborting.signal);
    } catch (error) {
      pass = Promise.reject(error);
    }
    const done = pass
      .then(
        (results) => {
          finished = { startedAt, results };
        },
        (error: Error) => {
          if (isClosed) return;
          finished = { startedAt, error };
          onPassError(error);
        },
      )
      .then(() => {
        running = null;
      });
    running = { startedAt, done };
    return done;
  }

  /** Resolves once a pass that began within `maxAgeMs` of `now` has finished, starting one where needed. */
  function fresh(now: Date): Promise<void> {
    if (running) {
      if (isFresh(running.startedAt, now)) return running.done;
      following ??= running.done.then(() => {
        following = null;
        return running ? running.done : startPass();
      });
      return following;
    }
    if (finished && isFresh(finished.startedAt, now)) return Promise.resolve();
    return startPass();
  }

  return {
    async latest() {
      await within(fresh(clock()), waitMs);
      if (finished === null) throw new VerificationPendingError(running?.startedAt ?? clock());
      if ('error' in finished) throw finished.error;
      return { verifiedAt: finished.startedAt, results: finished.results };
    },
    start() {
      void fresh(clock());
    },
    async close() {
      isClosed = true;
      aborting.abort();
      await running?.done;
    },
  };
}

/** Waits for `work` at most `ms`; never rejects (a pass's failure is kept as its result). */
async function within(work: Promise<void>, ms: number): Promise<void> {
  if (ms <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/**
 * Runs each pass in a worker thread of its own (verification-worker.js), so hashing a
 * large store never holds the department's thread: requests are answered meanwhile, on
 * both of a machine's cores. The worker opens its own connection to the store and ends
 * with the pass; an aborted pass terminates it.
 */
export function verifyInWorker(input: VerificationPassInput): (signal: AbortSignal) => Promise<ChainVerification[]> {
  // The pass as the running code has it: TypeScript beside the sources, JavaScript in dist/.
  const module = path.join(__dirname, `verification-pass${path.extname(__filename)}`);
  return (signal) =>
    new Promise<ChainVerification[]>((resolve, reject) => {
      const worker = new Worker(path.join(__dirname, 'verification-worker.js'), { workerData: { module, input }, execArgv: [] });
      const stop = () => void worker.terminate();
      signal.addEventListener('abort', stop, { once: true });
      let isAnswered = false;
      worker.once('message', (message: { results?: ChainVerification[]; error?: string }) => {
        isAnswered = true;
        if (message.error !== undefined) reject(new Error(message.error));
        else resolve(message.results as ChainVerification[]);
      });
      worker.once('error', (error) => {
        isAnswered = true;
        reject(error);
      });
      worker.once('exit', (code) => {
        signal.removeEventListener('abort', stop);
        if (!isAnswered) reject(new Error(signal.aborted ? 'verification stopped: the audit department is closing' : `the verification thread exited with code ${code}`));
      });
    });
}
