import { ConfigError } from '../lib/env';
import { createLogger } from '../lib/logger';
import { stopOnSignals } from '../lib/process-stop';
import { loadConfig } from './config';
import { startGateway } from './server';

/**
 * The gateway process: read configuration, build, listen, and own shutdown. On SIGTERM /
 * SIGINT it drains (readiness says so, answers in flight are answered, keep-alive clients
 * are told `connection: close`), writes the last audit records and the final checkpoint,
 * closes its stores and exits 0; 1 when any of that failed (lib/process-stop.ts).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('gateway', { level: config.logLevel });
  const gateway = await startGateway(config, { logger });
  logger.info({ url: gateway.url }, `gateway listening on ${gateway.url}`);
  process.send?.({ ready: 'gateway', url: gateway.url });
  stopOnSignals({
    logger,
    stop: () => gateway.stop(),
    drainingMessage: 'draining: no new connections; answering requests in flight, then closing the audit log',
    stoppedMessage: 'stopped: every answer recorded, final audit checkpoint written',
  });
}

main().catch((error: Error) => {
  console.error(`gateway: ${error instanceof ConfigError ? error.message : `cannot start: ${error.message}`}`);
  process.exit(1);
});
