import type { Logger } from './logger';

export interface StopOnSignalsOptions {
  logger: Logger;
  /** Stops the process's work: drains, closes stores. Started once, whatever arrives next. */
  stop(): Promise<void>;
  /** Logged once draining has begun: what the process is doing meanwhile. */
  drainingMessage: string;
  /** Logged when `stop` has finished, before exit 0; default nothing. */
  stoppedMessage?: string;
}

/**
 * A process of ours owns its shutdown (Apollo Server's signal handler is off: it raised
 * the signal again before the audit log closed). On SIGTERM or SIGINT, or when `npm start`
 * that forked it is gone, it stops once, then exits 0, or 1 with the reason in its log.
 * Signals that arrive while it drains change nothing: `npm start` on Ctrl-C sends one and
 * the terminal another.
 */
export function stopOnSignals(options: StopOnSignalsOptions): void {
  let isStopping = false;
  const stop = (reason: string) => {
    if (isStopping) return;
    isStopping = true;
    const stopped = options.stop();
    // Written once draining has begun (stop() starts it before its first await).
    options.logger.info({ reason }, options.drainingMessage);
    stopped.then(
      () => {
        if (options.stoppedMessage) options.logger.info(options.stoppedMessage);
        process.exit(0);
      },
      (error: Error) => {
        options.logger.error({ err: error }, `could not stop cleanly: ${error.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.once('disconnect', () => stop('npm start is gone'));
}
