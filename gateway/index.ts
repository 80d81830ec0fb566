import { ConfigError } from '../lib/env';
import { createLogger } from '../lib/logger';
import { loadConfig } from './config';
import { startGateway } from './server';

/**
 * The gateway process: read configuration, build, listen, and own shutdown. On SIGTERM /
 * SIGINT it drains (readiness says so, answers in flight are answered, keep-alive clients
 * are told `connection: close`), writes the last audit records and the final checkpoint,
 * closes its stores and exits 0; 1 when any of that failed. Signals that arrive while it
 * drains change nothing: `npm start` on Ctrl-C sends one and the terminal another.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('gateway', { level: config.logLevel });
  const gateway = await startGateway(config, { logger });
  logger.info({ url: gateway.url }, `gateway listening on ${gateway.url}`);
  process.send?.({ ready: 'gateway', url: gateway.url });
  let isStopping = false;
  const stop = (reason: string) => {
    if (isStopping) return;
    isStopping = true;
    const stopped = gateway.stop();
    // Written once draining has begun (stop() starts it before its first await).
    logger.info({ reason }, 'draining: no new connections; answering requests in flight, then closing the audit log');
    stopped.then(
      () => {
        logger.info('stopped: every answer recorded, final audit checkpoint written');
        process.exit(0);
      },
      (error: Error) => {
        logger.error({ err: error }, `could not stop cleanly: ${error.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Started by `npm start`: if that parent dies without stopping us, stop too.
  process.once('disconnect', () => stop('npm start is gone'));
}

main().catch((error: Error) => {
  console.error(`gateway: ${error instanceof ConfigError ? error.message : `cannot start: ${error.message}`}`);
  process.exit(1);
});
