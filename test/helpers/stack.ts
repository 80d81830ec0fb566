import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isObjectType } from 'graphql';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, loadConfig } from '../../gateway/config';
import { loadSupergraph } from '../../gateway/supergraph';
import { writeFixtureRegistries } from '../fixtures/registries';
import { CATALOG_FILE } from '../../lib/catalog';
import { SUPERGRAPH_FILE } from '../../lib/composition';
import { ensureDevSecret } from '../../lib/dev-secrets';
import { signDevToken, type DevTokenClaims } from '../../lib/dev-token';
import { startGateway, type RunningGateway } from '../../gateway/server';
import type { Logger } from '../../lib/logger';
import { householdSubgraph } from '../../subgraphs/household';
import { openHouseholdRegistry } from '../../subgraphs/household/registry';
import { licenseSubgraph } from '../../subgraphs/license';
import { openLicenseRegistry } from '../../subgraphs/license/registry';
import { residenceSubgraph } from '../../subgraphs/residence';
import { openResidenceRegistry } from '../../subgraphs/residence/registry';
import { loadProofReading, serviceSubgraph } from '../../subgraphs/service';
import { verifyDueCommitments, type FollowUpSummary } from '../../subgraphs/service/follow-up';
import { httpGatewayClient, type GatewayRequest } from '../../subgraphs/service/gateway-client';
import { openCommitmentStore } from '../../subgraphs/service/registry';
import { startSubgraph, type RunningSubgraph } from '../../subgraphs/shared/server';
import { loadAuditConfig } from '../../audit/config';
import { openAuditStore } from '../../audit/open-store';
import { ensureSigningKeyFile } from '../../audit/signing';
import type { AuditStore } from '../../audit/store';
import { auditSubgraph, departmentTrafficFromEnv, startAuditVerifier } from '../../subgraphs/audit';
import type { DepartmentAccessLog } from '../../subgraphs/shared/access-log';
import type { DepartmentSecurity } from '../../subgraphs/shared/security';
import { callDepartmentAsGateway, departmentAccessLogForTest, departmentSecurityForTest, transportEnv } from './federation-security';

/** Every batch of keys each registry method received, in order. */
export type RegistryCalls = Record<string, string[][]>;

/** Wraps a registry so each batch read is recorded; the reads themselves go to the real SQLite file. */
function recordBatches<Registry extends object>(registry: Registry): { registry: Registry; calls: RegistryCalls } {
  const calls: RegistryCalls = {};
  const recorded = Object.fromEntries(
    Object.entries(registry).map(([method, fn]) => {
      if (method === 'close') return [method, fn];
      calls[method] = [];
      return [method, (keys: readonly string[]) => {
        calls[method].push([...keys]);
        return (fn as (keys: readonly string[]) => unknown)(keys);
      }];
    }),
  ) as Registry;
  return { registry: recorded, calls };
}

/** A service item, in the catalog `startStack` writes, whose proofs need every field of the supergraph. */
export const EVERY_FIELD_ITEM = 'TEST-EVERY-FIELD';

export interface Stack {
  gatewayUrl: string;
  /** The development HS256 secret the gateway verifies tokens with. */
  jwtSecret: Buffer;
  /** A token signed like `npm run dev-token` signs them; by default a service caller granted EVERY_FIELD_ITEM with every scope. */
  token(claims?: Partial<DevTokenClaims>): Promise<string>;
  /** Headers of a service caller acting for EVERY_FIELD_ITEM with every scope, for tests of the federation itself. */
  serviceHeaders(overrides?: Partial<DevTokenClaims>, purpose?: { serviceItem?: string; caseNumber?: string }): Promise<Record<string, string>>;
  subgraphs: Record<'household' | 'residence' | 'license', RunningSubgraph>;
  /** Batches each department's registry read, by department then method. */
  registryCalls: Record<'household' | 'residence' | 'license', RegistryCalls>;
  /** The auditors' department and the audit store it reads, which the gateway writes. */
  audit: { subgraph: RunningSubgraph; store: AuditStore };
  /** HTTP requests each department's subgraph received. */
  subgraphRequests: Record<'household' | 'residence' | 'license', number>;
  /** The service bureau, a client of this stack's gateway, over `<dataDir>/service.sqlite`. */
  service: {
    subgraph: RunningSubgraph;
    /** Every request the bureau sent the gateway, in order. */
    gatewayRequests: GatewayRequest[];
    /** The follow-up job, as `npm run commitments:verify` runs it, at `now`, with a service-bureau token for every catalog item. */
    verifyDueCommitments(now: Date): Promise<FollowUpSummary>;
  };
  /**
   * Calls a department directly as the gateway does (over mutual TLS, signed), for a service
   * caller acting for EVERY_FIELD_ITEM: tests of a department's own answers.
   */
  callDepartment(
    department: 'household' | 'residence' | 'license' | 'service' | 'audit',
    query: string,
    variables?: Record<string, unknown>,
    /** Another purpose (the caller is granted its service item) or role (an auditor asserts no purpose). */
    as?: { serviceItem?: string; caseNumber?: string; role?: string },
  ): Promise<{ status: number; body: any; headers: Record<string, string | string[] | undefined> }>;
  /** POSTs a GraphQL request to the gateway and returns the status and parsed body; headers default to `serviceHeaders()`. */
  query(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  resetCounts(): void;
  stop(): Promise<void>;
}

/**
 * The whole federation in this process, on real HTTP servers on loopback ports: three
 * subgraphs over the SQLite registries in `dataDir`, the service bureau over its
 * commitments store there, and a gateway routed to them.
 */
export async function startStack(options: {
  dataDir: string;
  /** The departments' clock (a check's `checkedAt`, a commitment's deadline). */
  clock?: () => Date;
  /** The gateway's clock for its limits' windows, in ms since the epoch; default Date.now. */
  now?: () => number;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}): Promise<Stack> {
  // The auditors' department reads the departments' access logs where they are in this data folder, as in `npm start`
  // (parsed first: a bad setting must throw before anything is started).
  const readTraffic = departmentTrafficFromEnv({ PROOFLESS_DATA_DIR: options.dataDir, ...options.env });
  const catalogFile = writeEveryFieldCatalog(options.dataDir);
  const file = (name: string) => path.join(options.dataDir, `${name}.sqlite`);
  const household = recordBatches(openHouseholdRegistry(file('household')));
  const residence = recordBatches(openResidenceRegistry(file('residence')));
  const license = recordBatches(openLicenseRegistry(file('license')));
  const listen = { host: '127.0.0.1', port: 0 };
  // Each department trusts no one, as in production: mutual TLS, the gateway's signature, its own purpose check over this stack's catalog.
  const securities: DepartmentSecurity[] = [];
  const security = (name: string) => {
    const opened = departmentSecurityForTest(name, { catalogFile });
    securities.push(opened);
    return opened;
  };
  // And each keeps its own access log and signs receipts, as in production: one chain per department per stack (stacks may share a data folder).
  const accessLogs: DepartmentAccessLog[] = [];
  const guarded = async (name: string) => {
    const opened = security(name);
    const log = await departmentAccessLogForTest(name, options.dataDir, opened);
    accessLogs.push(log);
    return [opened, log] as const;
  };
  const subgraphs = {
    household: await startSubgraph(householdSubgraph(household.registry, { maxCitizensPerRequest: 100 }, options.clock), listen, ...(await guarded('household'))),
    residence: await startSubgraph(residenceSubgraph(residence.registry, options.clock), listen, ...(await guarded('residence'))),
    license: await startSubgraph(licenseSubgraph(license.registry, options.clock), listen, ...(await guarded('license'))),
  };
  const subgraphRequests = { household: 0, residence: 0, license: 0 };
  for (const [name, subgraph] of Object.entries(subgraphs)) {
    subgraph.httpServer.on('request', () => {
      subgraphRequests[name as keyof typeof subgraphRequests] += 1;
    });
  }
  // The bureau starts before the gateway (which routes to it) and finds the gateway through a getter.
  let gatewayUrl = '';
  const gatewayRequests: GatewayRequest[] = [];
  const sendToGateway = httpGatewayClient(() => gatewayUrl);
  const { catalog, reader } = loadProofReading({ catalogFile, supergraphFile: SUPERGRAPH_FILE }, (request) => {
    gatewayRequests.push(request);
    return sendToGateway(request);
  });
  const commitments = openCommitmentStore(file('service'));
  const service = await startSubgraph(serviceSubgraph({ catalog, reader, store: commitments, clock: options.clock }), listen, ...(await guarded('service')));
  // The auditors' department reads the audit store the gateway writes in the same data folder. Its
  // `auditChains` answers, unless a test says otherwise, a verification that began after the call:
  // tests tamper with the store and ask again at once (test/audit-verifier.test.ts tests the defaults).
  const auditConfig = loadAuditConfig({
    PROOFLESS_DATA_DIR: options.dataDir,
    PROOFLESS_AUDIT_CHAINS_MAX_AGE_SECONDS: '0',
    PROOFLESS_AUDIT_CHAINS_WAIT_MS: '8000',
    ...options.env,
  });
  ensureSigningKeyFile(auditConfig.signingKeyFile);
  const auditStore = await openAuditStore(auditConfig);
  const auditVerifier = startAuditVerifier(auditConfig);
  const auditDepartment = await startSubgraph(auditSubgraph(auditStore, auditVerifier, readTraffic), listen, ...(await guarded('audit')));
  // A gateway that refuses to start (a bad catalog, say) must not leave the departments running: jest would never exit.
  const stopDepartments = async () => {
    for (const subgraph of Object.values(subgraphs)) await subgraph.stop();
    await service.stop();
    await auditDepartment.stop();
    for (const opened of accessLogs) await opened.close();
    await auditVerifier.close();
    await auditStore.close();
    for (const opened of securities) opened.close();
    commitments.close();
    household.registry.close();
    residence.registry.close();
    license.registry.close();
  };
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(
      loadConfig({
        PROOFLESS_GATEWAY_PORT: '0',
        PROOFLESS_DATA_DIR: options.dataDir,
        PROOFLESS_CATALOG: catalogFile,
        // Several stacks may share one data folder (two gateway instances): each writes its own audit chain.
        PROOFLESS_AUDIT_CHAIN_ID: `test-${randomUUID()}`,
        PROOFLESS_HOUSEHOLD_URL: subgraphs.household.url,
        PROOFLESS_RESIDENCE_URL: subgraphs.residence.url,
        PROOFLESS_LICENSE_URL: subgraphs.license.url,
        PROOFLESS_SERVICE_URL: service.url,
        PROOFLESS_AUDIT_URL: auditDepartment.url,
        ...transportEnv(),
        ...options.env,
      }),
      { logger: options.logger, now: options.now },
    );
  } catch (error) {
    await stopDepartments();
    throw error;
  }
  gatewayUrl = gateway.url;
  const registryCalls = { household: household.calls, residence: residence.calls, license: license.calls };
  const jwtSecret = ensureDevSecret(options.dataDir, 'dev-jwt-secret');
  const token = (claims: Partial<DevTokenClaims> = {}) =>
    signDevToken(jwtSecret, DEFAULT_ISSUER, DEFAULT_AUDIENCE, {
      application: 'test-window',
      officer: 'officer-001',
      role: 'service',
      serviceItems: [EVERY_FIELD_ITEM],
      scopes: ['identity:ethnicity', 'residence:history'],
      ...claims,
    });
  const serviceHeaders = async (overrides: Partial<DevTokenClaims> = {}, purpose: { serviceItem?: string; caseNumber?: string } = {}) => ({
    authorization: `Bearer ${await token(overrides)}`,
    'x-service-item': purpose.serviceItem ?? EVERY_FIELD_ITEM,
    'x-case-number': purpose.caseNumber ?? 'CASE-2026-0001',
  });
  return {
    gatewayUrl: gateway.url,
    jwtSecret,
    token,
    serviceHeaders,
    subgraphs,
    audit: { subgraph: auditDepartment, store: auditStore },
    registryCalls,
    subgraphRequests,
    service: {
      subgraph: service,
      gatewayRequests,
      verifyDueCommitments: (now) => verifyDueCommitments({
        store: commitments,
        catalog,
        reader,
        credential: () => token({ application: 'service-bureau', officer: 'commitment-follow-up', serviceItems: [...catalog.items.keys()], scopes: [] }),
      }, now),
    },
    callDepartment(department, query, variables, as = {}) {
      const url = department === 'service' ? service.url : department === 'audit' ? auditDepartment.url : subgraphs[department].url;
      const serviceItem = as.serviceItem ?? EVERY_FIELD_ITEM;
      const role = as.role ?? 'service';
      return callDepartmentAsGateway(url, department, {
        query,
        variables,
        caller: { application: 'test-window', officer: 'officer-001', role, serviceItems: [serviceItem], scopes: ['identity:ethnicity', 'residence:history'] },
        headers: role === 'service' ? { 'x-service-item': serviceItem, 'x-case-number': as.caseNumber ?? 'CASE-2026-0001' } : {},
      });
    },
    async query(query, variables, headers) {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(headers ?? (await serviceHeaders())) },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, body: await response.json(), headers: response.headers };
    },
    resetCounts() {
      for (const calls of Object.values(registryCalls)) for (const batches of Object.values(calls)) batches.length = 0;
      for (const name of Object.keys(subgraphRequests)) subgraphRequests[name as keyof typeof subgraphRequests] = 0;
      gatewayRequests.length = 0;
    },
    async stop() {
      await gateway.stop();
      await stopDepartments();
    },
  };
}

/**
 * The real catalog plus one item whose proofs need every field the supergraph has: tests
 * of the federation itself use it, tests of purpose binding use the real items.
 */
function writeEveryFieldCatalog(dataDir: string): string {
  const catalog = JSON.parse(readFileSync(CATALOG_FILE, 'utf8'));
  const schema = loadSupergraph(SUPERGRAPH_FILE).apiSchema;
  const fields = Object.values(schema.getTypeMap())
    .filter((type) => isObjectType(type) && !type.name.startsWith('__'))
    .flatMap((type) => Object.keys((type as { getFields(): object }).getFields()).map((field) => `${type.name}.${field}`));
  catalog.serviceItems.push({
    code: EVERY_FIELD_ITEM, name: '测试', nameEn: 'Every field, for tests', department: 'test', highRisk: false,
    entryPoints: [], proofs: [{ code: 'ALL', name: 'all', mode: 'DATA_SHARING', facts: 'idNumber', fields }],
  });
  const file = path.join(dataDir, 'test-catalog.json');
  writeFileSync(file, JSON.stringify(catalog));
  return file;
}

/**
 * Runs the whole federation over the fixture city (test/fixtures/registries.ts) for one
 * test file: started before its tests, stopped after, request counts reset before each.
 */
export function useFixtureStack(options: { clock?: () => Date } = {}): { readonly stack: Stack; readonly dataDir: string } {
  let fixture: ReturnType<typeof writeFixtureRegistries> | undefined;
  let stack: Stack | undefined;
  beforeAll(async () => {
    fixture = writeFixtureRegistries();
    stack = await startStack({ dataDir: fixture.dataDir, clock: options.clock });
  });
  afterAll(async () => {
    await stack?.stop();
    fixture?.remove();
  });
  beforeEach(() => stack?.resetCounts());
  return {
    get stack() {
      return stack as Stack;
    },
    get dataDir() {
      return (fixture as { dataDir: string }).dataDir;
    },
  };
}
