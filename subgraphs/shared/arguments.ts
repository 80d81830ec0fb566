import { badUserInput } from '../../lib/error-codes';
import { checkIdNumber } from '../../lib/id-number';
import { checkIdentifierArgument, DEFAULT_MAX_IDENTIFIER_LIST } from '../../lib/identifier-arguments';

/** The normalised ID number or credit code of a single-valued argument; BAD_USER_INPUT when malformed. */
export function requireIdentifier(name: 'idNumber' | 'creditCode', value: unknown): string {
  const result = checkIdentifierArgument(name, value);
  if (!result.ok) throw badUserInput(result.message);
  return result.value as string;
}

/**
 * A normalised ID number under a name of the department's own (`applicant`,
 * `related[0].idNumber`): BAD_USER_INPUT naming it when malformed.
 */
export function requireIdNumber(name: string, value: unknown): string {
  const result = checkIdNumber(value);
  if (!result.ok) throw badUserInput(`${name} ${result.problem}`);
  return result.idNumber;
}

/** The normalised identifiers of a list argument, at most `maxLength` of them; BAD_USER_INPUT otherwise. */
export function requireIdentifierList(name: 'idNumbers' | 'creditCodes', value: unknown, maxLength = DEFAULT_MAX_IDENTIFIER_LIST): string[] {
  const result = checkIdentifierArgument(name, value, maxLength);
  if (!result.ok) throw badUserInput(result.message);
  return result.value as string[];
}
