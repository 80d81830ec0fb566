/**
 * A department's name, as `schema/departments.json` lists it and the supergraph knows the
 * subgraph. Any name there is valid: `npm run new-department` adds one without editing code.
 */
export type DepartmentName = string;

/** Provenance of one fact, in the shape of the shared `Provenance` type. */
export interface Provenance {
  department: DepartmentName;
  authority: string;
  updatedAt: string;
}

export function provenance(department: DepartmentName, authority: string, updatedAt: string): Provenance {
  return { department, authority, updatedAt };
}

/** An address in the shape of the shared `Address` type, from a registry row's columns. */
export function address(row: { divisionCode: string; divisionName: string; addressDetail: string }) {
  return { division: { code: row.divisionCode, name: row.divisionName }, detail: row.addressDetail };
}

/**
 * A check's answer in the shape of the shared `Verification` type: whether it holds, who
 * checked and when, and nothing of the record it was checked against.
 */
export function verification(department: DepartmentName, holds: boolean, checkedAt: string) {
  return { holds, department, checkedAt };
}
