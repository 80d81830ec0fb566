import { ConfigError } from '../lib/env';
import { createLogger } from '../lib/logger';
import { loadConfig } from './config';
import { startGateway } from './server';

/** The gateway process: read configuration, build, listen, and drain on SIGTERM / SIGINT. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('gateway', { level: config.logLevel });
  const gateway = await startGateway(config, { logger });
  logger.info({ url: gateway.url }, `gateway listening on ${gateway.url}`);
  process.send?.({ ready: 'gateway', url: gateway.url });
  let isStopping = false;
  const stop = () => {
    if (isStopping) return;
    isStopping = true;
    gateway.stop().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // Started by `npm start`: if that parent dies without stopping us, stop too.
  process.once('disconnect', stop);
}

main().catch((error: Error) => {
  console.error(`gateway: ${error instanceof ConfigError ? error.message : `cannot start: ${error.message}`}`);
  process.exit(1);
});
