import type { IncomingMessage } from 'node:http';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloGateway } from '@apollo/gateway';
import { isObjectType, type GraphQLError } from 'graphql';
import type { AuditLog } from '../audit/log';
import type { SignedCheckpoint } from '../audit/store';
import { catalogProblems, loadCatalog } from '../lib/catalog';
import { ConfigError } from '../lib/env';
import { ErrorCode } from '../lib/error-codes';
import type { ErrorAnswer, RefusalBeforeGraphQL } from '../lib/graphql-http';
import { createAuthenticator } from './auth';
import type { DepartmentCache } from './cache/department-cache';
import { inProcessDepartmentCache } from './cache/open';
import type { Config } from './config';
import type { GatewayContext } from './context';
import { checkpointWitnesses } from './checkpoint-witnesses';
import { CircuitBreaker } from './circuit-breaker';
import { DepartmentDataSource } from './data-source';
import { createGatewayMetrics, type GatewayMetrics } from './metrics';
import { outcomeOfStatus, type Outcome } from './outcome';
import type { Logger } from '../lib/logger';
import { departmentFetcher } from './department-fetch';
import { secondsUntilExpiryOf, type DepartmentTransport } from './department-transport';
import { listDepartments } from '../lib/composition';
import { memoiseExecutionOperations } from './execution-operations';
import { maskGatewayErrors } from './errors';
import { costModelOf } from './operation-cost';
import { anonymousRequests } from './anonymous-requests';
import { AUDIT_UNAVAILABLE, auditPlugin, recordRefusedBeforePipeline } from './plugins/audit';
import { concurrencyLimitPlugin } from './plugins/concurrency';
import { identifierArgumentsPlugin } from './plugins/identifier-arguments';
import { limitsPlugin } from './plugins/limits';
import { operationResolutionPlugin } from './plugins/operation-resolution';
import { purposePlugin } from './plugins/purpose';
import { rateLimits as createRateLimits } from './plugins/rate-limits';
import { scopesPlugin } from './plugins/scopes';
import { loadTrustedOperations } from './plugins/trusted-operations';
import { memoryRateLimitStore, type RateLimitStore } from './rate-limit-store';
import { reservedNamesRule } from './reserved-names';
import { loadSupergraph, type LoadedSupergraph } from './supergraph';

export interface GatewayDependencies {
  /** Where every operation's audit record goes (server.ts opens it from the configuration). */
  auditLog: AuditLog;
  /** Where rate limits are counted; default in this process (server.ts passes a Redis-backed one when configured). */
  rateLimitStore?: RateLimitStore;
  /** The clock rate-limit windows follow; default `Date.now`. */
  now?: () => number;
  /** Where departments' answers are kept when the cache is on; default an LRU in this process (server.ts passes the Redis one when configured). */
  cache?: DepartmentCache;
  /** Where the request log and circuit changes go; default nowhere. */
  log?: Logger;
  /** Mutual TLS to departments and the signature on every request (server.ts opens it from the configuration). */
  transport: DepartmentTransport;
}

export interface Gateway {
  server: ApolloServer<GatewayContext>;
  /** Each department's data source by name, once the server has started (readiness reads their circuits). */
  departments: Map<string, DepartmentDataSource>;
  /** The department-answer cache, when on (metrics read its counters). */
  cache?: DepartmentCache;
  /** Prometheus metrics: requests, departments, cache, audit writes, circuits; served at `/metrics`. */
  metrics: GatewayMetrics;
  /** Builds a request's context under the ID it was given on arrival: verifies its bearer token (401 on a bad one, recorded). */
  context(req: IncomingMessage, arrival: { requestId: string }): Promise<GatewayContext>;
  /** Counts and logs an answer once it is written (the HTTP layer calls it). */
  didAnswer(answer: { context?: GatewayContext; requestId: string; status: number; seconds: number; refusalCode?: string }): void;
  /**
   * Records a refusal given before Apollo Server's request pipeline (an unreadable body, a
   * batch, a GET blocked as CSRF...) when the caller is known or claimed a purpose;
   * answers 503 AUDIT_UNAVAILABLE instead when the record cannot be written.
   */
  refusedBeforeGraphQL(refusal: RefusalBeforeGraphQL<GatewayContext>): Promise<ErrorAnswer | undefined>;
  /**
   * Sends a checkpoint of the gateway's audit chain to every department called since the
   * last one, to witness (checkpoint-witnesses.ts): the audit log's onCheckpoint. Never rejects.
   */
  witnessCheckpoint(checkpoint: SignedCheckpoint): Promise<void>;
  /** Writes what the gateway still holds for the audit log (the aggregates of refused anonymous requests) and waits for checkpoint pushes under way; before the log closes. */
  close(): Promise<void>;
}

/**
 * The federation gateway: the committed supergraph, one data source per department at
 * the URL configuration gives (or the supergraph's), and the checks every request passes
 * before any department is called, in this order: an operation the gateway can run
 * (one it can resolve, not a subscription), trusted operations (an unregistered document
 * learns nothing else), purpose and role, department scopes, operation limits (the
 * estimated cost included), identifiers (and variables), requests in flight per officer,
 * rate limits; then the citizens the answer discloses are
 * admitted against the distinct-citizens limit and the audit record is written, before
 * any answer leaves.
 */
export function createGateway(config: Config, dependencies: GatewayDependencies): Gateway {
  const supergraph = loadSupergraph(config.supergraphFile);
  const catalog = loadCatalog(config.catalogFile);
  const problems = catalogProblems(catalog, supergraph.apiSchema);
  if (problems.length > 0) throw new ConfigError(`the proof catalog does not fit the supergraph:\n  ${problems.join('\n  ')}`);
  const trusted = config.trustedOperationsFile ? loadTrustedOperations({ manifestFile: config.trustedOperationsFile, catalog, schema: supergraph.apiSchema }) : undefined;

  // @apollo/gateway starts an OpenTelemetry exporter to Apollo (and probes cloud metadata
  // hosts) in its constructor unless this variable is set; it has no constructor option
  // for it. Government networks have no internet, so the gateway never depends on the
  // operator remembering it.
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  // It also rebuilds each operation for execution on every request: execution-operations.ts says why that call is memoised.
  memoiseExecutionOperations();
  const departments = new Map<string, DepartmentDataSource>();
  const calls = config.departmentCalls;
  const cache = config.cache.isEnabled ? dependencies.cache ?? inProcessDepartmentCache(config.cache, config.pseudonymKey) : undefined;
  const { transport } = dependencies;
  const callsGateway = new Set(listDepartments().filter((entry) => entry.callsGateway).map((entry) => entry.name));
  const metrics = createGatewayMetrics({
    circuits: () => [...departments].map(([name, department]) => [name, department.breaker.state]),
    certificateSecondsLeft: () => secondsUntilExpiryOf(transport.certificates(), Date.now()),
    ...(cache ? { cacheCounters: () => cache.counters } : {}),
  });
  const log = dependencies.log;
  const witnesses = checkpointWitnesses({
    send: async (name, checkpoint) => {
      const department = departments.get(name);
      if (!department) throw new Error(`the gateway has no ${name} department`);
      await department.witnessCheckpoint(checkpoint);
    },
    observe: metrics.countWitnessPush,
    log,
  });
  const gateway = new ApolloGateway({
    supergraphSdl: supergraph.gatewaySdl,
    buildService: ({ name, url }) => {
      const departmentUrl = config.subgraphUrls[name] ?? url ?? '';
      // An http:// URL would bypass the TLS connector altogether (undici connects plain for it): refused unless plain HTTP was switched on.
      if (config.departmentTransport.tlsFiles && !departmentUrl.startsWith('https://')) {
        throw new ConfigError(`the ${name} department's URL must be https:// (mutual TLS), got ${departmentUrl.split(':')[0]}: set PROOFLESS_${name.toUpperCase()}_URL`);
      }
      const department = new DepartmentDataSource(name, departmentUrl, {
        fetcher: departmentFetcher({ timeoutMs: calls.timeoutMs[name] ?? 3000, maxSockets: calls.maxSockets, tls: transport.tlsFor(name) }),
        sign: transport.sign,
        receipts: transport.receipts,
        onCalled: witnesses.noteCalled,
        log,
        forwardsToken: callsGateway.has(name),
        breaker: new CircuitBreaker({
          failureThreshold: calls.breakerFailures,
          openMs: calls.breakerOpenMs,
          onStateChange: (state) => log?.[state === 'open' ? 'warn' : 'info']({ department: name, circuit: state }, `the ${name} department's circuit is ${state}`),
        }),
        cache,
        observeCall: (outcome, seconds) => metrics.observeDepartmentCall(name, outcome, seconds),
      });
      departments.set(name, department);
      return department;
    },
  });
  const rateLimits = createRateLimits({
    store: dependencies.rateLimitStore ?? memoryRateLimitStore(config.rateLimits),
    pseudonymKey: config.pseudonymKey,
    now: dependencies.now,
  });
  const server = new ApolloServer<GatewayContext>({
    gateway,
    introspection: config.introspection,
    // "Did you mean ...?" names fields the caller did not: where introspection hides the schema, so do errors.
    hideSchemaDetailsFromClientErrors: !config.introspection,
    // Apollo Server's own SIGTERM / SIGINT handler stops the server and then raises the signal again, killing the process (exit 143) before the audit log is closed: gateway/index.ts owns shutdown.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    persistedQueries: trusted ? { cache: trusted.cache } : false,
    validationRules: [reservedNamesRule],
    formatError: maskGatewayErrors,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      operationResolutionPlugin(),
      ...(trusted ? [trusted.plugin] : []),
      purposePlugin({ catalog, ...auditorFields(supergraph) }),
      scopesPlugin({ policies: supergraph.policies }),
      limitsPlugin(config.limits, costModelOf(supergraph.gatewaySdl)),
      identifierArgumentsPlugin({ maxListLength: config.maxCitizensPerRequest }),
      concurrencyLimitPlugin({ maxPerOfficer: config.maxConcurrentPerOfficer, bureauCoordinates: supergraph.soleCoordinates.get('service') }),
      rateLimits.plugin,
      auditPlugin({
        log: dependencies.auditLog,
        writeTimeoutMs: config.auditWriteTimeoutMs,
        observeWrite: metrics.observeAuditWrite,
        admitDisclosure: rateLimits.admitDisclosure,
      }),
    ],
  });
  const authenticate = createAuthenticator(config.auth);
  const anonymous = anonymousRequests({
    perAddressPerMinute: config.anonymousPerMinute,
    totalPerMinute: config.anonymousTotalPerMinute,
    auditLog: dependencies.auditLog,
    now: dependencies.now,
    log,
  });
  return {
    server,
    departments,
    ...(cache ? { cache } : {}),
    metrics,
    didAnswer({ context, requestId, status, seconds, refusalCode }) {
      const outcome = context?.ending.outcome ?? outcomeOfStatus(status);
      metrics.observeRequest(outcome, seconds);
      log?.info(requestLogLine(context, requestId, status, outcome, seconds, refusalCode), 'answered');
    },
    async context(req, { requestId }) {
      const context: GatewayContext = { caller: null, requestId, startedAt: Date.now(), departmentsCalled: new Set(), exchange: { calls: [], departmentCheckpoints: [] }, ending: {} };
      try {
        context.caller = await authenticate(req.headers.authorization);
      } catch (error) {
        // Past its address's allowance, a request without a valid token is refused and recorded only in aggregate.
        const overAllowance = anonymous.admit(addressOf(req));
        if (overAllowance) throw overAllowance;
        // A bad token never reaches the request pipeline, where the audit plugin works: record the refusal here, whatever else the request claims.
        const code = String((error as GraphQLError).extensions?.code ?? ErrorCode.UNAUTHENTICATED);
        await recordRefusedBeforePipeline(dependencies.auditLog, { requestId, startedAt: context.startedAt, caller: null, headers: req.headers, code }, config.auditWriteTimeoutMs);
        throw error;
      }
      if (!context.caller) {
        const overAllowance = anonymous.admit(addressOf(req));
        if (overAllowance) throw overAllowance;
      }
      return context;
    },
    async refusedBeforeGraphQL({ req, requestId, arrivedAt, context, code }) {
      // Verified tokens are cached by the authenticator: a known caller costs no second verification.
      const caller = context ? context.caller : await authenticate(req.headers.authorization).catch(() => null);
      // Anonymous junk that claims no purpose is not recorded one request at a time; past the address's allowance, none is.
      if (!caller && !req.headers['x-service-item'] && !req.headers['x-case-number']) return undefined;
      if (!caller && anonymous.admit(addressOf(req), code)) return undefined;
      try {
        await recordRefusedBeforePipeline(dependencies.auditLog, { requestId, startedAt: arrivedAt, caller, headers: req.headers, code }, config.auditWriteTimeoutMs);
        return undefined;
      } catch {
        return { status: 503, code: ErrorCode.AUDIT_UNAVAILABLE, message: AUDIT_UNAVAILABLE.message };
      }
    },
    witnessCheckpoint: (checkpoint) => witnesses.witness(checkpoint),
    async close() {
      await anonymous.close();
      await witnesses.settled();
    },
  };
}

/** The client's address as the gateway's socket sees it (a proxy's, behind one). */
function addressOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/**
 * What role auditor reads: everything the audit department serves, and the service
 * bureau's list of breached commitments (国办发〔2020〕42号 breaches are for auditors to
 * follow up), whose commitment fields service callers also see in a checklist.
 */
function auditorFields(supergraph: LoadedSupergraph): { auditorCoordinates: Set<string>; auditorAlsoReads: Set<string> } {
  const auditorCoordinates = new Set([...supergraph.auditorCoordinates, 'Query.breachedCommitments', 'CommitmentPage.commitments', 'CommitmentPage.endCursor', 'CommitmentPage.hasNextPage']);
  const commitment = supergraph.apiSchema.getType('Commitment');
  const auditorAlsoReads = new Set(isObjectType(commitment) ? Object.keys(commitment.getFields()).map((field) => `Commitment.${field}`) : []);
  return { auditorCoordinates, auditorAlsoReads };
}

/**
 * One line per answer for operations: who called, for which item, how it ended and how
 * long it took. Never which citizens or which case (the audit log holds those, for
 * auditors), and never the document.
 */
function requestLogLine(context: GatewayContext | undefined, requestId: string, status: number, outcome: Outcome, seconds: number, refusalCode: string | undefined) {
  return {
    requestId,
    status,
    outcome,
    ms: Math.round(seconds * 1000),
    application: context?.caller?.application,
    officer: context?.caller?.officer,
    serviceItem: context?.ending.serviceItem,
    departments: context ? [...context.departmentsCalled] : [],
    refusal: context?.ending.refusalCode ?? refusalCode,
  };
}
