import { departmentClock, type DepartmentClock } from '../shared/clock';
import { rowByKeyLoader, rowsByKeyLoader } from '../shared/loaders';
import { runDepartment, type DepartmentBuilder } from '../shared/run';
import type { SubgraphDefinition } from '../shared/server';
import type { HouseholdRegistry } from './registry';
import { openHouseholdRegistry } from './registry';
import { resolvers } from './resolvers';

export interface HouseholdContext extends DepartmentClock {
  loaders: ReturnType<typeof createLoaders>;
  maxCitizensPerRequest: number;
}

/** Per-request loaders: one registry read per entity level, whatever the number of citizens asked. */
function createLoaders(registry: HouseholdRegistry) {
  return {
    person: rowByKeyLoader((ids) => registry.readPersons(ids), (row) => row.idNumber),
    household: rowByKeyLoader((numbers) => registry.readHouseholds(numbers), (row) => row.householdNumber),
    members: rowsByKeyLoader((numbers) => registry.readMembers(numbers), (row) => row.householdNumber ?? ''),
  };
}

export function householdSubgraph(
  registry: HouseholdRegistry,
  options: { maxCitizensPerRequest: number },
  clock: () => Date = () => new Date(),
): SubgraphDefinition<HouseholdContext> {
  return {
    name: 'household',
    resolvers,
    createContext: () => ({ loaders: createLoaders(registry), maxCitizensPerRequest: options.maxCitizensPerRequest, ...departmentClock(clock) }),
  };
}

/** The household department as its process builds it (shared/run.ts runs it; the benchmark's baseline runs it without its guard). */
export const householdDepartment: DepartmentBuilder = (config) => {
  const registry = openHouseholdRegistry(config.registryFile);
  return { definition: householdSubgraph(registry, config), close: () => registry.close() };
};

if (require.main === module) runDepartment('household', householdDepartment);
