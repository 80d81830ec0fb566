import type { IncomingMessage } from 'node:http';
import { catalogProblems, loadCatalog, type ProofCatalog } from '../../lib/catalog';
import { ConfigError } from '../../lib/env';
import { createLogger, type Logger } from '../../lib/logger';
import { loadSupergraph } from '../../gateway/supergraph';
import { rowsByKeyLoader } from '../shared/loaders';
import { runDepartment, type DepartmentBuilder } from '../shared/run';
import type { SubgraphDefinition } from '../shared/server';
import { loadServiceConfig } from './config';
import { scheduleFollowUps } from './follow-up';
import { FORWARDED_HEADERS, httpGatewayClient, type GatewayClient } from './gateway-client';
import { proofReader, type ProofReader } from './reads';
import { openCommitmentStore, type CommitmentStore } from './registry';
import { resolvers } from './resolvers';

export interface ServiceDependencies {
  catalog: ProofCatalog;
  reader: ProofReader;
  store: CommitmentStore;
  /** When commitments are signed; default the system clock. */
  clock?: () => Date;
}

export interface ServiceContext extends Required<ServiceDependencies> {
  /** The incoming request's purpose headers, passed on to the gateway unchanged. */
  forwarded: Record<string, string>;
  /** The request ID the gateway sent with the request (`x-request-id`), for the bureau's log lines about it. */
  requestId: string | undefined;
  loaders: ReturnType<typeof createLoaders>;
}

function createLoaders(store: CommitmentStore) {
  return {
    commitmentsByCase: rowsByKeyLoader((caseNumbers) => store.readByCaseNumbers(caseNumbers), (row) => row.caseNumber),
    breachesByApplicant: rowsByKeyLoader((applicants) => store.readBreachedByApplicants(applicants), (row) => row.applicant),
  };
}

export function serviceSubgraph(dependencies: ServiceDependencies): SubgraphDefinition<ServiceContext> {
  const clock = dependencies.clock ?? (() => new Date());
  return {
    name: 'service',
    resolvers,
    createContext: (request) => ({
      ...dependencies,
      clock,
      forwarded: forwardedHeaders(request),
      requestId: typeof request.headers['x-request-id'] === 'string' ? request.headers['x-request-id'] : undefined,
      loaders: createLoaders(dependencies.store),
    }),
  };
}

/**
 * The catalog, checked against the supergraph as the gateway checks it, and the reader the
 * checklist and the follow-up job read departments through; `logger` as proofReader's.
 */
export function loadProofReading(files: { catalogFile: string; supergraphFile: string }, gateway: GatewayClient, logger?: Logger): { catalog: ProofCatalog; reader: ProofReader } {
  const supergraph = loadSupergraph(files.supergraphFile);
  const catalog = loadCatalog(files.catalogFile);
  const problems = catalogProblems(catalog, supergraph.apiSchema);
  if (problems.length > 0) throw new ConfigError(`the proof catalog does not fit the supergraph:\n  ${problems.join('\n  ')}`);
  return { catalog, reader: proofReader(supergraph, gateway, logger) };
}

function forwardedHeaders(request: IncomingMessage): Record<string, string> {
  return Object.fromEntries(FORWARDED_HEADERS.flatMap((name) => {
    const value = request.headers[name];
    return typeof value === 'string' && value !== '' ? [[name, value]] : [];
  }));
}

/** The service department as its process builds it (shared/run.ts runs it; the benchmark's baseline runs it without its guard). */
export const serviceDepartment: DepartmentBuilder = (department) => {
  const config = loadServiceConfig(process.env, department);
  let gatewayUrl = config.gatewayUrl;
  // `npm start` learns the gateway's address only after the departments are up (the
  // gateway needs theirs first, and may be on a free port), then sends it here.
  process.on('message', (message: { gatewayUrl?: unknown }) => {
    if (typeof message?.gatewayUrl === 'string') gatewayUrl = message.gatewayUrl;
  });
  const { catalog, reader } = loadProofReading(config, httpGatewayClient(() => gatewayUrl), createLogger('service'));
  const store = openCommitmentStore(config.registryFile);
  const stopFollowUps = scheduleFollowUps({ store, catalog, reader, credential: config.credential }, config.followUpIntervalSeconds);
  return {
    definition: serviceSubgraph({ catalog, reader, store }),
    close: () => {
      stopFollowUps();
      store.close();
    },
  };
};

if (require.main === module) runDepartment('service', serviceDepartment);
