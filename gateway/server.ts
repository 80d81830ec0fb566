import { serveGraphQL } from '../lib/graphql-http';
import type { Config } from './config';
import { createGateway } from './gateway';

export interface RunningGateway {
  url: string;
  stop(): Promise<void>;
}

/** Builds the gateway and serves it at `/graphql`; `stop` drains in-flight requests first. */
export async function startGateway(config: Config): Promise<RunningGateway> {
  const served = await serveGraphQL(createGateway(config), {
    host: config.host,
    port: config.port,
    maxBodyBytes: config.maxBodyBytes,
    context: async () => ({}),
  });
  return { url: served.url, stop: served.stop };
}
