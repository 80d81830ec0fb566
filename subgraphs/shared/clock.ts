/** The two readings of the injected clock a department's resolvers use. */
export interface DepartmentClock {
  /** Today's date (YYYY-MM-DD, UTC): what validity and lengths of stay are counted against. */
  today: () => string;
  /** The current instant, ISO 8601: when a check was made. */
  now: () => string;
}

export function departmentClock(clock: () => Date): DepartmentClock {
  return { today: () => clock().toISOString().slice(0, 10), now: () => clock().toISOString() };
}
