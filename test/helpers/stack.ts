import path from 'node:path';
import { loadConfig } from '../../gateway/config';
import { startGateway, type RunningGateway } from '../../gateway/server';
import { householdSubgraph } from '../../subgraphs/household';
import { openHouseholdRegistry } from '../../subgraphs/household/registry';
import { licenseSubgraph } from '../../subgraphs/license';
import { openLicenseRegistry } from '../../subgraphs/license/registry';
import { residenceSubgraph } from '../../subgraphs/residence';
import { openResidenceRegistry } from '../../subgraphs/residence/registry';
import { startSubgraph, type RunningSubgraph } from '../../subgraphs/shared/server';

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

export interface Stack {
  gatewayUrl: string;
  subgraphs: Record<'household' | 'residence' | 'license', RunningSubgraph>;
  /** Batches each department's registry read, by department then method. */
  registryCalls: Record<'household' | 'residence' | 'license', RegistryCalls>;
  /** HTTP requests each department's subgraph received. */
  subgraphRequests: Record<'household' | 'residence' | 'license', number>;
  /** POSTs a GraphQL request to the gateway and returns the status and parsed body. */
  query(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  resetCounts(): void;
  stop(): Promise<void>;
}

/**
 * The whole federation in this process, on real HTTP servers on loopback ports: three
 * subgraphs over the SQLite registries in `dataDir`, and a gateway routed to them.
 */
export async function startStack(options: { dataDir: string; clock?: () => Date; env?: NodeJS.ProcessEnv }): Promise<Stack> {
  const file = (name: string) => path.join(options.dataDir, `${name}.sqlite`);
  const household = recordBatches(openHouseholdRegistry(file('household')));
  const residence = recordBatches(openResidenceRegistry(file('residence')));
  const license = recordBatches(openLicenseRegistry(file('license')));
  const listen = { host: '127.0.0.1', port: 0 };
  const subgraphs = {
    household: await startSubgraph(householdSubgraph(household.registry, { maxCitizensPerRequest: 100 }), listen),
    residence: await startSubgraph(residenceSubgraph(residence.registry, options.clock), listen),
    license: await startSubgraph(licenseSubgraph(license.registry), listen),
  };
  const subgraphRequests = { household: 0, residence: 0, license: 0 };
  for (const [name, subgraph] of Object.entries(subgraphs)) {
    subgraph.httpServer.on('request', () => {
      subgraphRequests[name as keyof typeof subgraphRequests] += 1;
    });
  }
  const gateway: RunningGateway = await startGateway(
    loadConfig({
      PROOFLESS_GATEWAY_PORT: '0',
      PROOFLESS_HOUSEHOLD_URL: subgraphs.household.url,
      PROOFLESS_RESIDENCE_URL: subgraphs.residence.url,
      PROOFLESS_LICENSE_URL: subgraphs.license.url,
      ...options.env,
    }),
  );
  const registryCalls = { household: household.calls, residence: residence.calls, license: license.calls };
  return {
    gatewayUrl: gateway.url,
    subgraphs,
    registryCalls,
    subgraphRequests,
    async query(query, variables, headers = {}) {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, body: await response.json() };
    },
    resetCounts() {
      for (const calls of Object.values(registryCalls)) for (const batches of Object.values(calls)) batches.length = 0;
      for (const name of Object.keys(subgraphRequests)) subgraphRequests[name as keyof typeof subgraphRequests] = 0;
    },
    async stop() {
      await gateway.stop();
      for (const subgraph of Object.values(subgraphs)) await subgraph.stop();
      household.registry.close();
      residence.registry.close();
      license.registry.close();
    },
  };
}
