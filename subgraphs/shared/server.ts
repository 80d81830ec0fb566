import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import path from 'node:path';
import { ApolloServer, type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { parse } from 'graphql';
import { WITNESS_PATH } from '../../audit/exchange';
import { SCHEMA_DIR } from '../../lib/composition';
import { serveGraphQL, type SealDecision, type SealedAnswer } from '../../lib/graphql-http';
import { maskUnexpectedErrors } from '../../lib/mask-errors';
import type { DepartmentAccessLog } from './access-log';
import type { DepartmentName } from './provenance';
import { scalarsDeclaredIn } from './scalars';
import type { DepartmentSecurity } from './security';
import { witnessRoute } from './witness-route';

/** A department's SDL as committed in `schema/<department>.graphql`: the contract front-end teams read. */
export function departmentTypeDefs(name: string) {
  return parse(readFileSync(path.join(SCHEMA_DIR, `${name}.graphql`), 'utf8'));
}

/**
 * Department answers hold personal data: no cache on the way may keep them. Apollo
 * Server's cache-control plugin came to the same `no-store` (no field has a hint), but
 * to compute it, it wraps every field's resolver for a per-field hook: 7% of the
 * departments' CPU per request in bench scenario A (`npm run bench`).
 */
const answersNotStored: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        response.http.headers.set('cache-control', 'no-store');
      },
    };
  },
};

export interface SubgraphDefinition<Context extends BaseContext> {
  name: DepartmentName;
  resolvers: GraphQLResolverMap<Context>;
  /** Called once per request: every request gets fresh loaders, so no data is shared between callers. The request is there for the headers the gateway forwards. */
  createContext: (request: IncomingMessage) => Context;
}

export interface RunningSubgraph {
  name: DepartmentName;
  url: string;
  httpServer: Server;
  stop(): Promise<void>;
}

/**
 * Starts one department's subgraph on its own HTTPS server, which trusts no one
 * (security.ts): the TLS handshake refuses a client without a certificate from the
 * federation's CA, the HTTP layer a request the gateway did not sign, and the department's
 * purpose check an operation its data may not be read for. Nothing reports to Apollo,
 * traces inline or serves a CDN landing page, whatever the environment says: departments
 * run on a network with no internet.
 *
 * With `accessLog` (every department `npm start` runs; shared/access-log.ts), every
 * answer is recorded in the department's own log before it leaves and carries a signed
 * receipt, and WITNESS_PATH takes the gateway's checkpoints; without it (tests that need
 * no log, the benchmark's plain baseline) neither.
 */
export async function startSubgraph<Context extends BaseContext>(
  definition: SubgraphDefinition<Context>,
  listen: { host: string; port: number },
  security: DepartmentSecurity,
  accessLog?: DepartmentAccessLog,
): Promise<RunningSubgraph> {
  const typeDefs = departmentTypeDefs(definition.name);
  const server = new ApolloServer<Context>({
    // buildSubgraphSchema types resolvers with an `unknown` context; ours is the Context built per request.
    schema: buildSubgraphSchema({
      typeDefs,
      resolvers: { ...scalarsDeclaredIn(typeDefs), ...definition.resolvers } as GraphQLResolverMap<unknown>,
    }),
    includeStacktraceInErrorResponses: false,
    // Apollo Server's own SIGTERM / SIGINT handler stops the server and then raises the signal again (exit 143) before the registry is closed: shared/run.ts owns shutdown.
    stopOnTerminationSignals: false,
    persistedQueries: false,
    formatError: maskUnexpectedErrors,
    plugins: [
      // First: it notes the citizens an operation asks for before the purpose check may refuse it.
      ...(accessLog ? [accessLog.plugin as ApolloServerPlugin<Context>] : []),
      ...(security.plugins as ApolloServerPlugin<Context>[]),
      ApolloServerPluginCacheControlDisabled(),
      answersNotStored,
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
    ],
  });
  const { tls } = security;
  const served = await serveGraphQL(server, {
    ...listen,
    context: async (request) => (accessLog ? accessLog.withNotes(definition.createContext(request)) : definition.createContext(request)),
    admit: security.admit,
    ...(accessLog ? { seal: accessLog.seal as (answer: SealedAnswer<Context>) => Promise<SealDecision>, routes: { [WITNESS_PATH]: witnessRoute(definition.name, security, accessLog) } } : {}),
    ...(tls ? { tls: { ...tls.current(), requireClientCertificate: true, onHandshakeFailure: tls.onHandshakeFailure } } : {}),
  });
  tls?.onRotate((material) => served.replaceTls(material));
  return { name: definition.name, url: served.url, httpServer: served.httpServer, stop: served.stop };
}
