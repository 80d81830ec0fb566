import { departmentClock, type DepartmentClock } from '../shared/clock';
import { rowsByKeyLoader } from '../shared/loaders';
import { runDepartment, type DepartmentBuilder } from '../shared/run';
import type { SubgraphDefinition } from '../shared/server';
import { openResidenceRegistry, type ResidenceRegistry } from './registry';
import { resolvers } from './resolvers';

export interface ResidenceContext extends DepartmentClock {
  loaders: ReturnType<typeof createLoaders>;
}

function createLoaders(registry: ResidenceRegistry) {
  return {
    periods: rowsByKeyLoader((ids) => registry.readPeriods(ids), (row) => row.idNumber),
    permits: rowsByKeyLoader((ids) => registry.readPermits(ids), (row) => row.idNumber),
  };
}

export function residenceSubgraph(registry: ResidenceRegistry, clock: () => Date = () => new Date()): SubgraphDefinition<ResidenceContext> {
  return {
    name: 'residence',
    resolvers,
    createContext: () => ({ loaders: createLoaders(registry), ...departmentClock(clock) }),
  };
}

/** The residence department as its process builds it (shared/run.ts runs it; the benchmark's baseline runs it without its guard). */
export const residenceDepartment: DepartmentBuilder = (config) => {
  const registry = openResidenceRegistry(config.registryFile);
  return { definition: residenceSubgraph(registry), close: () => registry.close() };
};

if (require.main === module) runDepartment('residence', residenceDepartment);
