'use strict';
// Plain JavaScript, run by plain `node`, on purpose: under `--import tsx` every runtime
// require() goes through tsx's resolver hook, and @apollo/gateway, make-fetch-happen and
// Apollo Server require lazily on the request path (@apollo/utils.createhash on every
// query hash). The hook cost this baseline 12-15% of its requests/s in scenario A, a
// handicap the benchmark must not give the gateway it compares against.
const { readFileSync } = require('node:fs');
const { ApolloGateway } = require('@apollo/gateway');
const { ApolloServer } = require('@apollo/server');
const { startStandaloneServer } = require('@apollo/server/standalone');

/**
 * The baseline the benchmark compares against: a plain @apollo/gateway with every
 * default (its make-fetch-happen fetcher, Apollo Server's standalone HTTP server, no
 * plugins, no checks), over the supergraph the harness wrote for it: ours, with the
 * security directives @apollo/gateway cannot load removed (gateway/supergraph.ts) and the
 * departments' URLs of this run. Run as its own process by bench/stack.ts
 * (BENCH_SUPERGRAPH_FILE); APOLLO_TELEMETRY_DISABLED comes from there, so it stays offline.
 */
async function main() {
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

main().catch((error) => {
  console.error(`baseline gateway: ${error.message}`);
  process.exit(1);
});
