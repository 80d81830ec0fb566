/** The department names, as the supergraph knows the subgraphs. */
export type DepartmentName = 'household' | 'residence' | 'license';

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
