import { householdDepartment } from '../subgraphs/household';
import { licenseDepartment } from '../subgraphs/license';
import { residenceDepartment } from '../subgraphs/residence';
import { runDepartment, type DepartmentBuilder, type SecurityOpener } from '../subgraphs/shared/run';
import type { DepartmentName } from '../subgraphs/shared/provenance';

/**
 * A department process for the plain @apollo/gateway baseline: the same department code
 * over the same registries, without its guard. The baseline keeps plain HTTP and signs
 * nothing, as Apollo's defaults do, so the guarded departments would refuse every request
 * it sends. Started by bench/stack.ts, compiled with the departments
 * (`node dist/bench/plain-department.js`, BENCH_DEPARTMENT naming which one).
 *
 * Only the departments with registries (household, residence, license): the scenarios the
 * baseline serves read nothing else, and the service bureau answers by calling back into
 * a Proofless gateway, which no baseline can stand in for (bench/scenarios.ts, B).
 */
const PLAIN_DEPARTMENTS = new Map<DepartmentName, DepartmentBuilder>([
  ['household', householdDepartment],
  ['residence', residenceDepartment],
  ['license', licenseDepartment],
]);

/**
 * The benchmark's opener, and only the benchmark's: no TLS, every request admitted, no
 * purpose check. A department in any deployment opens its security with
 * openDepartmentSecurity (subgraphs/shared/security.ts); this one exists so the baseline
 * measures Apollo's defaults over our departments, and must never move into product code.
 */
export const openBaselineSecurity: SecurityOpener = () => ({
  admit: () => undefined,
  verifiedRequest: () => undefined,
  verifyGatewayRequest: () => ({}),
  plugins: [],
  close() {},
});

const name = process.env.BENCH_DEPARTMENT;
const build = name === undefined ? undefined : PLAIN_DEPARTMENTS.get(name);
if (name === undefined || !build) {
  console.error(`plain department: BENCH_DEPARTMENT must be one of ${[...PLAIN_DEPARTMENTS.keys()].join(', ')}, got ${name === undefined ? 'nothing' : `"${name}"`}`);
  process.exit(1);
}
// No access log either: the baseline is Apollo's defaults, which keep none.
runDepartment(name, build, openBaselineSecurity, { withAccessLog: false });
