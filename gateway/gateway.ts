import { readFileSync } from 'node:fs';
import { ApolloServer, type BaseContext } from '@apollo/server';
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloGateway } from '@apollo/gateway';
import type { Config } from './config';
import { DepartmentDataSource } from './data-source';
import { maskGatewayErrors } from './errors';
import { identifierArgumentsPlugin } from './plugins/identifier-arguments';

/**
 * The federation gateway: the committed supergraph, one data source per department at
 * the URL configuration gives (or the supergraph's), and the plugins every request
 * passes through.
 */
export function createGateway(config: Config): ApolloServer<BaseContext> {
  // @apollo/gateway starts an OpenTelemetry exporter to Apollo (and probes cloud metadata
  // hosts) in its constructor unless this variable is set; it has no constructor option
  // for it. Government networks have no internet, so the gateway never depends on the
  // operator remembering it.
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(config.supergraphFile, 'utf8'),
    buildService: ({ name, url }) => new DepartmentDataSource(name, config.subgraphUrls[name] ?? url ?? ''),
  });
  return new ApolloServer({
    gateway,
    includeStacktraceInErrorResponses: false,
    persistedQueries: false,
    formatError: maskGatewayErrors,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      identifierArgumentsPlugin({ maxListLength: config.maxCitizensPerRequest }),
    ],
  });
}
