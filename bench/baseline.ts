import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

/**
 * The baseline the benchmark compares against: a plain @apollo/gateway with every
 * default (its make-fetch-happen fetcher, Apollo Server's standalone HTTP server, no
 * plugins, no checks), over the supergraph the harness wrote for it: ours, with the
 * security directives @apollo/gateway cannot load removed (gateway/supergraph.ts) and the
 * departments' URLs of this run. Run as its own process by bench/stack.ts
 * (BENCH_SUPERGRAPH_FILE); APOLLO_TELEMETRY_DISABLED comes from there, so it stays offline.
 */
async function main(): Promise<void> {
  const file = process.env.BENCH_SUPERGRAPH_FILE;
  if (!file) throw new Error('BENCH_SUPERGRAPH_FILE must name the supergraph to serve');
  const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl: readFileSync(file, 'utf8') }) });
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
  process.send?.({ ready: 'baseline', url });
  const stop = () => {
    server.stop().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // If the harness dies without stopping us, stop too.
  process.once('disconnect', stop);
}

main().catch((error: Error) => {
  console.error(`baseline gateway: ${error.message}`);
  process.exit(1);
});
