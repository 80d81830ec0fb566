import { checkIdNumber } from '../../lib/id-number';

/**
 * Every valid GB 11643 ID number anywhere in `values` (a fetch's variables and its answer),
 * normalised: the citizens a cached answer is about, so a change to any one of their
 * records can drop it. Strings that merely look like one (a driving licence is numbered
 * by its holder's ID number) only add a harmless extra tag.
 */
export function citizensIn(...values: unknown[]): Set<string> {
  const found = new Set<string>();
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.length !== 18) return;
      const check = checkIdNumber(value);
      if (check.ok) found.add(check.idNumber);
    } else if (Array.isArray(value)) {
      for (const item of value) walk(item);
    } else if (value !== null && typeof value === 'object') {
      for (const item of Object.values(value)) walk(item);
    }
  };
  for (const value of values) walk(value);
  return found;
}
