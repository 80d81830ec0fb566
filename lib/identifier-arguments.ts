import { checkCreditCode } from './credit-code';
import { checkIdNumber } from './id-number';

/**
 * Which arguments and input fields carry identifiers, by name, across every department's
 * schema: one called `idNumber` or `applicant` is a citizen ID number (GB 11643),
 * `idNumbers` a list of them, `creditCode` / `creditCodes` unified social credit codes
 * (GB 32100). The gateway checks them before any department is called, as arguments or
 * as fields of input objects (`related: [{ idNumber }]`, `input: { applicant }`), and each
 * subgraph checks them again, with the same messages, so a department that adds
 * `Query.foo(idNumber: ID!)` is covered without registering anything.
 */
const IDENTIFIER_ARGUMENTS: Record<string, { kind: 'idNumber' | 'creditCode'; isList: boolean }> = {
  idNumber: { kind: 'idNumber', isList: false },
  idNumbers: { kind: 'idNumber', isList: true },
  applicant: { kind: 'idNumber', isList: false },
  creditCode: { kind: 'creditCode', isList: false },
  creditCodes: { kind: 'creditCode', isList: true },
};

/** How many identifiers one list argument may carry; a longer list is refused, never truncated. */
export const DEFAULT_MAX_IDENTIFIER_LIST = 100;

export type IdentifierArgumentCheck = { ok: true; value: string | string[] } | { ok: false; message: string };

export function isIdentifierArgument(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(IDENTIFIER_ARGUMENTS, name);
}

/** Whether an identifier argument or input field of this name holds citizen ID numbers (rather than credit codes). */
export function holdsIdNumbers(name: string): boolean {
  return IDENTIFIER_ARGUMENTS[name]?.kind === 'idNumber';
}

/**
 * Checks an identifier argument's value and returns it normalised (upper-case check
 * characters), or a message naming the argument (by `label`, its path where it is an
 * input field: `related[0].idNumber`) and, for lists, the index:
 * "idNumbers[3] must be 18 characters (GB 11643), got 17".
 */
export function checkIdentifierArgument(name: string, value: unknown, maxListLength = DEFAULT_MAX_IDENTIFIER_LIST, label = name): IdentifierArgumentCheck {
  const spec = IDENTIFIER_ARGUMENTS[name];
  if (!spec) throw new Error(`${name} is not an identifier argument`);
  const checkOne = spec.kind === 'idNumber' ? checkIdNumber : checkCreditCode;
  if (!spec.isList) {
    const result = checkOne(value);
    if (!result.ok) return { ok: false, message: `${label} ${result.problem}` };
    return { ok: true, value: 'idNumber' in result ? result.idNumber : result.creditCode };
  }
  if (!Array.isArray(value)) return { ok: false, message: `${label} must be a list` };
  if (value.length > maxListLength) {
    return { ok: false, message: `${label} may list at most ${maxListLength} identifiers, got ${value.length}` };
  }
  const normalised: string[] = [];
  for (let i = 0; i < value.length; i += 1) {
    const result = checkOne(value[i]);
    if (!result.ok) return { ok: false, message: `${label}[${i}] ${result.problem}` };
    normalised.push('idNumber' in result ? result.idNumber : result.creditCode);
  }
  return { ok: true, value: normalised };
}
