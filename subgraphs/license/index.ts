import { departmentClock, type DepartmentClock } from '../shared/clock';
import { rowByKeyLoader, rowsByKeyLoader } from '../shared/loaders';
import { runDepartment, type DepartmentBuilder } from '../shared/run';
import type { SubgraphDefinition } from '../shared/server';
import { openLicenseRegistry, type LicenseRegistry } from './registry';
import { resolvers } from './resolvers';

export interface LicenseContext extends DepartmentClock {
  loaders: ReturnType<typeof createLoaders>;
}

function createLoaders(registry: LicenseRegistry) {
  return {
    licencesByHolder: rowsByKeyLoader((ids) => registry.readLicencesByHolders(ids), (row) => row.holderIdNumber),
    licencesByBusiness: rowsByKeyLoader((codes) => registry.readLicencesByBusinesses(codes), (row) => row.businessCreditCode ?? ''),
    business: rowByKeyLoader((codes) => registry.readBusinesses(codes), (row) => row.creditCode),
  };
}

export function licenseSubgraph(registry: LicenseRegistry, clock: () => Date = () => new Date()): SubgraphDefinition<LicenseContext> {
  return {
    name: 'license',
    resolvers,
    createContext: () => ({ loaders: createLoaders(registry), ...departmentClock(clock) }),
  };
}

/** The license department as its process builds it (shared/run.ts runs it; the benchmark's baseline runs it without its guard). */
export const licenseDepartment: DepartmentBuilder = (config) => {
  const registry = openLicenseRegistry(config.registryFile);
  return { definition: licenseSubgraph(registry), close: () => registry.close() };
};

if (require.main === module) runDepartment('license', licenseDepartment);
